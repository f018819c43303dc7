"""A process warmed up for the next flow run of ``votum worker`` (see
:mod:`flows.worker.handoff` for the command that hands a run over).

Started by the worker (:mod:`flows.worker.warm_worker`) with three inherited descriptors:
the listening socket, a pipe for its status lines to the worker and a pipe whose end
tells it to stop. It does what every flow run of votum does first: imports Prefect's
engine and the flows, converts a first Python value with pyarrow, and starts the side
processes of dbt and the quality gates (:mod:`flows.runs.build_processes`), from the
project folder the deployments' pull step changes into (``VOTUM_PROJECT_DIR``). Then it
waits for one run.

When a run comes, it takes it only if the run's environment is the one it was warmed
in (apart from Prefect's per-run variables) and the project's code (``flows/``,
``dbt_project/``, ``expectations/``) has not changed since; otherwise it says why and
ends, and the run starts the usual way. A run it takes gets the handing command's
standard streams, environment and folder, and runs as ``python -m prefect.engine``
would run it. The process then ends with the run's exit code; the worker starts the
next one.
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

from flows.worker.handoff import (
    SOCKET_VARIABLE,
    STANDARD_STREAMS,
    LineReader,
    send_line,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
CODE_FOLDERS = ("flows", "dbt_project", "expectations")
# Generated under the code folders; not code.
NOT_CODE = frozenset({"__pycache__", "target", "logs", "dbt_packages", "uncommitted"})


Fingerprint = frozenset[tuple[str, int, int]]
Handoff = tuple[socket.socket, LineReader, list[int], dict[str, str], str]


def code_fingerprint(root: Path, folders: Iterable[str] = CODE_FOLDERS) -> Fingerprint:
    """Every file of the project's code: path, modification time and size."""
    files: set[tuple[str, int, int]] = set()
    for folder in folders:
        for directory, subfolders, names in os.walk(root / folder):
            subfolders[:] = [name for name in subfolders if name not in NOT_CODE]
            for name in names:
                path = os.path.join(directory, name)
                try:
                    stat = os.stat(path)
                except FileNotFoundError:  # removed while we looked
                    continue
                files.add((path, stat.st_mtime_ns, stat.st_size))
    return frozenset(files)


def _per_run(name: str) -> bool:
    return name.startswith("PREFECT__")


def environment_differences(warmed_in: Mapping[str, str], run: Mapping[str, str]) -> list[str]:
    """Names (never values) of the variables that differ between the environment this
    process was warmed in and the run's, apart from Prefect's per-run ones and the
    socket's."""
    names = (set(warmed_in) | set(run)) - {SOCKET_VARIABLE}
    return sorted(
        name for name in names if not _per_run(name) and warmed_in.get(name) != run.get(name)
    )


def why_not_warm(
    warmed_in: Mapping[str, str],
    run_environment: Mapping[str, str],
    fingerprint: Fingerprint,
    fingerprint_now: Fingerprint,
) -> str | None:
    """Why this process cannot run the run it was handed, or None if it can."""
    differences = environment_differences(warmed_in, run_environment)
    if differences:
        shown = ", ".join(differences[:5]) + (" ..." if len(differences) > 5 else "")
        return f"its environment differs from the warm process's: {shown}"
    if fingerprint != fingerprint_now:
        changed = sorted({path for path, _, _ in fingerprint ^ fingerprint_now})
        return f"the project's code changed since the warm process started: {changed[0]}"
    return None


def _warm_up() -> None:
    """What every flow run does first, done before the run comes."""
    project = os.environ.get("VOTUM_PROJECT_DIR")
    if project:
        os.chdir(project)  # as the deployments' pull step does; `.env` and ./var from here
    import prefect.engine
    import prefect.flow_engine  # noqa: F401
    import pyarrow as pa

    import flows.pipeline  # noqa: F401
    from flows.preload import wait_for_preload
    from flows.runs.build_processes import start_build_processes
    from flows.settings import get_settings
    from flows.side_process import wait_until_side_processes_ready

    pa.array([], pa.string())  # pyarrow's first conversion imports pandas
    start_build_processes(get_settings())
    wait_for_preload()
    wait_until_side_processes_ready()


