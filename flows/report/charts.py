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
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from babel.core import Locale
from babel.dates import format_date, format_interval
from babel.numbers import format_currency, format_decimal, format_percent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from flows.report.model import AdvisorWeek, BankReport, BranchReport, Language, WeekFigures

__all__ = [
    "DPI",
    "WIDTH_PX",
    "Formats",
    "adoption_chart",
    "advisor_label",
    "branch_title",
    "formats",
    "hours_chart",
    "shorten",
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


# --------------------------------------------------------------------------- formats


class Formats:
    """Numbers, percentages, hours, dates and week labels in one language (babel)."""

    def __init__(self, language: Language) -> None:
        self.language: Language = language
        self.locale = Locale.parse(_LOCALES[language])
        pattern = self.locale.percent_formats[None].pattern  # "#,##0 %" / "#,##0%"
        self._percent_1 = re.sub(r"0(?![0-9])", "0.0", pattern, count=1)
        self._percent_0 = pattern

    def integer(self, value: int) -> str:
        """``1.234`` / ``1,234``."""
        return str(format_decimal(value, format="#,##0", locale=self.locale))

    def decimal(self, value: float) -> str:
        """One decimal: ``3,5`` / ``3.5`` (half up, as a reader rounds: 41.25 -> 41,3)."""
        return str(format_decimal(_half_up(value, 1), format="#,##0.0", locale=self.locale))

    def percent(self, share: float) -> str:
        """A share (0.825) with one decimal: ``82,5 %`` / ``82.5%``."""
        rounded = _half_up(share, 3)
        return str(format_percent(rounded, format=self._percent_1, locale=self.locale))

    def percent_whole(self, share: float) -> str:
        """A share without decimals, for axis ticks and the target: ``80 %`` / ``80%``."""
        rounded = _half_up(share, 2)
        return str(format_percent(rounded, format=self._percent_0, locale=self.locale))

    def rate(self, share: float) -> str:
        """A small rate with up to three decimals: ``0,25 %`` / ``0.25%``."""
        pattern = re.sub(r"0(?![0-9])", "0.###", self._percent_0, count=1)
        return str(format_percent(Decimal(repr(float(share))), format=pattern, locale=self.locale))

    def euros(self, value: float) -> str:
        """Euros to the cent: ``1.291,16 €`` (a no-break space) / ``€1,291.16``."""
        amount = Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return str(format_currency(amount, "EUR", locale=self.locale))

    def hours(self, value: float) -> str:
        """``3,5 h`` (no-break space: the unit never wraps away from its number)."""
        return f"{self.decimal(value)}\u00a0h"

    def minutes(self, value: float) -> str:
        """``3,5 min`` (no-break space, as for hours)."""
        return f"{self.decimal(value)}\u00a0min"

    def points(self, delta: float) -> str:
        """A difference of two shares in percentage points, without sign: ``4,2``."""
        return self.decimal(abs(delta) * 100)

    def day(self, day: date) -> str:
        """``05.10.2026`` / ``5 Oct 2026``."""
        pattern = "dd.MM.yyyy" if self.language == "de" else "d MMM yyyy"
        return str(format_date(day, pattern, locale=self.locale))

    def period(self, start: date, end: date) -> str:
        """The week's dates: German ``05.10.`` to ``11.10.2026`` joined by an en dash, English
        by babel (``5 - 11 Oct 2026`` with an en dash)."""
        if self.language == "de":
            first = start.strftime("%d.%m.") if start.year == end.year else self.day(start)
            return f"{first}–{self.day(end)}"
        return str(format_interval(start, end, "yMMMd", locale=self.locale))

    def week(self, week: str, week_start: date) -> str:
        """``KW 41`` / ``W41`` for ``2026-W41`` (the Monday decides when the key is odd)."""
        match = re.fullmatch(r"\s*\d{4}-?W(\d{1,2})\s*", week)
        number = int(match.group(1)) if match else week_start.isocalendar().week
        return f"KW {number}" if self.language == "de" else f"W{number}"


def _half_up(value: float, places: int) -> Decimal:
    """``value`` rounded half up to ``places`` decimals, from its shortest decimal form
    (0.8125 -> 0.813, not the binary 0.81249999...)."""
    exact = Decimal(repr(float(value)))
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=2)
def formats(language: str) -> Formats:
    """One formatter per language for the process (loading a locale is slow); anything
    but ``"en"`` is German."""
    return Formats("en" if language == "en" else "de")


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters, cut with "…" when longer."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[: max(limit - 1, 1)].rstrip() + "…"


def _two_lines(text: str, width: int) -> str:
    """``text`` wrapped to at most two lines of ``width``, the second cut with "…"."""
    lines = textwrap.wrap(" ".join(text.split()), width, break_long_words=True) or [""]
    if len(lines) <= 2:
        return "\n".join(lines)
    return lines[0] + "\n" + shorten(" ".join(lines[1:]), width)


def advisor_label(advisor: AdvisorWeek) -> str:
    """The advisor's name, or their id when the name is unknown."""
    name = " ".join((advisor.advisor_name or "").split())
    return name or advisor.advisor_id


def branch_title(branch: str, language: Language) -> str:
    """``Filiale München`` / ``Branch München`` (a name that says "Filiale" keeps it)."""
    name = " ".join(branch.split())
    word = "Filiale" if language == "de" else "Branch"
    if name.casefold().startswith(("filiale", "branch")):
        return name
    return f"{word} {name}"


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
            names = [_two_lines(advisor_label(a), 17) for a, _ in timed]
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
