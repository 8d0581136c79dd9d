"""A PgBouncer of a test's (or a bench's) own, in transaction pooling mode, in front of the
PostgreSQL of DATABASE_URL: `deploy/pgbouncer.ini` (the production file) with its own port, its
own files in a temporary directory and trust auth, as the local PostgreSQL trusts 127.0.0.1.

    bouncer = PgBouncer(database_url)
    bouncer.start()
    env["DATABASE_URL"] = bouncer.url  # the same database, through PgBouncer
    ...
    bouncer.pools()  # SHOW POOLS on its admin console
    bouncer.stop()
"""

from __future__ import annotations

import configparser
import io
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

from tests.realtime_support import BASE_DIR, free_port

INI = BASE_DIR / "deploy" / "pgbouncer.ini"
BINARY = shutil.which("pgbouncer") or next(
    (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)),
    None,
)


def available() -> str | None:
    """Why no PgBouncer can run here, or None."""
    if BINARY is None:
        return "needs pgbouncer (Debian: apt-get install pgbouncer; `make test` does, as root)"
    return None


def config_text(database_url: str, port: int, directory: Path) -> str:
    """deploy/pgbouncer.ini for `database_url`'s server, listening on 127.0.0.1:`port`."""
    parts = urllib.parse.urlsplit(database_url)
    config = configparser.RawConfigParser(delimiters=("=",), comment_prefixes=(";", "#"))
    config.optionxform = str  # keep the keys as written
    config.read(INI)
    config["databases"] = {
        "*": f"host={parts.hostname or '127.0.0.1'} port={parts.port or 5432}",
    }
    user = urllib.parse.unquote(parts.username or "postgres")
    settings = config["pgbouncer"]
    settings.update(
        {
            "listen_addr": "127.0.0.1",
            "listen_port": str(port),
            "unix_socket_dir": "",  # TCP only: no socket file to share with the system's
            "logfile": "",  # to stderr, which the caller keeps
            "pidfile": "",
            # The local PostgreSQL trusts 127.0.0.1; PgBouncer still wants the user listed.
            "auth_type": "trust",
            "auth_file": str(directory / "userlist.txt"),
            "admin_users": user,
            "stats_users": user,
        }
    )
    if os.geteuid() == 0:
        settings["user"] = "postgres"  # PgBouncer will not run as root
    text = io.StringIO()
    config.write(text)
    return text.getvalue()


class PgBouncer:
    """A pgbouncer process on a free port; `url` is `database_url` through it."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.port = free_port()
        parts = urllib.parse.urlsplit(database_url)
        netloc = f"{parts.username or 'postgres'}@127.0.0.1:{self.port}"
        if parts.password:
            netloc = f"{parts.username}:{parts.password}@127.0.0.1:{self.port}"
        self.url = parts._replace(netloc=netloc).geturl()
        self.admin_url = parts._replace(netloc=netloc, path="/pgbouncer", query="").geturl()
        self.directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self.directory.chmod(0o755)  # readable by the user it runs as
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    def start(self) -> None:
        """Start it (again, after `stop`: on the same port) and wait until it answers."""
        user = urllib.parse.unquote(urllib.parse.urlsplit(self.database_url).username or "")
        (self.directory / "userlist.txt").write_text(f'"{user or "postgres"}" ""\n')
        ini = self.directory / "pgbouncer.ini"
        ini.write_text(config_text(self.database_url, self.port, self.directory))
        for path in self.directory.iterdir():
            path.chmod(0o644)
        self.process = subprocess.Popen(
            [BINARY, str(ini)], stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 10) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.output()}")
            try:
                with psycopg.connect(self.url, connect_timeout=2) as connection:
                    connection.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer did not answer: {self.output()}") from None
                time.sleep(0.05)

    def stop(self, *, crash: bool = False) -> None:
        """Stop it (`crash`: SIGKILL, every client connection cut at once)."""
        if self.process and self.process.poll() is None:
            self.process.kill() if crash else self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def close(self) -> None:
        self.stop()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def output(self, last: int = 4000) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-last:]

    def show(self, what: str) -> list[dict]:
        """SHOW `what` (POOLS, STATS, CLIENTS, …) on the admin console, one dict per row. The
        console speaks only the simple query protocol: psycopg's client-side cursor uses it."""
        import psycopg

        with psycopg.connect(
            self.admin_url, autocommit=True, cursor_factory=psycopg.ClientCursor
        ) as connection:
            cursor = connection.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def clients(self, database: str) -> int:
        """Client connections to `database` now, active or waiting (SHOW POOLS)."""
        return sum(
            int(row["cl_active"]) + int(row["cl_waiting"])
            for row in self.show("POOLS")
            if row["database"] == database
        )