def _stop_when_told(control: int, taken: threading.Event) -> None:
    """The worker closes the control pipe when it stops: an idle process then ends."""

    def watch() -> None:
        with os.fdopen(control, "rb") as pipe:
            pipe.read()
        if not taken.is_set():
            os._exit(0)

    threading.Thread(target=watch, name="votum-warm-stop", daemon=True).start()


def _leave_when_handed_back(connection: socket.socket) -> None:
    """The handing command gone (killed) while its run goes on: the run is stopped the
    way a worker stops a process it runs (SIGTERM)."""

    def watch() -> None:
        import signal

        try:
            while connection.recv(1):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="votum-warm-handed-back", daemon=True).start()


def _receive(listener: socket.socket) -> Handoff | None:
    connection, _ = listener.accept()
    try:
        _, fds, _, _ = socket.recv_fds(connection, 1, len(STANDARD_STREAMS))
        reader = LineReader(connection)
        line = reader.line()
    except OSError:
        line = None
        fds = []
    if line is None or len(fds) != len(STANDARD_STREAMS):
        for fd in fds:
            os.close(fd)
        connection.close()
        return None
    handoff = json.loads(line)
    return connection, reader, fds, dict(handoff["env"]), str(handoff["cwd"])


def _run_engine(environment: Mapping[str, str], folder: str, streams: list[int]) -> int:
    """``python -m prefect.engine`` in this process, for the run of ``environment``."""
    sys.stdout.flush()
    sys.stderr.flush()
    for target, fd in zip(STANDARD_STREAMS, streams, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(folder)
    sys.argv = [sys.executable]
    # runpy warns that the module it runs as __main__ was imported before (to warm up).
    warnings.filterwarnings("ignore", message="'prefect.engine' found in sys.modules")
    try:
        runpy.run_module("prefect.engine", run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    return 0


class _Ending:
    """How the process tells the handing command its run's exit code: from the exit
    handler that runs last (registered first), after Prefect's own (its last logs and
    events), as at the end of ``python -m prefect.engine``; then the process ends at
    once (:mod:`flows.process_end`), which is when the command ends too."""

    connection: socket.socket | None = None

    def __init__(self) -> None:
        from flows.process_end import end_after_exit_handlers

        self.exit_code = end_after_exit_handlers()
        atexit.register(self._tell)  # runs just before the end above

    def _tell(self) -> None:
        if self.connection is not None and self.exit_code.value is not None:
            send_line(self.connection, f"exit {self.exit_code.value}")


def main(listener_fd: int, status_fd: int, control_fd: int) -> int:
    started = time.monotonic()
    warmed_in = dict(os.environ)
    ending = _Ending()
    taken = threading.Event()
    _stop_when_told(control_fd, taken)
    status = os.fdopen(status_fd, "w", buffering=1)
    _warm_up()
    fingerprint = code_fingerprint(PROJECT_ROOT)
    listener = socket.socket(fileno=listener_fd)
    status.write("ready\n")
    while True:
        received = _receive(listener)
        if received is not None:
            break
    connection, reader, streams, environment, folder = received
    reason = why_not_warm(warmed_in, environment, fingerprint, code_fingerprint(PROJECT_ROOT))
    if reason is not None:
        send_line(connection, f"cold {reason}")
        status.write("declined\n")
        return 0
    send_line(connection, f"pid {os.getpid()}")
    if reader.line() != "go":  # the command gave up waiting and starts the run itself
        for fd in streams:
            os.close(fd)
        connection.close()
        status.write("declined\n")
        return 0
    taken.set()
    listener.close()
    status.write("taken\n")
    status.close()
    _leave_when_handed_back(connection)
    print(
        f"votum: the flow run starts in a warm process (ready {time.monotonic() - started:.0f} s"
        " after it started)",
        file=sys.stderr,
    )
    ending.connection = connection
    ending.exit_code.value = _run_engine(environment, folder, streams)
    return ending.exit_code.value


if __name__ == "__main__":
    sys.exit(main(*(int(argument) for argument in sys.argv[1:4])))
