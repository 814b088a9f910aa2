"""Stage 2, pure decisions: periods and Vietnamese working days, what is owed and when, what a wrong clock may not do."""
