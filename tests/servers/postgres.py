"""A real PostgreSQL for tests: ``initdb`` in a temp dir, TCP on 127.0.0.1, trust auth.

Fixtures:
    postgres_server: one cluster per session (:class:`PostgresServer`).
    postgres: a fresh, empty database per test; yields its SQLAlchemy URL
        (``postgresql+psycopg://postgres@127.0.0.1:<port>/test_<n>``).

initdb refuses to run as root, so as root every server command runs as the ``postgres`` user
(Popen with ``user=postgres``) in a directory it owns.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers.common import free_port, missing, tail, wait_for_port


def find_bindir() -> str | None:
    """Directory holding ``initdb`` and ``postgres`` (newest Debian version first, then PATH)."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(candidate, "initdb"), os.X_OK):
            return candidate
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@dataclass
class PostgresServer:
    """One running PostgreSQL cluster.

    Attributes:
        host, port: Where it listens (TCP, trust authentication for user ``postgres``).
        base: Temp dir with ``data/``, the socket dir ``sock/`` and ``postgres.log``.
    """

    base: Path
    bindir: str
    host: str = "127.0.0.1"
    port: int = 0
    user: str = "postgres"
    process: subprocess.Popen[bytes] | None = None
    _dbs: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def log_file(self) -> Path:
        return self.base / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of ``database``."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """libpq connection string of ``database`` (for ``psycopg.connect``)."""
        return f"host={self.host} port={self.port} user={self.user} dbname={database}"

    def _owner(self) -> dict[str, object]:
        """Popen arguments that run a command as ``postgres`` when we are root.

        Switching user in Popen itself (not through runuser) keeps the child's pid the
        server's pid, so stop() signals PostgreSQL directly.
        """
        if os.geteuid() == 0:
            return {"user": "postgres", "group": "postgres", "extra_groups": [], "cwd": str(self.base)}
        return {"cwd": str(self.base)}

    def init(self) -> None:
        """Run initdb into ``base/data``."""
        data = self.base / "data"
        sock = self.base / "sock"
        for d in (data, sock):
            d.mkdir(exist_ok=True)
            if os.geteuid() == 0:
                pw = pwd.getpwnam("postgres")
                os.chown(d, pw.pw_uid, pw.pw_gid)
        result = subprocess.run(
            (
                [
                    f"{self.bindir}/initdb",
                    "-D",
                    str(data),
                    "-U",
                    self.user,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            capture_output=True,
            timeout=120,
            check=False,
            **self._owner(),  # type: ignore[arg-type]
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {result.stderr.decode(errors='replace')}")

    def start(self) -> None:
        """Start ``postgres`` and wait until it accepts connections."""
        log = open(self.log_file, "ab")  # noqa: SIM115 - lives with the process
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.log_file, pw.pw_uid, pw.pw_gid)
        self.process = subprocess.Popen(
            (
                [
                    f"{self.bindir}/postgres",
                    "-D",
                    str(self.base / "data"),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.base / "sock"),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    # A throw-away cluster: durability buys nothing, speed does.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=100",
                ]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            **self._owner(),  # type: ignore[arg-type]
        )
        if not self._ready():
            self.stop()
            raise RuntimeError("PostgreSQL did not start:\n" + tail(self.log_file))

    def _ready(self) -> bool:
        import psycopg

        if not wait_for_port(self.port, timeout=60):
            return False
        for _ in range(200):
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2) as conn:
                    conn.execute("select 1")
                return True
            except psycopg.OperationalError:
                import time

                time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then wait."""
        proc = self.process
        if proc is None:
            return
        self.process = None
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def create_database(self) -> str:
        """Create an empty database and return its name."""
        import psycopg

        name = f"test_{next(self._dbs)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever still uses it."""
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session; prefer the per-test ``postgres`` fixture."""
    bindir = find_bindir()
    if bindir is None or not os.access(os.path.join(bindir, "postgres"), os.X_OK):
        missing("PostgreSQL server binaries not found (apt-get install postgresql)")
    assert bindir is not None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing("running as root but there is no 'postgres' user to run initdb as")
    base = Path(tempfile.mkdtemp(prefix="outreach-pg-"))
    base.chmod(0o755)
    server = PostgresServer(base=base, bindir=bindir, port=free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database, dropped after the test."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)
