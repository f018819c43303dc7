"""The console command's end: every exit handler and log flushed, the exit code kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

_SCRIPT = textwrap.dedent(
    """
    import atexit, logging, sys, threading, time
    from pathlib import Path
    from flows.process_end import end_after_exit_handlers

    folder = Path(sys.argv[1])
    code = end_after_exit_handlers()
    logging.basicConfig(filename=folder / "run.log", level=logging.INFO)
    logging.getLogger("votum").info("the last line of the log")
    # A handler registered later runs earlier (Prefect's, the server's stop).
    atexit.register(lambda: (folder / "handler.txt").write_text("ran"))

    def worker() -> None:
        time.sleep(0.3)
        (folder / "thread.txt").write_text("joined")

    threading.Thread(target=worker).start()
    sys.stdout.write("unflushed output")
    code.value = int(sys.argv[2])
    sys.exit(code.value)
    """
)


def _end(folder: Path, exit_code: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(folder), str(exit_code)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_exit_code_handlers_threads_and_logs_are_all_kept(tmp_path: Path) -> None:
    ended = _end(tmp_path, 3)
    assert ended.returncode == 3, ended.stderr
    assert ended.stdout == "unflushed output"
    assert (tmp_path / "handler.txt").read_text() == "ran"
    assert (tmp_path / "thread.txt").read_text() == "joined"
    assert "the last line of the log" in (tmp_path / "run.log").read_text()


def test_a_clean_end_exits_zero(tmp_path: Path) -> None:
    assert _end(tmp_path, 0).returncode == 0


def test_an_unexpected_exception_ends_the_usual_way(tmp_path: Path) -> None:
    script = (
        "from flows.process_end import end_after_exit_handlers\n"
        "end_after_exit_handlers()\n"
        "raise RuntimeError('boom')\n"
    )
    ended = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert ended.returncode == 1
    assert "RuntimeError: boom" in ended.stderr
