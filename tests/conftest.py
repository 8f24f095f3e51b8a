"""Shared pytest configuration: the real-server fixtures live in ``tests/servers``."""

pytest_plugins = [
    "tests.core_fixtures",
    "tests.review_fixtures",
    "tests.servers.dovecot",
    "tests.servers.postgres",
    "tests.servers.smtp",
    "tests.servers.http_stub",
    "tests.servers.browser",
]
