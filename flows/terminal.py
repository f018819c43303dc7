"""How the ``votum`` command prints: tables that never cut a date, a time, an id or a key,
and JSON for scripts. Pure formatting, no I/O of its own besides the console it returns.

In a pipe or a file there is no terminal width to respect: the console is wide enough for
every table. On an 80-column terminal the columns that hold keys keep their full width
and the others (names, reasons, replies) wrap."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

# Width of the console when output goes to a pipe or a file (no terminal to fit).
PIPE_WIDTH = 240


def console_for(stream: TextIO) -> Console:
    """A console writing to ``stream`` (looked up at each print, so that a replaced
    ``sys.stdout`` is honoured): the terminal's width, or :data:`PIPE_WIDTH` in a pipe."""
    stderr = stream is sys.stderr
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(highlight=False, stderr=stderr, width=width)


def _cell_width(cell: Any) -> int:
    if isinstance(cell, Text):
        return cell.cell_len
    return Text.from_markup(str(cell)).cell_len


def keep_whole(table: Table, *headers: str) -> Table:
    """The columns named ``headers`` (dates, times, ids, keys) are never wrapped or cut:
    each is as wide as its widest cell. The other columns fold long words instead of
    cutting them with an ellipsis. Call it after the rows are added."""
    for column in table.columns:
        if str(column.header) in headers:
            widest = max((_cell_width(cell) for cell in column.cells), default=0)
            column.no_wrap = True
            column.min_width = max(widest, _cell_width(column.header))
        else:
            column.overflow = "fold"
    return table


def as_json(value: Any) -> str:
    """One line of JSON for scripts: dataclasses as objects, dates ISO, paths as text."""

    def default(item: Any) -> Any:
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
        if isinstance(item, datetime | date):
            return item.isoformat()
        if isinstance(item, Path):
            return str(item)
        if isinstance(item, tuple | set | frozenset):
            return list(item)
        raise TypeError(f"not JSON serialisable: {type(item).__name__}")

    return json.dumps(value, default=default, ensure_ascii=False, sort_keys=True)
