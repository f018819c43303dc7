"""The completion marker of a drop (VOTUM_DROP_READY_MARKER): a plain marker file or a
manifest in sha256sum's own format, written here by the real `sha256sum`."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from flows.errors import DropNotReadyError, MalformedFileError
from flows.ingest.ready import check_drop_ready, wait_for_drop
from tests.drops import SAP, write_drop

DAY = date(2026, 3, 2)
MANIFEST = "MANIFEST.sha256"


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    return write_drop(
        tmp_path / "inbox",
        DAY,
        ratings=[[SAP, "SAP SE", "buy", "2026-03-02"]],
        holdings=[["C1", SAP, 1, 10]],
    )


def sha256sum(folder: Path, *names: str) -> None:
    """The manifest as the sender's transfer job writes it."""
    tool = shutil.which("sha256sum")
    assert tool is not None, "coreutils' sha256sum is needed"
    listing = subprocess.run(
        [tool, *names], cwd=folder, capture_output=True, text=True, check=True
    ).stdout
    (folder / MANIFEST).write_text(listing, encoding="utf-8")


def test_without_a_configured_marker_a_drop_is_taken_as_found(drop: Path) -> None:
    check_drop_ready(drop, None)


def test_a_drop_without_its_marker_is_not_delivered_yet(drop: Path) -> None:
    with pytest.raises(DropNotReadyError) as raised:
        check_drop_ready(drop, "_SUCCESS")
    assert "is not delivered yet: its completion marker _SUCCESS" in str(raised.value)
    assert raised.value.exit_code == 11
    (drop / "_SUCCESS").touch()
    check_drop_ready(drop, "_SUCCESS")


def test_a_manifest_that_matches_the_folder_makes_the_drop_ready(drop: Path) -> None:
    with pytest.raises(DropNotReadyError):
        check_drop_ready(drop, MANIFEST)
    sha256sum(drop, "ratings.csv", "holdings.csv")
    check_drop_ready(drop, MANIFEST)


def test_a_file_that_changed_after_the_manifest_is_a_file_fault_naming_it(drop: Path) -> None:
    sha256sum(drop, "ratings.csv", "holdings.csv")
    with (drop / "holdings.csv").open("a", encoding="utf-8") as handle:
        handle.write(f"C2,{SAP},1,10,{DAY}\n")  # the copy grew after the manifest
    with pytest.raises(MalformedFileError) as raised:
        check_drop_ready(drop, MANIFEST)
    assert str(raised.value).startswith("holdings.csv: its SHA-256 does not match MANIFEST")
    assert raised.value.exit_code == 3


def test_a_manifest_naming_a_missing_file_or_missing_a_file_is_a_file_fault(drop: Path) -> None:
    shutil.copy(drop / "holdings.csv", drop / "clients_tmp.csv")
    sha256sum(drop, "ratings.csv", "holdings.csv", "clients_tmp.csv")
    (drop / "clients_tmp.csv").rename(drop / "clients.csv")
    with pytest.raises(MalformedFileError, match=r"^clients_tmp\.csv: listed in MANIFEST"):
        check_drop_ready(drop, MANIFEST)
    sha256sum(drop, "ratings.csv", "holdings.csv")
    with pytest.raises(MalformedFileError, match=r"^clients\.csv: in the drop folder but not"):
        check_drop_ready(drop, MANIFEST)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not a checksum line\n", "MANIFEST.sha256: line 1 is not '<sha256>  <file name>'"),
        (f"{'0' * 64}  ../2026-03-03/holdings.csv\n", "line 1 names a file outside the drop"),
    ],
)
def test_a_manifest_that_is_not_sha256sum_output_is_a_file_fault(
    drop: Path, content: str, message: str
) -> None:
    (drop / MANIFEST).write_text(content, encoding="utf-8")
    with pytest.raises(MalformedFileError, match=message):
        check_drop_ready(drop, MANIFEST)


def test_a_scheduled_run_waits_for_the_marker_then_gives_up_clearly(drop: Path) -> None:
    with pytest.raises(DropNotReadyError, match=r"Waited 0\.005 minutes"):
        wait_for_drop(drop, "_SUCCESS", wait_seconds=0.3, poll_seconds=0.05)

    waits: list[float] = []
    writer = threading.Timer(0.3, (drop / "_SUCCESS").touch)
    writer.start()
    started = time.monotonic()
    try:
        wait_for_drop(drop, "_SUCCESS", wait_seconds=30, poll_seconds=0.05, on_wait=waits.append)
    finally:
        writer.cancel()
    assert (drop / "_SUCCESS").exists() and waits  # it waited, then found the marker
    assert time.monotonic() - started < 30
