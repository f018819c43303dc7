"""The command `votum worker` runs for each flow run (flows.worker.handoff): without
a warm process to hand the run to, it is `python -m prefect.engine` itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from flows.worker.handoff import SOCKET_VARIABLE


def _hand_over(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != SOCKET_VARIABLE}
    # A flow run id Prefect's engine refuses at once: what answers shows who ran.
    clean["PREFECT__FLOW_RUN_ID"] = "not-a-flow-run"
    return subprocess.run(
        [sys.executable, "-m", "flows.worker.handoff"],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
        check=False,
    )


def test_without_votum_worker_the_command_is_prefect_s_engine() -> None:
    done = _hand_over()
    assert done.returncode == 1
    assert "Invalid flow run id" in done.stderr
    assert "votum:" not in done.stderr  # a plain process worker's run: nothing to say


def test_a_worker_without_a_warm_process_starts_the_run_the_usual_way(tmp_path: Path) -> None:
    path = tmp_path / "runs.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))  # bound, never listening: nobody takes the run
        done = _hand_over(**{SOCKET_VARIABLE: str(path)})
    assert done.returncode == 1
    assert "votum: the flow run starts in a new process (no warm process)" in done.stderr
    assert "Invalid flow run id" in done.stderr
