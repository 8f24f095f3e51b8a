"""Outreach test suite: unit (no I/O), integration (real servers), flows, e2e."""
