"""Ending the ``votum`` command's process without tearing its interpreter down.

After a run, the process has Prefect, DuckDB, pandas, Jinja and (for a worker or a
library already imported) dbt and Great Expectations loaded. Python's normal end frees
every one of their modules and objects one by one: about 0.7 s of one core in which
nothing is written. :func:`end_after_exit_handlers` keeps every step of the normal end
that does something (the threads joined, every exit handler run: Prefect sending its
last logs and events, the temporary server stopped, the side processes reaped; the
log files flushed and closed; stdout and stderr flushed) and leaves out only that last
part. It is for the console command alone: code that calls :func:`flows.cli.main`
(tests, a worker's process) ends its own way.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys


class _ExitCode:
    value: int | None = None


def end_after_exit_handlers() -> _ExitCode:
    """Register, before anything else of this process, the exit handler that runs last:
    it ends the process with the returned holder's ``value`` as exit code. Without a
    value (an unexpected exception ended the command) the normal end runs instead."""
    code = _ExitCode()

    def leave() -> None:
        if code.value is None:
            return
        # Handlers registered before this one (the logging module's) would be skipped.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code.value)

    atexit.register(leave)
    return code
