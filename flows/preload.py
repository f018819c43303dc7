"""Importing a run's heavy libraries on a thread while the run starts.

Great Expectations and dbt take about 3.5 s to import, all of it Python on one core.
A run meanwhile waits for its Prefect server and then for DuckDB (the ingest), both
with the interpreter free. :func:`preload` starts the imports on a thread;
:func:`wait_for_preload` (called before the first validation and the first dbt call)
waits until they are done and raises what they raised. Without a preload it returns at
once and the libraries are imported where they are used, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

_thread: threading.Thread | None = None
_failure: Exception | None = None


def preload(loaders: Sequence[Callable[[], None]]) -> None:
    """Run ``loaders`` one after the other on a daemon thread (once per process)."""
    global _thread
    if _thread is not None:
        return

    def load() -> None:
        global _failure
        try:
            for loader in loaders:
                loader()
        except Exception as exc:  # noqa: BLE001 - raised again by wait_for_preload
            _failure = exc

    _thread = threading.Thread(target=load, name="votum-preload", daemon=True)
    _thread.start()


def wait_for_preload() -> None:
    """Wait for the preload (if any) to finish; raise what it raised."""
    if _thread is not None and _thread is not threading.current_thread():
        _thread.join()
    if _failure is not None:
        raise _failure
