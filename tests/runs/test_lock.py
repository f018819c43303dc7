"""One run at a time: a second run is told at once who holds the warehouse; a lock left
by a killed process is recovered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.errors import RunInProgressError
from flows.runs.lock import current_holder, read_holder, run_lock
from flows.runs.status import collect_status
from flows.settings import get_settings

VOTUM = str(Path(sys.executable).parent / "votum")

HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from flows.runs.lock import run_lock
with run_lock(Path(sys.argv[1]), "votum run 2026-03-02"):
    print("holding", flush=True)
    time.sleep(120)
"""


def _holder_process(lock: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "holding"
    return process


def test_a_second_run_fails_at_once_naming_the_holder_and_a_killed_holder_is_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / "home" / "run.lock"
    holder = _holder_process(lock)
    monkeypatch.setenv("VOTUM_HOME", str(lock.parent))
    (lock.parent / "warehouse.duckdb").write_bytes(b"")  # status must not even open it
    try:
        live = current_holder(lock)
        assert live is not None and live.pid == holder.pid
        status = collect_status(get_settings())
        assert status.warehouse_busy and status.runs == []
        assert status.running is not None and f"process {holder.pid}" in status.running
        started = time.monotonic()
        with pytest.raises(RunInProgressError) as refused, run_lock(lock, "second"):
            pytest.fail("the lock must not be granted twice")
        assert time.monotonic() - started < 1.0
        message = str(refused.value)
        assert f"process {holder.pid}" in message
        assert "'votum run 2026-03-02'" in message and " since " in message
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()

    # The killed process left its lock file behind; nobody holds the lock any more.
    assert read_holder(lock) is not None and current_holder(lock) is None
    with run_lock(lock, "after the crash") as stale:
        assert stale is not None and stale.pid == holder.pid
        assert current_holder(lock) is not None
        with run_lock(lock, "nested in the same process") as nested:  # re-entrant
            assert nested is None
    assert current_holder(lock) is None and read_holder(lock) is None


def test_votum_run_while_another_run_holds_the_warehouse_exits_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    holder = _holder_process(home / "run.lock")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOTUM_", "PREFECT_"))}
    env["VOTUM_HOME"] = str(home)
    try:
        started = time.monotonic()
        second = subprocess.run(
            [VOTUM, "run", "--date", "2026-03-02", "--inbox", str(tmp_path / "inbox")],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        took = time.monotonic() - started
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert second.returncode == 4, second.stderr
    assert "Another votum run holds" in second.stderr
    assert f"process {holder.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    # No Prefect server was started, nothing waited for the lock.
    assert took < 15, took
