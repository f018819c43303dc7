"""The command a ``votum worker`` runs for each flow run: hand the run to a warm process.

A Prefect process worker starts ``python -m prefect.engine`` for every flow run: a new
interpreter that imports Prefect, the flows, dbt and Great Expectations before the run
does anything (about 3 s from Pending to Running, and the side processes start only
then). ``votum worker`` (:mod:`flows.worker.warm_worker`) keeps one process ready that has
done all of that already (:mod:`flows.worker.warm_process`) and runs this small command
instead. It connects to that process over a Unix socket, passes its standard input,
output and error and its environment and folder, and the warm process runs the flow
run exactly as ``prefect.engine`` would have, its output going where this command's
would. This command stays until that process has ended and ends with its exit code; a
SIGTERM or SIGINT it gets (the worker cancelling the run) is passed on.

Whenever the handover cannot be made, this command becomes ``python -m prefect.engine``
itself (``exec``, same process, same environment), so a run never depends on the warm
process: no warm process (a plain ``prefect worker start``), none ready within
:data:`WAIT_FOR_WARM_PROCESS_S`, or one that declines (the environment differs from the
one it was warmed in, or the code changed since). Only the standard library is imported
here: this runs before every flow run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from types import FrameType

# Set by `votum worker` in its environment, and so in every flow run's (the process
# worker passes its environment on): the socket of its warm processes. Internal, like
# Prefect's PREFECT__FLOW_RUN_ID; not a setting.
SOCKET_VARIABLE = "VOTUM__WARM_FLOW_RUNS"
# A warm process that is warming up is ready in a few seconds; one that is busy with
# the previous run is not. After this long the run starts the usual way.
WAIT_FOR_WARM_PROCESS_S = 20.0
STANDARD_STREAMS = (0, 1, 2)


def send_line(connection: socket.socket, message: str) -> None:
    connection.sendall(message.encode() + b"\n")


class LineReader:
    """Lines from a stream socket (one reader per connection)."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self._buffer = b""

    def line(self) -> str | None:
        """The next line without its newline; None at the end of the stream."""
        while b"\n" not in self._buffer:
            chunk = self._connection.recv(65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()


def _start_cold(reason: str) -> None:
    """Become ``python -m prefect.engine``: what a process worker runs for a flow run."""
    if reason:
        print(f"votum: the flow run starts in a new process ({reason})", file=sys.stderr)
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "prefect.engine"])  # noqa: S606


def _connect(path: str) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except OSError:
        connection.close()
        return None
    return connection


def hand_over() -> int:
    """Hand this flow run to the worker's warm process; its exit code."""
    path = os.environ.get(SOCKET_VARIABLE)
    if not path:
        _start_cold("")
    connection = _connect(str(path))
    if connection is None:
        _start_cold("no warm process")
    assert connection is not None
    handoff = json.dumps({"env": dict(os.environ), "cwd": os.getcwd()})
    socket.send_fds(connection, [b"H"], list(STANDARD_STREAMS))
    send_line(connection, handoff)
    reader = LineReader(connection)
    connection.settimeout(WAIT_FOR_WARM_PROCESS_S)
    try:
        answer = reader.line()
    except TimeoutError:
        answer = None
        reason = f"no warm process ready within {WAIT_FOR_WARM_PROCESS_S:.0f} s"
    else:
        reason = "the warm process ended before it answered"
    if answer is None or not answer.startswith("pid "):
        connection.close()  # the warm process sees the end and waits for the next run
        _start_cold(answer[len("cold ") :] if answer and answer.startswith("cold ") else reason)
    assert answer is not None
    warm_pid = int(answer.split()[1])

    def pass_on(signal_number: int, _frame: FrameType | None) -> None:
        os.kill(warm_pid, signal_number)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    connection.settimeout(None)
    send_line(connection, "go")
    exit_code = 1  # the warm process died without saying how it ended
    while (line := reader.line()) is not None:
        if line.startswith("exit "):
            exit_code = int(line.split()[1])
    return exit_code


if __name__ == "__main__":
    sys.exit(hand_over())
