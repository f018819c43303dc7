"""How the report writes figures and names in the reader's language: babel's number,
percent, currency and date formats per language, and the labels of advisors and
branches. Apart from the charts (:mod:`flows.report.charts`), so that what only formats
does not import matplotlib."""

from __future__ import annotations

import re
import textwrap
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.core import Locale
from babel.dates import format_date, format_interval
from babel.numbers import format_currency, format_decimal, format_percent

from flows.report.model import AdvisorWeek, Language

_LOCALES: dict[str, str] = {"de": "de_DE", "en": "en_GB"}


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


def two_lines(text: str, width: int) -> str:
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
