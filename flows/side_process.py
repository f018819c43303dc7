"""Processes of a run's own that do one library's work beside it (dbt, the quality gates).

A daily run's dbt and Great Expectations work is mostly Python: importing them (about
1.5 s and 2.5 s), parsing dbt's project (about 1 s), running the validations. In the
run's own process all of it shares one interpreter lock with everything else the run
does (Prefect, the ingest, planning), so it is paid on the run's critical path even
when the second core is idle. A side process imports its library and gets ready on the
other core while the run starts, loads and checks the drop, then does the run's
requests one at a time. Only requests for the same settings it was started with go to
it (see each ``key``); anything else runs in the calling process, as before.

Protocol: one JSON line per request on the child's stdin and one JSON line per reply
on a private copy of its stdout (:func:`reply_channel`); whatever the child or its
libraries print goes to its log under ``VOTUM_HOME/logs``. A child ends when its stdin
closes, which is also what happens when the run's process dies.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

READY_CHECK = b'{"ready": true}\n'


class SideProcessEndedError(Exception):
    """The side process ended before it answered; the caller says what that means."""

    def __init__(self, exit_code: int, log_path: Path) -> None:
        super().__init__(f"exit code {exit_code}; its messages are in {log_path}")
        self.exit_code = exit_code
        self.log_path = log_path


@dataclass
class SideProcess:
    process: subprocess.Popen[bytes]
    key: object
    log_path: Path
    _log: IO[bytes]
    served: int = 0  # requests answered
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its reply."""
        with self._lock:
            stdin, stdout = self.process.stdin, self.process.stdout
            assert stdin is not None and stdout is not None
            try:
                stdin.write(json.dumps(message).encode() + b"\n")
                stdin.flush()
                line = stdout.readline()
            except (BrokenPipeError, ConnectionResetError):
                line = b""
            if not line:
                raise SideProcessEndedError(self.process.wait(), self.log_path)
            self.served += 1
        reply: dict[str, Any] = json.loads(line)
        return reply

    def wait_until_ready(self) -> None:
        """Wait until the child has loaded its library and reads requests."""
        with self._lock:
            stdin, stdout = self.process.stdin, self.process.stdout
            assert stdin is not None and stdout is not None
            try:
                stdin.write(READY_CHECK)
                stdin.flush()
                line = stdout.readline()
            except (BrokenPipeError, ConnectionResetError):
                line = b""
            if not line:
                raise SideProcessEndedError(self.process.wait(), self.log_path)

    def close_input(self) -> None:
        """No more requests: the child's loop ends at the end of its input."""
        with self._lock:
            if self.process.stdin is not None and not self.process.stdin.closed:
                with contextlib.suppress(BrokenPipeError):  # it has ended already
                    self.process.stdin.close()

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


_running: dict[str, SideProcess] = {}


def start_side_process(
    module: str,
    key: object,
    argument: object,
    environment: Mapping[str, str],
    log_path: Path,
) -> SideProcess:
    """Start ``python -m module json(argument)`` with ``environment`` added to this
    process's, for requests made with ``key``; it is stopped when this process exits.
    One per module: a second call returns the first unless it was started for another
    key (then that one is stopped and a new one started)."""
    running = _running.get(module)
    if running is not None:
        if running.key == key and running.process.poll() is None:
            return running
        running.stop()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", module, json.dumps(argument)],
        env={**os.environ, **environment},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    started = _running[module] = SideProcess(process, key, log_path, log)
    atexit.register(started.stop)
    return started


def side_process_for(module: str, key: object) -> SideProcess | None:
    """The running side process of ``module`` started for ``key``, if any."""
    running = _running.get(module)
    return running if running is not None and running.key == key else None


def let_side_processes_go() -> None:
    """Close every side process's input, without waiting: each ends (and frees its
    memory) as soon as it has read that, while the run goes on. They are reaped when
    this process exits; a later request starts a new one."""
    while _running:
        _running.popitem()[1].close_input()


def stop_side_processes() -> None:
    """Stop every side process of this process (they stop at exit anyway)."""
    while _running:
        _running.popitem()[1].stop()


def wait_until_side_processes_ready() -> None:
    """Wait until every side process of this process is ready for requests."""
    for running in list(_running.values()):
        running.wait_until_ready()


def requests(replies: TextIO) -> Iterator[dict[str, Any]]:
    """In a child: each request on its input, in order, until the input ends; a
    readiness check (:meth:`SideProcess.wait_until_ready`) is answered here."""
    for line in sys.stdin:
        if line.encode() == READY_CHECK:
            replies.write('{"ready": true}\n')
            replies.flush()
            continue
        request: dict[str, Any] = json.loads(line)
        yield request


def reply_channel() -> TextIO:
    """In a child: the channel its replies go to (a copy of stdout); from here on
    anything printed goes to the log (stderr) instead."""
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return replies


def end_side_process() -> None:
    """In a child whose input has ended: leave at once. Every request was answered and
    its files closed; what is left is the interpreter tearing down a big library's
    modules (about 2 s of one core for Great Expectations, 1 s for dbt), which would
    compete with the run's last stages for the cores and hold up the run's exit."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def log_line(text: str) -> None:
    """In a child: one line of its log (names and counts only: no data, no secrets)."""
    from datetime import UTC, datetime

    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {text}", file=sys.stderr, flush=True)
