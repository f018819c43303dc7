"""dbt in a process of its own, started beside a run's start-up.

A daily run's dbt work is Python: importing dbt and its DuckDB adapter (about 1.5 s)
and loading the project's manifest (about 1 s, partial parsing) come before the first
model is built. In the run's own process they share one interpreter lock with
everything else the run does (Prefect, Great Expectations, the ingest), so they are
paid on the run's critical path even when a second core is idle.

:func:`start_dbt_process` starts ``python -m flows.dbt_process`` as one of the first
things a run does. That process imports dbt and parses the project on the other core
while the run loads and checks the drop, and then runs the dbt commands the run sends
it (``transform.invoke_dbt``), one at a time, with the manifest it parsed: the
results, the log (``--log-path``), the partial-parse state and the warehouse are the
same as in-process. A command is sent to it only when it was started for the same
project, target, paths and environment; otherwise dbt runs in the calling process.

Protocol: one JSON line per request on the child's stdin (``{"args": [...]}``) and one
JSON line per reply on a private copy of its stdout; anything dbt or a library prints
goes to the process's log (``VOTUM_HOME/logs/dbt-process.log``). The child ends when
its stdin closes, which is also what happens when the run's process dies.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flows.dbt_results import NodeResult, node_results
from flows.errors import TransformError


@dataclass(frozen=True)
class DbtOutcome:
    """One command's outcome, as the dbt process reports it."""

    success: bool
    exception: str | None
    nodes: tuple[NodeResult, ...]


@dataclass
class DbtProcess:
    process: subprocess.Popen[bytes]
    key: tuple[object, ...]
    log_path: Path
    _log: IO[bytes]
    served: int = 0  # commands answered
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, args: Sequence[str]) -> DbtOutcome:
        """Run one dbt command in the process and wait for its outcome."""
        with self._lock:
            stdin, stdout = self.process.stdin, self.process.stdout
            assert stdin is not None and stdout is not None
            try:
                stdin.write(json.dumps({"args": list(args)}).encode() + b"\n")
                stdin.flush()
                line = stdout.readline()
            except (BrokenPipeError, ConnectionResetError):
                line = b""
            if not line:
                code = self.process.wait()
                raise TransformError(
                    f"dbt's process ended (exit code {code}) before it answered "
                    f"dbt {' '.join(args[:1])}; its messages are in {self.log_path}."
                )
            self.served += 1
        reply = json.loads(line)
        return DbtOutcome(
            success=bool(reply["success"]),
            exception=reply["exception"],
            nodes=tuple(NodeResult(**node) for node in reply["nodes"]),
        )

    def stop(self) -> None:
        with self._lock:
            if self.process.poll() is None:
                assert self.process.stdin is not None
                try:
                    self.process.stdin.close()  # the child's loop ends at end of input
                    self.process.wait(timeout=10)
                except (BrokenPipeError, subprocess.TimeoutExpired):
                    self.process.kill()
                    self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self._log.close()


_running: DbtProcess | None = None


def process_key(common_args: Sequence[str], environment: Mapping[str, str]) -> tuple[object, ...]:
    return (tuple(common_args), tuple(sorted(environment.items())))


def start_dbt_process(
    common_args: Sequence[str], environment: Mapping[str, str], log_path: Path
) -> DbtProcess:
    """Start the dbt process for commands run with ``common_args`` (project, profiles,
    target, target and log paths) in ``environment`` (what ``profiles.yml`` reads); it
    is stopped when this process exits. One per process: a second call returns the
    first unless it was started for other arguments."""
    global _running
    key = process_key(common_args, environment)
    if _running is not None:
        if _running.key == key and _running.process.poll() is None:
            return _running
        _running.stop()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "flows.dbt_process", json.dumps(list(common_args))],
        env={**os.environ, **environment},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    _running = DbtProcess(process, key, log_path, log)
    atexit.register(_running.stop)
    return _running


def dbt_process_for(
    common_args: Sequence[str], environment: Mapping[str, str]
) -> DbtProcess | None:
    """The running dbt process started for exactly these arguments and environment."""
    if _running is None or _running.key != process_key(common_args, environment):
        return None
    return _running


# ---- the child ---------------------------------------------------------------------


def release_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB connection open after ``invoke()``, which would lock
    the warehouse against every other process: close it after each command."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()  # type: ignore[no-untyped-call]


def _outcome(runner: Any, args: list[str]) -> dict[str, Any]:
    try:
        outcome = runner.invoke(args)
    finally:
        release_duckdb()
    return {
        "success": bool(outcome.success),
        "exception": None if outcome.exception is None else str(outcome.exception),
        "nodes": [node.as_json() for node in node_results(outcome.result)],
    }


def serve(common_args: list[str]) -> None:
    """The child: parse the project once, then run each requested command with it."""
    # Its start-up yields the cores to the run and to Prefect's server booting beside it.
    os.nice(10)
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever dbt or a library prints goes to the log, not the replies
    import dbt.adapters.duckdb  # noqa: F401
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest

    parsed = dbtRunner().invoke(["parse", *common_args, "--no-write-json"])
    release_duckdb()
    # A project that does not parse is reported by each command, as dbt would in-process.
    manifest = parsed.result if parsed.success and isinstance(parsed.result, Manifest) else None
    for line in sys.stdin:
        args = list(json.loads(line)["args"])
        started = time.monotonic()
        reply = _outcome(dbtRunner(manifest=manifest), args)
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        # The log tells which commands ran here (names only: no data, no secrets).
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} dbt {args[0]}: {len(reply['nodes'])} "
            f"nodes, {'succeeded' if reply['success'] else 'failed'} in "
            f"{time.monotonic() - started:.1f} s",
            file=sys.stderr,
            flush=True,
        )


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
