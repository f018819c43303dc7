"""A figure as the report writes it, in the reader's language (the babel formats of
:func:`flows.report.locale_formats.formats`): shares, minutes, hours, euros and their notes, the
change against last week with its arrow and colour, the baseline sentence; and the
rules every table shares (below the target, worst first)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flows.report.locale_formats import Formats
from flows.report.model import (
    WeekFigures,
    baseline_comparison,
    fee_income,
)

_GOOD = "#1a7f37"
_BAD = "#b42318"
_SAME = "#4b5563"


@dataclass(frozen=True)
class Change:
    text: str
    colour: str


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def ordinal(n: int) -> str:
    """English ordinal: 2nd, 3rd, 4th, 11th, 21st."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def sla_days_text(texts: Mapping[str, str], days: int) -> str:
    return texts["business_day"] if days == 1 else texts["business_days"].format(n=days)


def share_text(fmt: Formats, texts: Mapping[str, str], value: float | None) -> str:
    rate = finite(value)
    return fmt.percent(rate) if rate is not None else texts["not_available"]


def minutes_text(fmt: Formats, texts: Mapping[str, str], value: float | None) -> str:
    minutes = finite(value)
    return fmt.minutes(minutes) if minutes is not None else texts["not_available"]


def hours_text(fmt: Formats, texts: Mapping[str, str], value: float | None) -> str:
    hours = finite(value)
    return fmt.hours(hours) if hours is not None else texts["not_available"]


def rate_change(
    fmt: Formats, texts: Mapping[str, str], now: float | None, before: float | None
) -> Change | None:
    now, before = finite(now), finite(before)
    if now is None or before is None:
        return None
    delta = now - before
    if fmt.points(delta) == fmt.points(0.0):  # rounds to 0,0 points
        return Change(texts["unchanged"], _SAME)
    arrow, colour = ("▲", _GOOD) if delta > 0 else ("▼", _BAD)
    return Change(texts["change_points"].format(arrow=arrow, value=fmt.points(delta)), colour)


def count_change(
    fmt: Formats, texts: Mapping[str, str], now: int, before: int | None
) -> Change | None:
    if before is None:
        return None
    delta = now - before
    if delta == 0:
        return Change(texts["unchanged"], _SAME)
    arrow, colour = ("▲", _GOOD) if delta > 0 else ("▼", _BAD)
    return Change(texts["change_count"].format(arrow=arrow, value=fmt.integer(abs(delta))), colour)


@dataclass(frozen=True)
class EurosText:
    """How the report states the follow-up business of one set of figures."""

    volume: str
    fee: str  # the fee income, or "volume only"
    notes: tuple[str, ...]  # volume, fee (estimated part or why none), baseline


def euros_text(
    fmt: Formats,
    texts: Mapping[str, str],
    figures: WeekFigures,
    fee_rate: float | None,
    min_clients: int,
) -> EurosText:
    fee = fee_income(figures, fee_rate)
    volume = fmt.euros(figures.follow_up_volume_eur)
    notes = [texts["volume"].format(value=volume)]
    if fee.amount is None:
        notes.append(texts["fee_unknown"].format(value=fmt.euros(fee.unknown_volume)))
    else:
        notes.append(texts["fee"].format(value=fmt.euros(fee.amount)))
        if fee.estimated > 0 and fee_rate is not None:
            notes.append(
                texts["fee_estimated"].format(
                    value=fmt.euros(fee.estimated), rate=fmt.rate(fee_rate)
                )
            )
    notes.append(baseline_text(fmt, texts, figures, min_clients))
    return EurosText(
        volume=volume,
        fee=fmt.euros(fee.amount) if fee.amount is not None else texts["fee_none"],
        notes=tuple(notes),
    )


def signed_text(fmt: Formats, value: float) -> str:
    text = fmt.decimal(abs(value))
    if text == fmt.decimal(0.0):
        return text
    return ("+" if value > 0 else "−") + text


def baseline_text(
    fmt: Formats, texts: Mapping[str, str], figures: WeekFigures, min_clients: int
) -> str:
    """The sentence "observed N, expected without alert M (baseline), difference N-M", or
    "not enough data" below the minimum size of the baseline. Never a claim of causation."""
    comparison = baseline_comparison(figures, min_clients)
    if comparison.expected is None or comparison.difference is None:
        return texts["baseline_small"].format(
            observed=fmt.integer(comparison.observed),
            clients=fmt.integer(comparison.baseline_clients),
            minimum=fmt.integer(min_clients),
        )
    return texts["baseline"].format(
        observed=fmt.integer(comparison.observed),
        expected=fmt.decimal(comparison.expected),
        difference=signed_text(fmt, comparison.difference),
        clients=fmt.integer(comparison.baseline_clients),
    )


def below_target(rate: float | None, target: float) -> bool:
    value = finite(rate)
    return value is not None and value < target


def worst_first(rate: float | None, missed: int, name: str, key: str) -> tuple[Any, ...]:
    """Lowest rate first (ties: more missed first); no rate yet (only open alerts, or no
    alert) last, because nobody has failed there yet."""
    value = finite(rate)
    return (value is None, value if value is not None else 0.0, -missed, name.casefold(), key)
