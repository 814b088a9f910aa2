"""Stage 4, mail: composing each message (pure) and the transports that deliver it (SMTP or an outbox)."""
