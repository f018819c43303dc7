"""Writing small hand-made drops for tests."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

RATINGS = ("isin", "security_name", "rating", "rated_at", "analyst", "target_price", "currency")
HOLDINGS = ("client_id", "isin", "quantity", "market_value_eur", "as_of")
CLIENTS = (
    "client_id",
    "first_name",
    "last_name",
    "email",
    "language",
    "advisor_id",
    "notify_opt_in",
)
ADVISORS = ("advisor_id", "name", "email", "branch", "manager_email")

# Real ISINs with valid check digits.
SAP = "DE0007164600"
SIEMENS = "DE0007236101"
ALLIANZ = "DE0008404005"
BASF = "DE000BASF111"


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    delimiter: str = ",",
    bom: bool = False,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_drop(
    inbox: Path,
    day: date,
    *,
    ratings: Iterable[Sequence[object]] = (),
    holdings: Iterable[Sequence[object]] = (),
    clients: Iterable[Sequence[object]] | None = None,
    advisors: Iterable[Sequence[object]] | None = None,
) -> Path:
    """A drop folder with ratings and holdings (always) and master data (if given).
    Rows of ratings may leave out the optional trailing columns; holdings rows leave
    out `as_of`, which is the drop's date."""
    folder = inbox / day.isoformat()
    write_csv(
        folder / "ratings.csv",
        RATINGS,
        [list(r) + [""] * (len(RATINGS) - len(r)) for r in ratings],
    )
    write_csv(folder / "holdings.csv", HOLDINGS, [[*h, day.isoformat()] for h in holdings])
    if clients is not None:
        write_csv(folder / "clients.csv", CLIENTS, clients)
    if advisors is not None:
        write_csv(folder / "advisors.csv", ADVISORS, advisors)
    return folder
