"""Stage 3, the database edge: tables, engine and migrations, the facts the policy reads, the send ledger."""
