"""Connectors: one module per outside system (IMAP, files, SendGrid, SMTP, the store)."""
