"""``votum worker``: Prefect's process worker, with the next flow run's process warm.

It is ``prefect worker start`` (same options, same work pool of type ``process``, same
deployments) with one difference: it keeps one process ready that has imported Prefect's
engine and the flows and started dbt's and the quality gates' side processes
(:mod:`flows.worker.warm_process`), and each flow run is handed to it
(:mod:`flows.worker.handoff`) instead of starting a new interpreter. When that
process has ended (its run done, or it declined one), the next one is started; one
that fails while warming up stops the warming (the error is shown) and runs start the
usual way from then on. Each run still has a process of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flows.worker.handoff import SOCKET_VARIABLE

if TYPE_CHECKING:
    import anyio.abc
    from prefect.client.schemas.objects import FlowRun
    from prefect.workers.process import ProcessJobConfiguration, ProcessWorkerResult

WARM_PROCESS = "flows.worker.warm_process"
HANDOFF = "flows.worker.handoff"


def _say(message: str) -> None:
    print(f"votum worker: {message}", file=sys.stderr, flush=True)


class WarmProcesses:
    """One warm process at a time, listening on a Unix socket in a private folder."""

    def __init__(self, environment: dict[str, str]) -> None:
        self._folder = tempfile.mkdtemp(prefix="votum-warm-")  # mode 0700: ours alone
        self.socket_path = os.path.join(self._folder, "runs.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.socket_path)
        self._listener.listen(16)
        self._environment = environment
        self._stopping = threading.Event()
        self._control: int | None = None  # the write end that keeps the idle one alive
        self._thread = threading.Thread(target=self._keep_one_ready, name="votum-warm", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _start_one(self) -> tuple[subprocess.Popen[bytes], Any]:
        status_read, status_write = os.pipe()
        control_read, control_write = os.pipe()
        listener = self._listener.fileno()
        descriptors = (listener, status_write, control_read)
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", WARM_PROCESS, *(str(fd) for fd in descriptors)],
            env=self._environment,
            pass_fds=descriptors,
        )
        os.close(status_write)
        os.close(control_read)
        self._control = control_write
        return process, os.fdopen(status_read, "r")

    def _keep_one_ready(self) -> None:
        while not self._stopping.is_set():
            try:
                process, status = self._start_one()
            except OSError:
                if self._stopping.is_set():  # the listener closed while starting one
                    return
                raise
            lines = []
            with status:
                for line in status:
                    lines.append(line.strip())
                    if lines[-1] == "ready":
                        _say(f"process {process.pid} is ready for the next flow run")
            code = process.wait()
            if self._control is not None:
                os.close(self._control)
                self._control = None
            if self._stopping.is_set():
                return
            if "ready" not in lines:
                _say(
                    f"a warm process ended while warming up (exit code {code}; its messages are "
                    "above); flow runs start in new processes from now on"
                )
                self.stop()
                return

    def stop(self) -> None:
        """Idle processes end; a process running a flow run goes on until its end."""
        self._stopping.set()
        if self._control is not None:
            os.close(self._control)
            self._control = None
        self._listener.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def _define_worker_class() -> type:
    from prefect.utilities.processutils import command_to_string
    from prefect.workers.process import ProcessWorker

    class WarmProcessWorker(ProcessWorker):
        """A process worker whose flow runs are handed to its warm process: the
        command of a run is :mod:`flows.worker.handoff` unless the work pool or the
        deployment sets one of its own."""

        type = "process"

        async def run(
            self,
            flow_run: FlowRun,
            configuration: ProcessJobConfiguration,
            task_status: anyio.abc.TaskStatus[int] | None = None,
        ) -> ProcessWorkerResult:
            if not configuration._command_configured:
                configuration.command = command_to_string([sys.executable, "-m", HANDOFF])
                configuration._command_configured = True
            return await super().run(flow_run, configuration, task_status)

    return WarmProcessWorker


def _use_warm_process_worker() -> None:
    """`prefect worker start` in this process finds process workers by their type,
    ``process``: the class above, registered under it for this process (Prefect warns
    that it replaces its own; that is the point)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will be overridden.*")
        _define_worker_class()


@contextmanager
def warm_processes() -> Iterator[WarmProcesses]:
    from prefect.settings import get_current_settings

    # The environment a process worker gives its flow runs, apart from the per-run
    # variables (PREFECT__FLOW_RUN_ID, ...): a warm process compares it with the run's.
    environment = {
        **os.environ,
        **get_current_settings().to_environment_variables(exclude_unset=True),
    }
    warm = WarmProcesses(environment)
    environment[SOCKET_VARIABLE] = warm.socket_path
    os.environ[SOCKET_VARIABLE] = warm.socket_path
    warm.start()
    try:
        yield warm
    finally:
        os.environ.pop(SOCKET_VARIABLE, None)
        warm.stop()


def run_worker(arguments: Sequence[str]) -> int:
    """``prefect worker start ARGUMENTS`` with warm processes; its exit code."""
    from prefect.cli import app

    _use_warm_process_worker()
    with warm_processes():
        try:
            sys.argv = ["prefect", "worker", "start", *arguments]
            app()
        except SystemExit as exit:
            return exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    return 0
