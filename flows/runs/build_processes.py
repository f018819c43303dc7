"""The side processes of a run that builds the marts (see :mod:`flows.side_process`).

The quality gates and dbt each get a process of their own, started as early as the
run can: they import their libraries on the other core while the run starts, loads and
checks the drop. What cannot go there (another engine, or a process that has the
library loaded already) is imported here on a thread instead
(:mod:`flows.preload`), as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flows.preload import preload
from flows.quality.checkpoint_process import start_checkpoint_process
from flows.quality.gx_project import import_great_expectations
from flows.settings import Settings
from flows.side_process import let_side_processes_go
from flows.transform import import_dbt, start_dbt_beside_the_run


def start_build_processes(settings: Settings, *, gates: bool = True) -> None:
    """Start dbt's side process and (with ``gates``) the quality gates'; preload here
    whichever library still runs here."""
    loaders = []
    if not (gates and start_checkpoint_process(settings)):
        loaders.append(import_great_expectations)
    if not start_dbt_beside_the_run(settings):
        loaders.append(import_dbt)
    if loaders:
        preload(loaders)


_kept = False


@contextmanager
def build_processes_kept() -> Iterator[None]:
    """Keep the side processes from one run to the next within this process (the demo
    runs its days one after the other): they are started, and dbt's project parsed, once."""
    global _kept
    _kept = True
    try:
        yield
    finally:
        _kept = False


def done_with_build_processes() -> None:
    """The run has no more checkpoints or dbt commands (after the mart gate): let the
    side processes end now, so that their memory is free while the run plans and sends,
    unless they are kept (:func:`build_processes_kept`)."""
    if not _kept:
        let_side_processes_go()
