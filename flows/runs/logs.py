"""Where votum's logs go: the console (Prefect's handler) and a file a data engineer can
follow, ``VOTUM_HOME/logs/votum.log`` (stage, counts, durations; rotated at 10 MB, five
files kept).

What is logged is counts, stages, file names and our own error messages: never client
names, email addresses, holdings or a secret (a test scans the logs of a demo run).
"""

from __future__ import annotations

import functools
import logging
from logging.handlers import RotatingFileHandler

from flows.errors import VotumError
from flows.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_FILE_HANDLER_NAME = "votum-file"


def attach_log_file(settings: Settings) -> logging.Handler:
    """Send INFO and above of Prefect's run loggers and of ``votum.*`` to the log file
    (idempotent: a second call in the same process changes nothing)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if handler.get_name() == _FILE_HANDLER_NAME:
            return handler
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(
        settings.logs_dir / "votum.log", maxBytes=10_000_000, backupCount=5, encoding="utf-8"
    )
    handler.set_name(_FILE_HANDLER_NAME)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    logging.getLogger("votum").setLevel(logging.INFO)
    return handler


def quiet_console() -> None:
    """Only warnings on the terminal (the demo prints its own tables); the log file keeps
    everything."""
    for handler in logging.getLogger().handlers:
        is_console = isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        )
        if is_console and handler.get_name() != _FILE_HANDLER_NAME:
            handler.setLevel(logging.WARNING)


@functools.cache
def _votum_error_names() -> frozenset[str]:
    names, todo = set(), [VotumError]
    while todo:
        kind = todo.pop()
        names.add(kind.__name__)
        todo.extend(kind.__subclasses__())
    return frozenset(names)


class _NoVotumErrorOnConsole(logging.Filter):
    """Keeps Prefect's reports of one of our own errors (the traceback, "Finished in
    state Failed(...)") off the terminal: the command prints the error's message once,
    with the path of the log file, which keeps everything."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], VotumError):
            return False
        if not record.name.startswith("prefect"):
            return True
        message = record.getMessage()
        failed = "Finished in state Failed" in message
        if not failed and (record.levelno < logging.ERROR or "exception" not in message):
            return True
        return not any(
            f"{name}(" in message or f"{name}:" in message for name in _votum_error_names()
        )


def console_shows_votum_errors_once() -> None:
    """Filter every terminal handler (Prefect's included) with
    :class:`_NoVotumErrorOnConsole`; the log file is left alone. Call after Prefect
    set up its logging (importing the flows does)."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            is_console = isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            )
            if is_console and not any(
                isinstance(f, _NoVotumErrorOnConsole) for f in handler.filters
            ):
                handler.addFilter(_NoVotumErrorOnConsole())
