"""A held day is decided once: released (its emails go out) or discarded (they never
do). Asking for the other decision later is refused: a discarded day's emails must not
go out after all, and a released day's emails may be out already."""

from __future__ import annotations

from datetime import date

import duckdb

from flows.errors import RunRefusedError
from flows.warehouse import first_row, table_exists

RELEASED, DISCARDED = "released", "discarded"


def hold_decision(con: duckdb.DuckDBPyConnection, business_day: date) -> str | None:
    """``released``, ``discarded``, or None (held and undecided, or never held)."""
    if not table_exists(con, "ops", "day_holds"):
        return None
    row = first_row(
        con.execute("SELECT decision FROM ops.day_holds WHERE business_day = ?", [business_day])
    )
    return str(row[0]) if row and row[0] is not None else None


def refuse_contrary_decision(
    con: duckdb.DuckDBPyConnection, business_day: date, wanted: str
) -> None:
    """Raise :class:`RunRefusedError` when the day was decided the other way."""
    decided = hold_decision(con, business_day)
    if decided is None or decided == wanted:
        return
    verb = "release" if wanted == RELEASED else "discard"
    consequence = (
        "its emails never go out"
        if decided == DISCARDED
        else "its emails were sent or are being sent"
    )
    raise RunRefusedError(
        f"Cannot {verb} {business_day}: the day was {decided} before and {consequence}."
    )
