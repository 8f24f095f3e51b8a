"""Real servers started by pytest fixtures on 127.0.0.1 (random port, temp dir).

Registered as plugins in ``tests/conftest.py``:

- ``tests.servers.dovecot``: ``dovecot_server`` (session), ``dovecot`` (a fresh user per test).
- ``tests.servers.postgres``: ``postgres_server`` (session), ``postgres`` (a fresh database per test,
  a SQLAlchemy URL).
- ``tests.servers.smtp``: ``smtp_server`` and ``smtp_tls_server`` (STARTTLS + AUTH).
- ``tests.servers.http_stub``: ``http_stub`` (scripted HTTP replies, recorded requests).
- ``tests.servers.browser``: ``chromium_path`` and ``chromium`` (a Playwright browser launcher).

Policy for a missing server binary: :func:`tests.servers.common.require_binary`.
"""
