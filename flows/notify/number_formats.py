"""Numbers, money and percentages exactly as babel formats them, read once per locale.

``babel.numbers.format_currency`` and its kin look up the locale's symbols, the
currency's sign, digits and even its plural name again for every value: about ten
microseconds a number, four numbers per holding of a client digest, two per line of a
worklist. A :class:`NumberFormat` reads the pattern, the symbols and the currency's
sign and digits once, then takes babel's own steps for each value (``NumberPattern.apply``:
scale, sign, quantize, group the integer digits, trim the fraction, prefix and suffix).
Patterns it does not follow step by step (scientific notation, significant digits, a
currency's long name, quotes it cannot place) and values that are not finite are handed
to babel itself. tests/notify/test_number_formats.py compares both on thousands of
values in several locales. Pure.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel.core import Locale
from babel.numbers import (
    NumberPattern,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_precision,
    get_decimal_quantum,
    get_decimal_symbol,
    get_group_symbol,
    parse_pattern,
)

# babel's last step: text in single quotes loses them, a doubled quote becomes one.
_QUOTED = re.compile(r"'([^']*)'")


class NumberFormat:
    """One number pattern of one locale (with ``currency``: its sign and digits)."""

    def __init__(
        self,
        locale: Locale,
        pattern: str | NumberPattern,
        *,
        currency: str | None = None,
        decimal_quantization: bool = True,
    ) -> None:
        self._locale = locale
        self._pattern = parse_pattern(pattern)
        self._currency = currency
        self._quantization = decimal_quantization
        p = self._pattern
        if currency:
            digits = get_currency_precision(currency)
            self._frac_prec: tuple[int, int] = (digits, digits)
        else:
            self._frac_prec = p.frac_prec
        self._group = get_group_symbol(locale)
        self._decimal = get_decimal_symbol(locale)
        prefix = [self._affix(text) for text in p.prefix]
        suffix = [self._affix(text) for text in p.suffix]
        self._prefix = tuple(text or "" for text in prefix)
        self._suffix = tuple(text or "" for text in suffix)
        self._stepwise = (
            not p.exp_prec
            and "@" not in p.pattern
            and p.number_pattern != ""
            and None not in prefix + suffix
            and "'" not in self._group + self._decimal
        )

    def _affix(self, text: str) -> str | None:
        """A prefix or suffix as babel writes it, or None when babel's treatment of the
        whole result cannot be done on the affix alone."""
        if "¤" in text and self._currency is not None:
            if "¤¤¤" in text:
                return None  # the currency's name depends on the value (plural)
            text = text.replace("¤¤", self._currency.upper())
            text = text.replace("¤", get_currency_symbol(self._currency, self._locale))
        if text.count("'") % 2:
            return None  # a quote that pairs with one on the other side of the number
        return _QUOTED.sub(lambda m: m.group(1) or "'", text)

    def format(self, value: Decimal | float | str) -> str:
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        if not self._stepwise or not value.is_finite():
            return str(
                self._pattern.apply(
                    value,
                    self._locale,
                    currency=self._currency,
                    decimal_quantization=self._quantization,
                )
            )
        value = value.scaleb(self._pattern.scale)
        negative = int(value.is_signed())
        value = abs(value).normalize()
        low, high = self._frac_prec
        if not self._quantization:
            high = max(high, get_decimal_precision(value))
        whole, _, fraction = f"{value.quantize(get_decimal_quantum(high)):f}".partition(".")
        number = self._integer(whole) + self._fraction(fraction or "0", low, high)
        return self._prefix[negative] + number + self._suffix[negative]

    def _integer(self, digits: str) -> str:
        """babel's ``NumberPattern._format_int`` with this locale's group symbol."""
        minimum = self._pattern.int_prec[0]
        if len(digits) < minimum:
            digits = "0" * (minimum - len(digits)) + digits
        size, grouped = self._pattern.grouping[0], ""
        while len(digits) > size:
            grouped = self._group + digits[-size:] + grouped
            digits = digits[:-size]
            size = self._pattern.grouping[1]
        return digits + grouped

    def _fraction(self, digits: str, low: int, high: int) -> str:
        """babel's ``NumberPattern._format_frac`` with this locale's decimal symbol."""
        if len(digits) < low:
            digits += "0" * (low - len(digits))
        if high == 0 or (low == 0 and int(digits) == 0):
            return ""
        while len(digits) > low and digits[-1] == "0":
            digits = digits[:-1]
        return self._decimal + digits
