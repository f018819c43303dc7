"""One run at a time per ``VOTUM_HOME``: an advisory lock on ``VOTUM_HOME/run.lock``.

The lock is ``flock`` on an open file, so the kernel releases it when the holding process
ends in any way (SIGKILL included): a lock file left behind by a killed run is stale by
construction and the next run takes it over, saying so. The file's content says who
holds it (process, host, command, since when) so that a second run fails at once with a
message that names the holder, instead of DuckDB's lock error or waiting forever.

Re-entrant within one process: a flow that holds the lock can call code that asks for it
again (the release flow dispatching, the demo running days one after another).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flows.errors import RunInProgressError

logger = logging.getLogger("votum.run_lock")

_held: dict[Path, int] = {}  # lock path -> nesting depth in this process
_guard = threading.Lock()


@dataclass(frozen=True)
class LockHolder:
    pid: int
    host: str
    purpose: str
    since: str

    def describe(self) -> str:
        return f"{self.purpose!r} (process {self.pid} on {self.host}) since {self.since}"


def read_holder(path: Path) -> LockHolder | None:
    """Who the lock file says holds (or last held) the lock; None if it says nothing."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not text:
        return None
    try:
        data = json.loads(text)
        return LockHolder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            purpose=str(data["purpose"]),
            since=str(data["since"]),
        )
    except (ValueError, KeyError, TypeError):
        return LockHolder(pid=0, host="?", purpose="unreadable lock file", since="?")


def current_holder(path: Path) -> LockHolder | None:
    """The live holder of the lock, or None when no process holds it now (a file left by
    a killed run does not count)."""
    if not path.exists():
        return None
    with _guard:
        if path.resolve() in _held:
            return read_holder(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(path)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextmanager
def run_lock(path: Path, purpose: str) -> Iterator[LockHolder | None]:
    """Hold the run lock for the block; yields the stale holder it recovered from, if any.

    Raises :class:`RunInProgressError` at once when another process holds it."""
    key = path.resolve() if path.exists() else path.absolute()
    with _guard:
        if key in _held:
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield None
        finally:
            with _guard:
                _held[key] -= 1
        return

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder = read_holder(path)
        who = holder.describe() if holder else "another process"
        raise RunInProgressError(
            f"Another votum run holds {path.parent}: {who}. Only one run at a time may "
            "write the warehouse; wait for it to end (`votum status` shows it)."
        ) from None
    key = path.resolve()
    stale = read_holder(path)
    if stale is not None:
        logger.warning(
            "recovered a stale run lock: %s ended without releasing it", stale.describe()
        )
    holder = LockHolder(
        pid=os.getpid(),
        host=socket.gethostname(),
        purpose=purpose,
        since=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder.__dict__).encode(), 0)
    os.fsync(fd)
    with _guard:
        _held[key] = 1
    try:
        yield stale
    finally:
        with _guard:
            del _held[key]
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
