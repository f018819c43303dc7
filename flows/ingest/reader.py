"""Finding a drop's files and telling how each is written.

A CSV file may come as UTF-8 with or without a byte-order mark, comma- or
semicolon-delimited, with a decimal point or (German export) a decimal comma. We read
the header and a sample ourselves, so that a missing column is reported by name before
anything is loaded, and then let DuckDB's reader parse the whole file with exactly those
settings (no guessing on 10 million rows).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from flows.errors import MalformedFileError, MissingColumnError, MissingFileError
from flows.ingest.drop_files import TEXT, DropFile

SAMPLE_BYTES = 256 * 1024
_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (",", ";", "\t", "|")
_GERMAN_NUMBER = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*,\d+$|^[+-]?\d+,\d+$")


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
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise MissingColumnError(
            f"{path.name}: required column{plural} {', '.join(repr(m) for m in missing)} "
            f"missing (found: {', '.join(h for h in header if h) or 'no columns'})."
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


def inspect_csv(drop_file: DropFile, path: Path) -> SourceFile:
    """Read the header and a sample of ``path`` and tell how DuckDB should parse it."""
    with path.open("rb") as handle:
        raw = handle.read(SAMPLE_BYTES)
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    if not raw.strip():
        raise MalformedFileError(f"{path.name}: the file is empty; expected at least a header row.")
    text = _decode_sample(path, raw)
    header_line = text.splitlines()[0]
    delimiter = max(_DELIMITERS, key=header_line.count)
    if header_line.count(delimiter) == 0:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = tuple(_normalise_name(h) for h in rows[0])
    _check_columns(drop_file, path, header)
    decimal_comma = False
    if delimiter != ",":
        # A German export writes 1.234,56. Judge by the sample's numeric columns: one
        # value with a decimal comma settles it (a thousands dot alone cannot).
        numeric = [
            header.index(c.name) for c in drop_file.columns if c.type != TEXT and c.name in header
        ]
        decimal_comma = any(
            _GERMAN_NUMBER.match(row[i].strip())
            for row in rows[1:]
            for i in numeric
            if i < len(row)
        )
    return SourceFile(drop_file, path, "csv", header, delimiter, decimal_comma)


def inspect_parquet(drop_file: DropFile, path: Path, column_names: list[str]) -> SourceFile:
    header = tuple(_normalise_name(n) for n in column_names)
    _check_columns(drop_file, path, header)
    return SourceFile(drop_file, path, "parquet", header)
