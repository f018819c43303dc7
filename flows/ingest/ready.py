"""Whether a drop has been delivered completely: the completion marker.

A drop still being copied must not be loaded as found. With ``VOTUM_DROP_READY_MARKER``
set, the sender writes a marker file into the drop folder when everything else is there,
the way file-transfer setups do:

* a plain marker, any name such as ``_SUCCESS``: its presence is all that counts;
* a manifest, a name ending in ``.sha256`` such as ``MANIFEST.sha256``, in the format
  ``sha256sum`` writes (``sha256sum *.csv > MANIFEST.sha256``): one line per file, the
  SHA-256 in hex, two spaces (or a space and ``*``), the file name. Every file it names
  must be in the folder with that checksum, and every drop file in the folder must be
  named in it.

A drop without its marker is "not delivered yet" (:class:`DropNotReadyError`); a
manifest that does not match the folder is a file fault naming the file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from flows.drop_files import DROP_FILES
from flows.errors import DropNotReadyError, MalformedFileError
from flows.ingest.reader import sha256_of

MANIFEST_SUFFIX = ".sha256"
_MANIFEST_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


def is_manifest(marker: str) -> bool:
    return marker.lower().endswith(MANIFEST_SUFFIX)


def read_manifest(path: Path) -> dict[str, str]:
    """File name -> SHA-256 (lower case) of a manifest in ``sha256sum`` format."""
    listed: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedFileError(f"{path.name}: the manifest is not UTF-8 text.") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _MANIFEST_LINE.match(line.rstrip("\r"))
        if match is None:
            raise MalformedFileError(
                f"{path.name}: line {number} is not '<sha256>  <file name>' "
                "(the format sha256sum writes)."
            )
        checksum, name = match.group(1).lower(), match.group(2).strip()
        if "/" in name or "\\" in name or name in (".", ".."):
            raise MalformedFileError(
                f"{path.name}: line {number} names a file outside the drop folder; a "
                "manifest lists the files of its own folder by name."
            )
        if name in listed:
            raise MalformedFileError(f"{path.name}: line {number} lists {name} a second time.")
        listed[name] = checksum
    return listed


def _drop_file_names(drop_dir: Path) -> list[str]:
    known = {name for drop_file in DROP_FILES for name in drop_file.file_names()}
    return sorted(p.name for p in drop_dir.iterdir() if p.is_file() and p.name in known)


def verify_manifest(drop_dir: Path, manifest: Path) -> None:
    """Every file of the manifest is there with its checksum; every drop file is listed."""
    listed = read_manifest(manifest)
    for name, checksum in listed.items():
        path = drop_dir / name
        if not path.is_file():
            raise MalformedFileError(
                f"{name}: listed in {manifest.name} but not in the drop folder {drop_dir}."
            )
        if sha256_of(path) != checksum:
            raise MalformedFileError(
                f"{name}: its SHA-256 does not match {manifest.name} (the file changed, or "
                "its copy is incomplete); deliver the file again."
            )
    unlisted = [name for name in _drop_file_names(drop_dir) if name not in listed]
    if unlisted:
        raise MalformedFileError(
            f"{unlisted[0]}: in the drop folder but not listed in {manifest.name}; a "
            "manifest lists every file of the drop."
        )


def check_drop_ready(drop_dir: Path, marker: str | None) -> None:
    """Nothing with no marker configured; else the drop's marker must be there (and, for
    a manifest, match the folder)."""
    if marker is None:
        return
    path = drop_dir / marker
    if not path.is_file():
        raise DropNotReadyError(
            f"Drop {drop_dir} is not delivered yet: its completion marker {marker} "
            "(VOTUM_DROP_READY_MARKER) is missing. The sender writes it last, when every "
            "file is copied; run the day again once it is there."
        )
    if is_manifest(marker):
        verify_manifest(drop_dir, path)


def wait_for_drop(
    drop_dir: Path,
    marker: str | None,
    *,
    wait_seconds: float,
    poll_seconds: float = 30.0,
    on_wait: Callable[[float], None] | None = None,
) -> None:
    """:func:`check_drop_ready`, trying again every ``poll_seconds`` for up to
    ``wait_seconds`` while the marker is missing (a manifest that does not match is a
    file fault at once). ``on_wait(seconds_left)`` is told before each pause."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            check_drop_ready(drop_dir, marker)
            return
        except DropNotReadyError as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                if wait_seconds > 0:
                    raise DropNotReadyError(
                        f"{exc} Waited {wait_seconds / 60:g} minutes (VOTUM_DROP_WAIT_MINUTES)."
                    ) from None
                raise
            if on_wait is not None:
                on_wait(left)
            time.sleep(min(poll_seconds, left))
