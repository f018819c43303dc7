"""A temporary Prefect server for one ``votum`` process, started beside its start-up.

A flow run needs a Prefect API. Without ``PREFECT_API_URL`` Prefect starts a temporary
server itself, at the first flow call, and waits for it: the parent imports the whole
server package (about 1.5 s) and then waits about 3 s for the child to answer, every
time, on the critical path of the run. votum starts the same server (Prefect's own
application, ``prefect.server.api.server:create_app`` under uvicorn, its SQLite
database under ``PREFECT_HOME``) as the very first thing a command that runs a flow
does, on a socket the parent has already bound, so the server boots on the second core
while the parent imports the flows, Great Expectations and dbt. Flow runs, task runs,
logs and artifacts go to it exactly as before.

With ``PREFECT_API_URL`` set (a Prefect worker, a running ``prefect server start``)
nothing is started: the runs go to that server.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import IO

from flows.errors import ConfigurationError

# What Prefect sets for its own temporary server: no UI, the ephemeral profile.
_SERVER_ENVIRONMENT = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}


@dataclass
class TemporaryPrefectServer:
    process: subprocess.Popen[bytes]
    api_url: str
    log_path: Path
    _log: IO[bytes]
    migrated_marker: Path | None = None  # written once the server migrated its database
    _ready: bool = False
    _warming: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self._warming = threading.Thread(target=self._warm_up_quietly, daemon=True)
        self._warming.start()

    def _warm_up_quietly(self) -> None:
        # Its failure is told by wait_until_ready (with the server's log), not here.
        with contextlib.suppress(urllib.error.URLError, TimeoutError, ConnectionError):
            self.warm_up()

    def wait_until_ready(self, timeout_seconds: float) -> None:
        """Block until the server has answered (see :meth:`warm_up`, which a thread
        started with the server runs while this process imports the flows)."""
        self._warming.join(timeout_seconds)
        if self._warming.is_alive() or not self._ready:
            if self.process.poll() is not None:
                raise ConfigurationError(
                    f"The temporary Prefect server exited with code {self.process.returncode} "
                    f"before it was ready; its messages are in {self.log_path}."
                )
            raise ConfigurationError(
                f"The temporary Prefect server did not answer within {timeout_seconds:.0f} s "
                "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS); its messages are in "
                f"{self.log_path}. Set PREFECT_API_URL to use a running server instead."
            )

    def warm_up(self) -> None:
        """Wait for the health check (the socket already listens, so a request waits in
        the backlog until the application has started), then ask once what every flow
        run asks first (the API version, a query of its database), so that the server's
        own first-request costs are paid here, beside the parent's imports."""
        while self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=5.0):  # noqa: S310 - our http URL
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                time.sleep(0.05)
        else:
            return
        for path, body in (("/admin/version", None), ("/flows/filter", b"{}")):
            request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 URL
                self.api_url + path,
                data=body,
                headers={"Content-Type": "application/json"},
                method="POST" if body is not None else "GET",
            )
            with urllib.request.urlopen(request, timeout=30.0):  # noqa: S310
                pass
        self._ready = True
        if self.migrated_marker is not None:
            self.migrated_marker.parent.mkdir(parents=True, exist_ok=True)
            self.migrated_marker.touch()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _migration_marker() -> Path | None:
    """The file that says the SQLite database under ``PREFECT_HOME`` was migrated by
    the installed Prefect version; None when another database is configured or the
    migration is configured explicitly (Prefect's own rules apply then)."""
    configured = (
        "PREFECT_API_DATABASE_CONNECTION_URL",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL",
        "PREFECT_API_DATABASE_MIGRATE_ON_START",
        "PREFECT_SERVER_DATABASE_MIGRATE_ON_START",
    )
    if any(os.environ.get(name) for name in configured):
        return None
    home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    return home / f".votum-migrated-prefect-{version('prefect')}"


def _migration_settings() -> tuple[dict[str, str], Path | None]:
    """Prefect's server brings its database up to date on every start (about 0.3 s of
    the start, on the run's critical path), which after the first start of a Prefect
    version finds nothing to do. Skipped when this version has migrated this database
    before (the marker exists, the database too); otherwise the server migrates and
    the marker is written once it has answered."""
    marker = _migration_marker()
    if marker is None:
        return {}, None
    if marker.exists() and (marker.parent / "prefect.db").exists():
        return {"PREFECT_SERVER_DATABASE_MIGRATE_ON_START": "false"}, None
    return {}, marker


def start_temporary_server(log_path: Path) -> TemporaryPrefectServer | None:
    """Start a Prefect server for this process unless ``PREFECT_API_URL`` names one;
    set ``PREFECT_API_URL`` for it. Call it before Prefect is imported (Prefect reads
    its settings then) and after ``PREFECT_HOME`` is set. The server is stopped when the
    process exits, after Prefect has sent its last logs and events."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = int(listener.getsockname()[1])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    migration, marker = _migration_settings()
    try:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "prefect.server.api.server:create_app",
                "--fd",
                str(listener.fileno()),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            pass_fds=(listener.fileno(),),
            env={**os.environ, **_SERVER_ENVIRONMENT, **migration},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    finally:
        listener.close()  # the child holds the listening socket now
    server = TemporaryPrefectServer(
        process, f"http://127.0.0.1:{port}/api", log_path, log, migrated_marker=marker
    )
    os.environ["PREFECT_API_URL"] = server.api_url
    # Registered before Prefect is imported: atexit runs this after Prefect's own exit
    # hooks (and its log and event workers, drained at thread shutdown) are done.
    atexit.register(server.stop)
    return server
