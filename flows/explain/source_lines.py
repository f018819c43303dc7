"""Finding a raw row's line in its drop file again, exactly as ingest read the file.

The file is read once per explanation for all rows asked of it, after checking that it
still has the SHA-256 recorded when it was loaded. Lines count as in a text editor: the
header is line 1; ingest's positions skip the rows it could not read, which are counted
back in where they stand (``raw.rejected_rows``); quarantined rows were loaded and count
like any other. A Parquet file has rows (from 1), not lines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from flows.drop_files import DROP_FILES_BY_NAME
from flows.explain.answer import SourceRow
from flows.ingest.loader import typed_rows_sql
from flows.ingest.reader import SourceFile, inspect_csv, inspect_parquet, sha256_of
from flows.quality.quarantine import line_of_loaded_row


def dict_rows(
    con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any]
) -> list[dict[str, Any]]:
    cursor = con.execute(query, list(params))
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass(frozen=True)
class WantedRow:
    """A row to find in a drop's file: its key columns and values as delivered."""

    drop_date: date
    file_kind: str
    key: tuple[tuple[str, str | None], ...]


class SourceLocator:
    """Finds rows' lines in the drops' files, one read per file for all rows asked."""

    def __init__(self, con: duckdb.DuckDBPyConnection, inboxes: Sequence[Path]) -> None:
        self._con = con
        self._inboxes = inboxes

    def locate(self, wanted: Iterable[WantedRow]) -> dict[WantedRow, SourceRow]:
        by_file: dict[tuple[date, str], list[WantedRow]] = defaultdict(list)
        for item in wanted:
            by_file[(item.drop_date, item.file_kind)].append(item)
        found: dict[WantedRow, SourceRow] = {}
        for (drop_date, kind), items in by_file.items():
            found.update(self._locate_in_file(drop_date, kind, items))
        return found

    def _locate_in_file(
        self, drop_date: date, kind: str, items: list[WantedRow]
    ) -> dict[WantedRow, SourceRow]:
        loaded = dict_rows(
            self._con,
            "SELECT file_name, file_format, sha256 FROM raw.drop_files "
            "WHERE drop_date = ? AND file_kind = ?",
            [drop_date, kind],
        )

        def answer(
            file: str | None,
            check: str,
            note: str | None,
            lines: Mapping[WantedRow, tuple[int, ...]] | None = None,
            position: str = "line",
        ) -> dict[WantedRow, SourceRow]:
            return {
                item: SourceRow(
                    drop_date=drop_date,
                    file_kind=kind,
                    file=file,
                    key=dict(item.key),
                    lines=(lines or {}).get(item, ()),
                    position=position,
                    file_check=check,
                    note=note
                    if lines is None or (lines or {}).get(item)
                    else (note or "no line of the file has this key"),
                )
                for item in items
            }

        if not loaded:
            return answer(None, "not_loaded", f"the drop of {drop_date} has no {kind} file loaded")
        file_name, file_format, sha = (
            str(loaded[0][k]) for k in ("file_name", "file_format", "sha256")
        )
        paths = [
            path
            for inbox in self._inboxes
            if (path := inbox / drop_date.isoformat() / file_name).is_file()
        ]
        if not paths:
            folders = " or ".join(str(i / drop_date.isoformat()) for i in self._inboxes)
            return answer(
                file_name,
                "missing",
                f"the file is no longer in the drop folder ({folders}); its line cannot be told",
            )
        loaded_file = next((p for p in paths if sha256_of(p) == sha), None)
        if loaded_file is None:
            return answer(
                file_name,
                "changed",
                "the file has changed since it was loaded (SHA-256 differs); "
                "its line cannot be told",
            )
        source = self._source_file(kind, loaded_file, file_format)
        lines, confirmed = self._lines(source, drop_date, items)
        position = "row" if file_format == "parquet" else "line"
        note = (
            None
            if confirmed
            else (
                "the line numbers assume one record per line; this file has records that span "
                "lines, so the numbers may be off"
            )
        )
        return answer(file_name, "unchanged", note, lines, position)

    def _source_file(self, kind: str, path: Path, file_format: str) -> SourceFile:
        drop_file = DROP_FILES_BY_NAME[kind]
        if file_format == "parquet":
            described = self._con.execute(
                "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]
            ).fetchall()
            return inspect_parquet(drop_file, path, [str(row[0]) for row in described])
        return inspect_csv(drop_file, path)

    def _lines(
        self, source: SourceFile, drop_date: date, items: list[WantedRow]
    ) -> tuple[dict[WantedRow, tuple[int, ...]], bool]:
        """Each wanted row's lines; and whether the lines were confirmed in the text."""
        items = list(dict.fromkeys(items))
        conditions, params = [], []
        for index, item in enumerate(items):
            parts = [f'"{name}" IS NOT DISTINCT FROM ?' for name, _ in item.key]
            conditions.append(f"WHEN {' AND '.join(parts)} THEN {index}")
            params += [value for _, value in item.key]
        # Every column is selected: the reader skips a row with an unreadable value only
        # in the columns it reads, and ingest read them all (the rows must count alike).
        every_column = ", ".join(f'"{c.name}"' for c in source.drop_file.columns)
        rows = self._con.execute(
            f"""
            SELECT which, _row, {every_column} FROM (
                SELECT CASE {" ".join(conditions)} END AS which, *
                FROM ({typed_rows_sql(self._con, source, drop_date)})
            ) WHERE which IS NOT NULL ORDER BY _row
            """,
            params,
        ).fetchall()
        positions: dict[WantedRow, list[int]] = defaultdict(list)
        for which, row, *_ in rows:
            positions[items[int(which)]].append(int(row))
        if source.file_format == "parquet":
            return {k: tuple(v) for k, v in positions.items()}, True
        rejected = sorted(
            int(row[0])
            for row in self._con.execute(
                "SELECT DISTINCT line FROM raw.rejected_rows WHERE drop_date = ? "
                "AND file_kind = ? AND line IS NOT NULL",
                [drop_date, source.drop_file.name],
            ).fetchall()
        )
        lines = {
            item: tuple(line_of_loaded_row(p, rejected, header=True) for p in found)
            for item, found in positions.items()
        }
        return lines, _confirm(source.path, lines)


def _confirm(path: Path, lines: Mapping[WantedRow, tuple[int, ...]]) -> bool:
    """Whether each line of the file named in ``lines`` holds its row's key values."""
    wanted: dict[int, list[str]] = defaultdict(list)
    for item, numbers in lines.items():
        for number in numbers:
            wanted[number] += [value for _, value in item.key if value]
    if not wanted:
        return True
    last = max(wanted)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        for number, text in enumerate(handle, start=1):
            if number in wanted and not all(value in text for value in wanted[number]):
                return False
            if number >= last:
                return True
    return False
