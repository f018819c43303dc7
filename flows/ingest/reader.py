"""Finding a drop's files and telling how each is written.

A CSV file may come as UTF-8 with or without a byte-order mark, comma- or
semicolon-delimited, with a decimal point or (German export) a decimal comma. We read
the header and a sample ourselves, so that a missing column is reported by name before
anything is loaded, and then let DuckDB's reader parse the whole file with exactly those
settings (no guessing on 10 million rows). Whether a semicolon file writes a decimal
comma is decided from its whole numeric columns (:mod:`flows.ingest.decimal_mark`), not
from the sample.

Error messages name the file, the line and the column, never a value: a drop holds
client names, addresses and positions.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from flows.drop_files import TEXT, DropFile
from flows.errors import MalformedFileError, MissingColumnError, MissingFileError

SAMPLE_BYTES = 256 * 1024
_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class SourceFile:
    """One file of a drop as found on disk, with what we learnt from its header."""

    drop_file: DropFile
    path: Path
    file_format: Literal["csv", "parquet"]
    # Header names as written in the file, in file order (CSV), lower-cased and stripped.
    header: tuple[str, ...]
    delimiter: str = ","
    decimal_comma: bool = False

    @property
    def name(self) -> str:
        return self.path.name


def find_source_file(drop_dir: Path, drop_file: DropFile) -> Path | None:
    """The CSV or Parquet file of ``drop_file`` in ``drop_dir``; None if absent."""
    found = [drop_dir / name for name in drop_file.file_names() if (drop_dir / name).is_file()]
    if len(found) > 1:
        raise MalformedFileError(
            f"{drop_dir}: both {found[0].name} and {found[1].name} are present; "
            "a drop may hold one of them, not both. Remove the one that is not meant."
        )
    if not found:
        if drop_file.required:
            raise MissingFileError(
                f"{drop_dir}: required file {drop_file.name}.csv (or {drop_file.name}.parquet) "
                "is missing from the drop."
            )
        return None
    return found[0]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _normalise_name(name: str) -> str:
    return name.strip().strip('"').strip().lower()


def _check_columns(drop_file: DropFile, path: Path, header: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise MalformedFileError(
                f"{path.name}: column '{name}' appears twice in the header row; "
                "each column may appear once."
            )
        seen.add(name)
    missing = [c for c in drop_file.required_columns if c not in seen]
    if not missing:
        return
    plural = "s" if len(missing) > 1 else ""
    names = ", ".join(repr(m) for m in missing)
    known = set(drop_file.column_names)
    if not seen & known:
        # Not a header row at all (a file exported without one): its first line is data,
        # a client's name and address perhaps. Never echo it.
        raise MissingColumnError(
            f"{path.name}: the first line does not look like a header row: none of the "
            f"expected column names ({', '.join(drop_file.column_names)}) is in it. "
            "Export the file with its header row."
        )
    # Name only the columns we know: an unknown one may be a value of a row.
    found = [h for h in header if h in known]
    others = len([h for h in header if h and h not in known])
    rest = f" and {others} other column{'s' if others > 1 else ''}" if others else ""
    raise MissingColumnError(
        f"{path.name}: required column{plural} {names} missing "
        f"(found: {', '.join(found) or 'none of the expected columns'}{rest})."
    )


def _decode_sample(path: Path, raw: bytes) -> str:
    # The sample may end inside a multi-byte character: cut back to the last full line.
    if len(raw) == SAMPLE_BYTES and b"\n" in raw:
        raw = raw[: raw.rindex(b"\n") + 1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise MalformedFileError(
            f"{path.name}: line {line} is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "export the file as UTF-8 (Excel: 'CSV UTF-8')."
        ) from exc


def _parse_sample(path: Path, text: str, delimiter: str) -> list[list[str]]:
    """The sample's rows, or a file fault naming the line the CSV module cannot read
    (a field over its size limit, a bare carriage return inside a field)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
    except csv.Error as exc:
        line = reader.line_num or 1
        if "field larger than field limit" in str(exc):
            problem = (
                f"a field is longer than {csv.field_size_limit():,} characters "
                "(an unclosed quote swallowing the lines after it?)"
            )
        elif "new-line character seen in unquoted field" in str(exc):
            problem = (
                "a line ends in a bare carriage return (CR without LF, an old Mac "
                "export?); save the file with LF or CRLF line ends"
            )
        else:
            problem = "it cannot be read as CSV"
        raise MalformedFileError(f"{path.name}: line {line}: {problem}.") from None
    return rows


def inspect_csv(drop_file: DropFile, path: Path) -> SourceFile:
    """Read the header and a sample of ``path`` and tell how DuckDB should parse it
    (the decimal mark is decided later, from the whole file)."""
    with path.open("rb") as handle:
        raw = handle.read(SAMPLE_BYTES)
    more_follows = len(raw) == SAMPLE_BYTES
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    if not raw.strip():
        raise MalformedFileError(f"{path.name}: the file is empty; expected at least a header row.")
    if more_follows and b"\n" not in raw:
        raise MalformedFileError(
            f"{path.name}: line 1 (the header row) has no line break in its first "
            f"{SAMPLE_BYTES // 1024} KiB; a header row is a short line of column names. "
            "Is this a CSV file with one record per line?"
        )
    text = _decode_sample(path, raw)
    header_line = text.splitlines()[0]
    delimiter = max(_DELIMITERS, key=header_line.count)
    if header_line.count(delimiter) == 0:
        delimiter = ","
    rows = _parse_sample(path, text, delimiter)
    header = tuple(_normalise_name(h) for h in rows[0])
    _check_columns(drop_file, path, header)
    return SourceFile(drop_file, path, "csv", header, delimiter)


def numeric_columns(source: SourceFile) -> tuple[str, ...]:
    """The file's columns loaded as numbers (their decimal mark matters)."""
    return tuple(
        c.name for c in source.drop_file.columns if c.type != TEXT and c.name in source.header
    )


def inspect_parquet(drop_file: DropFile, path: Path, column_names: list[str]) -> SourceFile:
    header = tuple(_normalise_name(n) for n in column_names)
    _check_columns(drop_file, path, header)
    return SourceFile(drop_file, path, "parquet", header)
