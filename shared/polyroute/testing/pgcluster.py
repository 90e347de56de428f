"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl under a temp dir.

The server listens on a free loopback port with trust authentication (nothing but this machine can
reach it) and is removed when stopped. `initdb` refuses to run as root, so as root the cluster runs
as an unprivileged user (`POLYROUTE_PG_USER`, default `polyroute-pg`, which `.ci/run` creates).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from polyroute.testing.ports import free_port

PG_USER_ENV = "POLYROUTE_PG_USER"
DEFAULT_PG_USER = "polyroute-pg"


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL binaries, no unprivileged user to run them as, or the server did not start."""


def find_bindir() -> Path:
    """Where initdb and pg_ctl live: `POLYROUTE_PG_BINDIR`, PATH, or Debian's newest version."""
    explicit = os.environ.get("POLYROUTE_PG_BINDIR")
    if explicit:
        return Path(explicit)
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    versions = (
        sorted(
            Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
            key=lambda p: int(p.parent.parent.name),
            reverse=True,
        )
        if Path("/usr/lib/postgresql").is_dir()
        else []
    )
    if not versions:
        raise ClusterUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) found")
    return versions[0].parent


class Cluster:
    """One running server; `url(dbname)` for clients, `create_database` for a fresh database."""

    def __init__(self, *, fsync: bool = False) -> None:
        self.bindir = find_bindir()
        self.fsync = fsync
        self.port = 0
        self._user = self._run_as()
        self._root = Path(tempfile.mkdtemp(prefix="polyroute-pg-"))
        self.data = self._root / "data"
        self._started = False

    @staticmethod
    def _run_as() -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        name = os.environ.get(PG_USER_ENV, DEFAULT_PG_USER)
        try:
            return pwd.getpwnam(name)
        except KeyError:
            raise ClusterUnavailable(
                f"running as root and there is no user {name!r} to run PostgreSQL as "
                f"(create it: useradd --system {name}, or set {PG_USER_ENV})"
            ) from None

    def _command(self, *args: str) -> list[str]:
        if self._user is None:
            return list(args)
        uid, gid = str(self._user.pw_uid), str(self._user.pw_gid)
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *args]

    def _pg(self, tool: str, *args: str) -> None:
        done = subprocess.run(self._command(str(self.bindir / tool), *args), capture_output=True, text=True)
        if done.returncode != 0:
            raise ClusterUnavailable(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> Cluster:
        if self._user is not None:
            os.chown(self._root, self._user.pw_uid, self._user.pw_gid)
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -k {self._root} -c max_connections=200"
        if not self.fsync:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        for _ in range(5):  # another process may take the free port first
            self.port = free_port()
            try:
                self._pg("pg_ctl", "-D", str(self.data), "-l", str(self._root / "log"), "-w", "-t", "60",
                         "-o", f"-p {self.port} {options}", "start")  # fmt: skip
            except ClusterUnavailable:
                continue
            self._started = True
            return self
        raise ClusterUnavailable(f"postgres did not start: {self.log_tail()}")

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self._root / "log").read_text()[-2000:]
        return ""

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A fresh empty database; returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            db.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        return self.url(name)

    def allow_connections(self, name: str, allowed: bool) -> None:
        """Make a database refuse new connections (and drop its current ones), as one failing over
        would; or accept them again."""
        import psycopg
        from psycopg import sql

        statement = sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true" if allowed else
                            "ALTER DATABASE {} ALLOW_CONNECTIONS false")  # fmt: skip
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(statement.format(sql.Identifier(name)))
            if not allowed:
                db.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
                )

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(ClusterUnavailable):
                self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self._started = False
        shutil.rmtree(self._root, ignore_errors=True)
