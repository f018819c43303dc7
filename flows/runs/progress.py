"""Progress bars for the long stages (generate, ingest, dispatch) on a terminal; nothing
at all in CI, in a pipe or under a Prefect worker, where a bar would only fill the logs
with control characters."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Advance = Callable[[int], None]


def interactive() -> bool:
    """A person watches: standard error is a terminal and no CI variable is set."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def _nothing(_: int) -> None:
    return None


@contextmanager
def stage_progress(stage: str, description: str, total: int | None) -> Iterator[Advance]:
    """Yields ``advance(n)``; a no-op when nobody watches."""
    if not interactive():
        yield _nothing
        return
    bar = Progress(
        TextColumn(f"[bold]{stage}[/bold] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
