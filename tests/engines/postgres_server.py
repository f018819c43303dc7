"""A real PostgreSQL server for the tests, from the system's binaries (Debian package
postgresql): ``initdb`` into a temporary folder, ``pg_ctl start`` on a free localhost
port, stopped by its process id at the end.

initdb refuses to run as root; as root (CI) the server runs as the ``postgres`` user of
the package (``runuser -u postgres --``) in a folder that user owns. The cluster is
made with UTF-8, byte-order (C) collation, which is how DuckDB compares text, and
Unicode character classes (C.UTF-8), so that lower('Ü') is 'ü' as on DuckDB; logins
over TCP need the password (scram-sha-256)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

SUPERUSER = "votum"
DATABASE = "votum"


def find_binaries() -> Path | None:
    """The folder of initdb and pg_ctl, or None when PostgreSQL is not installed."""
    initdb = shutil.which("initdb")
    if initdb is not None:
        folder = Path(os.path.realpath(initdb)).parent
        if (folder / "pg_ctl").exists():
            return folder
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(candidate).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """``with PostgresServer(binaries) as server:`` a running server with an empty
    database ``votum`` owned by the superuser ``votum``."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.user = SUPERUSER
        self.database = DATABASE
        self.password = secrets.token_urlsafe(16)
        self.pid: int | None = None
        self._root = Path(tempfile.mkdtemp(prefix="votum-pg-"))
        self._as_postgres = os.geteuid() == 0

    @property
    def data_dir(self) -> Path:
        return self._root / "data"

    @property
    def log_path(self) -> Path:
        return self._root / "server.log"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        command: tuple[str, ...] = (str(self.binaries / tool), *args)
        if self._as_postgres:
            command = ("runuser", "-u", "postgres", "--", *command)
        done = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=60, cwd=self._root
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
            )
        return done

    def start(self) -> PostgresServer:
        password_file = self._root / "password"
        password_file.write_text(self.password + "\n", encoding="utf-8")
        if self._as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self._root, owner.pw_uid, owner.pw_gid)
            os.chown(password_file, owner.pw_uid, owner.pw_gid)
        password_file.chmod(0o600)
        self._run(
            "initdb",
            "--pgdata", str(self.data_dir),
            "--username", self.user,
            "--pwfile", str(password_file),
            "--auth-host", "scram-sha-256",
            "--auth-local", "peer",
            "--encoding", "UTF8",
            "--locale", "C.UTF-8",
            "--lc-collate", "C",
            "--no-sync",
        )  # fmt: skip
        password_file.unlink()
        options = (
            f"-c listen_addresses={self.host} -p {self.port} -c unix_socket_directories='' "
            # A throw-away server: no durability needed.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "--pgdata", str(self.data_dir),
            "--log", str(self.log_path),
            "--options", options,
            "--wait",
            "start",
        )  # fmt: skip
        pid_file = self.data_dir / "postmaster.pid"
        self.pid = int(pid_file.read_text(encoding="utf-8").splitlines()[0])
        with contextlib.closing(self.connect("postgres")) as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {self.database}")
        return self

    def connect(self, database: str | None = None) -> Any:
        import psycopg2  # the 'postgres' extra: imported only where a server is used

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database or self.database,
        )

    def create_database(self, name: str) -> str:
        """A further empty database (same collation as the cluster) for a test that must
        not see another test's tables; returns its name."""
        with contextlib.closing(self.connect("postgres")) as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {name}")
        return name

    def environment(self, database: str | None = None) -> dict[str, str]:
        """The VOTUM_PG_* settings pointing at this server (its default database, or
        ``database``)."""
        return {
            "VOTUM_PG_HOST": self.host,
            "VOTUM_PG_PORT": str(self.port),
            "VOTUM_PG_DATABASE": database or self.database,
            "VOTUM_PG_USER": self.user,
            "VOTUM_PG_PASSWORD": self.password,
        }

    def stop(self) -> None:
        """Stop the server by its process id (SIGINT is PostgreSQL's fast shutdown) and
        remove its folder."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (self.data_dir / "postmaster.pid").exists():
                time.sleep(0.05)
            if (self.data_dir / "postmaster.pid").exists():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
            self.pid = None
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
