"""The tables of the plain-text alternative: monospace columns, text left, numbers
right."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from flows.report.formatting import finite, share_text
from flows.report.locale_formats import Formats, shorten
from flows.report.model import (
    WeekFigures,
)
from flows.report.views import AlertRow, BusinessRow, GoalRow, Row


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]
) -> list[str]:
    """Monospace columns: text left, numbers right, two spaces between."""
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if is_right else cell.ljust(width)
            for cell, width, is_right in zip(cells, widths, right, strict=True)
        ).rstrip()

    rule = ["-" * w if h else " " * w for h, w in zip(headers, widths, strict=True)]
    return [line(headers), line(rule), *(line(row) for row in rows)]


def rows_text(
    texts: Mapping[str, str], first: str, rows: Sequence[Row], *, informed: bool
) -> list[str]:
    headers = [
        "",
        first,
        texts["alerts"],
        texts["txt_followed"],
        texts["txt_missed"],
        texts["txt_open"],
        texts["txt_rate"],
        texts["txt_hours"],
        texts["txt_trades"],
        texts["txt_activities"],
    ]
    if informed:
        headers.append(texts["txt_informed"])
    cells = []
    for r in rows:
        cell = [
            "!" if r.below else "",
            shorten(r.name, 24),
            r.alerts,
            r.followed,
            r.missed,
            r.open,
            r.rate,
            r.hours,
            r.trades,
            r.activities,
        ]
        if informed:
            cell.append(r.informed)
        cells.append(cell)
    right = [False, False, *([True] * (len(headers) - 2))]
    return text_table(headers, cells, right)


def trend_text(
    fmt: Formats,
    texts: Mapping[str, str],
    columns: Sequence[tuple[str, Sequence[WeekFigures]]],
) -> list[str]:
    starts: dict[str, date] = {}
    for _, figures in columns:
        for f in figures:
            starts.setdefault(f.week, f.week_start)
    weeks = sorted(starts, key=lambda w: (starts[w], w))
    if not any(finite(f.adoption_rate) is not None for _, figures in columns for f in figures):
        return []  # nothing but "n/a": the sentence instead of the chart says enough
    by_column = [{f.week: f.adoption_rate for f in figures} for _, figures in columns]
    rows = [
        [fmt.week(w, starts[w]), *(share_text(fmt, texts, rates.get(w)) for rates in by_column)]
        for w in weeks
    ]
    headers = [texts["col_week"], *(shorten(label, 24) for label, _ in columns)]
    return text_table(headers, rows, [False, *([True] * len(columns))])


def alerts_text(texts: Mapping[str, str], rows: Sequence[AlertRow]) -> list[str]:
    lines: list[str] = []
    for r in rows:
        who = f" – {shorten(r.advisor, 30)}" if r.advisor else ""
        lines.append(
            f"{r.status.upper():<9} {r.client_id}  {shorten(r.security_name, 40)} ({r.isin}){who}"
        )
        days = texts["txt_day"] if r.days_open == "1" else texts["txt_days"].format(n=r.days_open)
        lines.append(
            " " * 10 + texts["txt_alert_line"].format(day=r.day, deadline=r.deadline, days=days)
        )
    return lines


def goals_text(texts: Mapping[str, str], rows: Sequence[GoalRow]) -> list[str]:
    headers = [
        texts["col_week"],
        texts["txt_informed"],
        texts["txt_rate"],
        texts["col_volume"],
        texts["col_fee"],
    ]
    cells = [[r.week, r.informed, r.adoption, r.volume, r.fee] for r in rows]
    return text_table(headers, cells, [False, True, True, True, True])


def business_text(texts: Mapping[str, str], rows: Sequence[BusinessRow]) -> list[str]:
    headers = [
        texts["col_branch"],
        texts["txt_trades"],
        texts["col_expected"],
        texts["col_difference"],
        texts["col_volume"],
        texts["col_fee"],
    ]
    cells = [
        [shorten(r.name, 24), r.trades, r.expected, r.difference, r.volume, r.fee] for r in rows
    ]
    return text_table(headers, cells, [False, True, True, True, True, True])
