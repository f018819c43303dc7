"""The charts of the weekly adoption report, drawn into memory as PNG bytes.

Pure: no files, no pyplot. Every chart is a :class:`matplotlib.figure.Figure` drawn by
the Agg canvas directly, so nothing touches matplotlib's global figure state or backend,
and nothing here is shared between threads. Fonts are set on every text (DejaVu Sans,
bundled with matplotlib), the layout is matplotlib's constrained layout (labels are never
cut or drawn over each other), and the PNG carries no software tag and no timestamp: the
same report gives the same bytes.

A chart that would be empty is not drawn: the functions return ``None`` and the report
says so in a sentence. The number formats (babel, ``de_DE`` / ``en_GB``) live here too and
are shared with :mod:`flows.report.formatting`, so a chart and the table beside it always
write a figure the same way.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from flows.report.locale_formats import (
    Formats,
    advisor_label,
    branch_title,
    formats,
    shorten,
    two_lines,
)
from flows.report.model import AdvisorWeek, BankReport, BranchReport, WeekFigures

__all__ = [
    "DPI",
    "WIDTH_PX",
    "adoption_chart",
    "hours_chart",
    "trend_chart",
]

DPI = 100
WIDTH_PX = 720
_WIDTH_IN = WIDTH_PX / DPI
_FONT = "DejaVu Sans"
_LOCALES: dict[str, str] = {"de": "de_DE", "en": "en_GB"}

# Colours: blue for "fine", orange for "below target" (distinguishable with the common
# colour-vision deficiencies), a dark red dashed line for the target, greys for the rest.
_OK = "#2f6db3"
_BELOW = "#e8710a"
_TARGET = "#b42318"
_BANK = "#6b7280"
_TEXT = "#1f2937"
_MUTED = "#4b5563"
_GRID = "#e5e7eb"
# More advisors than this and the hours chart lies on its side.
_STANDING_BARS = 8


# --------------------------------------------------------------------------- wording

_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "adoption_title": "Adoptionsquote je Berater – {week}",
        "adoption_subtitle": "Anteil der Alerts mit Kontakt innerhalb von {sla}; "
        "offene Alerts zählen nicht mit",
        "adoption_axis": "Alerts fristgerecht nachgefasst",
        "target": "Ziel {value}",
        "below_target": "unter dem Ziel",
        "at_target": "Ziel erreicht",
        "no_outcome": "Noch ohne Alert mit bekanntem Ergebnis (nicht im Diagramm): {names}",
        "more": "und {count} weitere",
        "trend_title": "Adoptionsquote der letzten {weeks} Wochen",
        "trend_subtitle_branch": "{branch} im Vergleich zur Bank",
        "trend_subtitle_bank": "Bank gesamt",
        "trend_axis": "Alerts fristgerecht nachgefasst",
        "trend_gap": "Lücke: in dieser Woche kein Alert mit bekanntem Ergebnis",
        "bank": "Bank gesamt",
        "hours_title": "Zeit bis zum ersten Kontakt je Berater – {week} (Frist: {sla})",
        "hours_subtitle": "Median je Berater, gemessen ab Versand der Arbeitsliste",
        "hours_axis": "Stunden bis zum ersten Kontakt (Median)",
        "no_hours": "Ohne Kontakt bisher (nicht im Diagramm): {names}",
        "business_day": "1 Geschäftstag",
        "business_days": "{n} Geschäftstagen",
        "business_days_title": "{n} Geschäftstage",
    },
    "en": {
        "adoption_title": "Adoption rate by advisor – {week}",
        "adoption_subtitle": "Share of alerts with a contact within {sla}; "
        "open alerts are not counted",
        "adoption_axis": "alerts followed up within the deadline",
        "target": "Target {value}",
        "below_target": "below target",
        "at_target": "target met",
        "no_outcome": "No alert with a known outcome yet (not in the chart): {names}",
        "more": "and {count} more",
        "trend_title": "Adoption rate over the last {weeks} weeks",
        "trend_subtitle_branch": "{branch} compared with the bank",
        "trend_subtitle_bank": "The whole bank",
        "trend_axis": "alerts followed up within the deadline",
        "trend_gap": "Gap: no alert with a known outcome that week",
        "bank": "Whole bank",
        "hours_title": "Hours to first contact by advisor – {week} (deadline: {sla})",
        "hours_subtitle": "Median per advisor, measured from the sending of the worklist",
        "hours_axis": "hours to first contact (median)",
        "no_hours": "No contact yet (not in the chart): {names}",
        "business_day": "1 business day",
        "business_days": "{n} business days",
        "business_days_title": "{n} business days",
    },
}


def _sla(texts: dict[str, str], days: int, *, title: bool = False) -> str:
    if days == 1:
        return texts["business_day"]
    return texts["business_days_title" if title else "business_days"].format(n=days)


# --------------------------------------------------------------------------- drawing


def _font(size: float = 9, weight: str = "normal") -> FontProperties:
    return FontProperties(family=_FONT, size=size, weight=weight)


def _figure(height_in: float) -> Figure:
    layout = ConstrainedLayoutEngine(w_pad=0.08, h_pad=0.08, hspace=0.02, wspace=0.02)
    fig = Figure(figsize=(_WIDTH_IN, height_in), dpi=DPI, facecolor="white", layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" tag and no time: two renders of the same report are the same bytes.
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def _titles(fig: Figure, ax: Any, title: str, subtitle: str, width: int = 84) -> None:
    # A left-aligned title above everything (constrained layout makes room for it), and a
    # smaller grey line under it that says what the numbers mean.
    fig.suptitle(
        title, x=0.01, ha="left", fontproperties=_font(12, "bold"), color=_TEXT, wrap=False
    )
    # The subtitle starts at the axes, not at the figure's edge: wrap it to the room left.
    ax.set_title(
        "\n".join(textwrap.wrap(subtitle, width)),
        loc="left",
        fontproperties=_font(9),
        color=_MUTED,
        pad=8,
    )


def _footnote(fig: Figure, text: str) -> None:
    wrapped = "\n".join(textwrap.wrap(text, 100, break_long_words=False)) if text else ""
    if wrapped:
        fig.supxlabel(wrapped, x=0.01, ha="left", fontproperties=_font(8), color=_MUTED)


def _style_axes(ax: Any, *, grid_axis: str) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#9ca3af")
    ax.tick_params(labelsize=9, labelfontfamily=_FONT, colors=_TEXT, length=3)
    ax.set_axisbelow(True)
    ax.grid(axis=grid_axis, color=_GRID, linewidth=0.8)


def _percent_axis(axis: Any, fmt: Formats) -> None:
    axis.set_major_locator(FixedLocator([0, 20, 40, 60, 80, 100]))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.percent_whole(v / 100)))


def _names_note(template: str, names: Sequence[str], texts: dict[str, str], limit: int) -> str:
    if not names:
        return ""
    shown = [shorten(n, 30) for n in names[:limit]]
    if len(names) > limit:
        shown.append(texts["more"].format(count=len(names) - limit))
    return template.format(names=", ".join(shown))


def _rate(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# --------------------------------------------------------------------------- adoption


def adoption_chart(report: BranchReport) -> bytes | None:
    """Horizontal bars of the advisors' adoption rates, best first, with the target line.

    Bars below the target are orange. Advisors without an alert with a known outcome
    (``adoption_rate is None``: no alert, or only open ones) are left out of the bars and
    named in the footnote. ``None`` when no advisor has a rate.
    """
    fmt = formats(report.language)
    texts = _TEXTS[fmt.language]
    rated: list[tuple[AdvisorWeek, float]] = []
    unrated: list[AdvisorWeek] = []
    for advisor in report.advisors:
        rate = _rate(advisor.adoption_rate)
        if rate is None:
            unrated.append(advisor)
        else:
            rated.append((advisor, min(max(rate, 0.0), 1.0)))
    if not rated:
        return None
    rated.sort(key=lambda pair: (-pair[1], advisor_label(pair[0]).casefold(), pair[0].advisor_id))
    unrated.sort(key=lambda a: (advisor_label(a).casefold(), a.advisor_id))
    target = min(max(report.target_adoption_rate, 0.0), 1.0)

    note = _names_note(texts["no_outcome"], [advisor_label(a) for a in unrated], texts, 12)
    count = len(rated)
    height = 2.1 + 0.34 * (count + 1) + (0.3 if note else 0.0)
    fig = _figure(height)
    ax = fig.add_subplot()
    _style_axes(ax, grid_axis="x")

    positions = list(range(count))
    values = [rate * 100 for _, rate in rated]
    colours = [_BELOW if rate < target else _OK for _, rate in rated]
    ax.barh(positions, values, height=0.66, color=colours, zorder=2)
    for y, (advisor, rate) in zip(positions, rated, strict=True):
        known = advisor.followed_up_within_sla + advisor.missed
        label = fmt.percent(rate)
        if known:
            label += f" · {fmt.integer(advisor.followed_up_within_sla)}/{fmt.integer(known)}"
        inside = rate >= 0.3
        ax.text(
            rate * 100 - 1.2 if inside else rate * 100 + 1.2,
            y,
            label,
            ha="right" if inside else "left",
            va="center",
            color="white" if inside else _TEXT,
            fontproperties=_font(8.5, "bold" if inside else "normal"),
            zorder=4,
        )

    ax.set_yticks(positions, [shorten(advisor_label(a), 26) for a, _ in rated])
    # One empty row above the best bar holds the label of the target line.
    ax.set_ylim(count - 0.5, -1.5)
    ax.set_xlim(0, 100)
    _percent_axis(ax.xaxis, fmt)
    ax.set_xlabel(texts["adoption_axis"], fontproperties=_font(9), color=_MUTED)
    ax.axvline(target * 100, color=_TARGET, linestyle=(0, (5, 3)), linewidth=1.4, zorder=3)
    right = target < 0.85
    ax.annotate(
        texts["target"].format(value=fmt.percent_whole(target)),
        xy=(target * 100, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(4 if right else -4, -5),
        textcoords="offset points",
        ha="left" if right else "right",
        va="top",
        color=_TARGET,
        fontproperties=_font(8.5, "bold"),
        zorder=4,
    )
    ax.tick_params(axis="y", length=0)
    sla = _sla(texts, report.sla_business_days)
    _titles(
        fig,
        ax,
        texts["adoption_title"].format(week=fmt.week(report.week, report.week_start)),
        texts["adoption_subtitle"].format(sla=sla),
        width=62,
    )
    # The colour key sits in the empty top row, on the side away from the target label.
    ax.legend(
        handles=[
            Patch(color=colour, label=texts[key])
            for colour, key in ((_OK, "at_target"), (_BELOW, "below_target"))
            if colour in colours
        ],
        loc="upper left" if target >= 0.5 else "upper right",
        ncols=2,
        frameon=False,
        prop=_font(8.5),
        handlelength=1.2,
        borderaxespad=0.3,
    )
    _footnote(fig, note)
    return _png(fig)


# --------------------------------------------------------------------------- trend


@dataclass(frozen=True)
class _Series:
    label: str
    values: tuple[float, ...]  # NaN where the week has no rate
    colour: str
    marker: str
    width: float


def _series(
    weeks: Sequence[str], figures: Sequence[WeekFigures], label: str, colour: str, marker: str
) -> _Series:
    by_week = {f.week: _rate(f.adoption_rate) for f in figures}
    values = tuple(
        (v * 100 if (v := by_week.get(week)) is not None else math.nan) for week in weeks
    )
    return _Series(label, values, colour, marker, 2.2 if colour == _OK else 1.6)


def trend_chart(report: BranchReport | BankReport) -> bytes | None:
    """The adoption rate of the last weeks: the branch against the bank (a bank report:
    the bank alone), with the target line; a week without a rate is a gap in its line.

    ``None`` when the report's own series (the branch; for a bank report the bank) has no
    week with a rate: a bank line alone would not show the branch's trend.
    """
    fmt = formats(report.language)
    texts = _TEXTS[fmt.language]
    own = report.branch_trend if isinstance(report, BranchReport) else report.bank_trend
    all_figures = list(own) + list(report.bank_trend)
    starts: dict[str, date] = {}
    for figure in all_figures:
        starts.setdefault(figure.week, figure.week_start)
    weeks = sorted(starts, key=lambda w: (starts[w], w))
    if not any(_rate(f.adoption_rate) is not None for f in own):
        return None

    series: list[_Series] = []
    if isinstance(report, BranchReport):
        branch = branch_title(report.branch, fmt.language)
        series.append(_series(weeks, report.branch_trend, shorten(branch, 40), _OK, "o"))
        series.append(_series(weeks, report.bank_trend, texts["bank"], _BANK, "s"))
        subtitle = texts["trend_subtitle_branch"].format(branch=shorten(branch, 50))
    else:
        series.append(_series(weeks, report.bank_trend, texts["bank"], _OK, "o"))
        subtitle = texts["trend_subtitle_bank"]
    target = min(max(report.target_adoption_rate, 0.0), 1.0)

    fig = _figure(3.9)
    ax = fig.add_subplot()
    _style_axes(ax, grid_axis="y")
    xs = list(range(len(weeks)))
    handles: list[Any] = []
    gaps = False
    for line in reversed(series):  # the report's own line is drawn last, on top
        gaps = gaps or any(math.isnan(v) for v in line.values)
        (drawn,) = ax.plot(
            xs,
            line.values,
            color=line.colour,
            marker=line.marker,
            markersize=6,
            linewidth=line.width,
            label=line.label,
            zorder=3,
        )
        handles.insert(0, drawn)
    target_line = ax.axhline(
        target * 100, color=_TARGET, linestyle=(0, (5, 3)), linewidth=1.4, zorder=2
    )
    handles.append(
        Line2D(
            [],
            [],
            color=_TARGET,
            linestyle=target_line.get_linestyle(),
            linewidth=1.4,
            label=texts["target"].format(value=fmt.percent_whole(target)),
        )
    )
    labels = {week: fmt.week(week, starts[week]) for week in weeks}
    ax.set_xticks(xs, [labels[w] for w in weeks])
    ax.set_xlim(-0.4, len(weeks) - 0.6)
    ax.set_ylim(0, 104)
    _percent_axis(ax.yaxis, fmt)
    ax.set_ylabel(texts["trend_axis"], fontproperties=_font(9), color=_MUTED)
    # Below the plot, never over a line.
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=len(handles),
        frameon=False,
        prop=_font(9),
    )
    _titles(fig, ax, texts["trend_title"].format(weeks=len(weeks)), subtitle)
    return _png(fig)


# --------------------------------------------------------------------------- hours


def hours_chart(report: BranchReport) -> bytes | None:
    """Bars of the advisors' median hours to first contact, fastest first; the deadline in
    business days is in the title. ``None`` when no advisor has a value.

    Up to eight advisors the bars stand (names under them, hours on the y axis); with
    more they lie, one row per advisor like the adoption chart, because 720 pixels have no
    room for more standing bars with readable names and values.
    """
    fmt = formats(report.language)
    texts = _TEXTS[fmt.language]
    timed = [
        (a, h)
        for a in report.advisors
        if (h := a.median_hours_to_contact) is not None and math.isfinite(h)
    ]
    if not timed:
        return None
    timed.sort(key=lambda pair: (pair[1], advisor_label(pair[0]).casefold(), pair[0].advisor_id))
    timed_ids = {id(a) for a, _ in timed}
    untimed = sorted(
        (a for a in report.advisors if a.alerts > 0 and id(a) not in timed_ids),
        key=lambda a: (advisor_label(a).casefold(), a.advisor_id),
    )
    note = _names_note(texts["no_hours"], [advisor_label(a) for a in untimed], texts, 12)
    values = [max(h, 0.0) for _, h in timed]
    top = max(max(values), 1.0)
    count = len(timed)
    standing = count <= _STANDING_BARS

    if standing:
        # Up to five names fit under their bars on two lines; more are set at a slant.
        rotate = count > 5
        if rotate:
            names = [shorten(advisor_label(a), 22) for a, _ in timed]
            height = 3.4 + 0.055 * max(len(n) for n in names)
        else:
            names = [two_lines(advisor_label(a), 17) for a, _ in timed]
            height = 3.6
    else:
        names = [shorten(advisor_label(a), 26) for a, _ in timed]
        height = 1.9 + 0.3 * count
    fig = _figure(height + (0.3 if note else 0.0))
    ax = fig.add_subplot()
    _style_axes(ax, grid_axis="y" if standing else "x")
    positions = list(range(count))
    hours_axis = ax.yaxis if standing else ax.xaxis
    hours_axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10], integer=True))
    hours_axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.integer(round(v))))
    if standing:
        ax.bar(positions, values, width=0.62 if count > 2 else 0.4, color=_OK, zorder=2)
        for x, value in zip(positions, values, strict=True):
            ax.annotate(
                fmt.hours(value),
                xy=(x, value),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                color=_TEXT,
                fontproperties=_font(8.5),
            )
        ax.set_ylim(0, top * 1.14)
        ax.set_xticks(positions, names)
        if rotate:
            for tick in ax.get_xticklabels():
                tick.set_rotation(40)
                tick.set_horizontalalignment("right")
                tick.set_rotation_mode("anchor")
        ax.set_xlim(-0.6, count - 0.4)
        ax.tick_params(axis="x", length=0)
        ax.set_ylabel(texts["hours_axis"], fontproperties=_font(9), color=_MUTED)
    else:
        ax.barh(positions, values, height=0.66, color=_OK, zorder=2)
        for y, value in zip(positions, values, strict=True):
            ax.annotate(
                fmt.hours(value),
                xy=(value, y),
                xytext=(4, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                color=_TEXT,
                fontproperties=_font(8.5),
            )
        ax.set_xlim(0, top * 1.16)
        ax.set_yticks(positions, names)
        ax.set_ylim(count - 0.5, -0.7)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel(texts["hours_axis"], fontproperties=_font(9), color=_MUTED)
    _titles(
        fig,
        ax,
        texts["hours_title"].format(
            week=fmt.week(report.week, report.week_start),
            sla=_sla(texts, report.sla_business_days, title=True),
        ),
        texts["hours_subtitle"],
        width=84 if standing else 62,
    )
    _footnote(fig, note)
    return _png(fig)
