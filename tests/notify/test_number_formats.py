"""NumberFormat gives what babel's format_currency, format_decimal and format_percent
give, character for character, on thousands of values in several locales."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from babel.core import Locale
from babel.numbers import format_currency, format_decimal, format_percent

from flows.notify.number_formats import NumberFormat

LOCALES = ("de_DE", "en_GB", "de_CH", "fr_FR", "en_IN", "ar_EG", "ja_JP", "nl_NL")
CURRENCIES = ("EUR", "USD", "CHF", "JPY", "GBP", "KWD", "XYZ")


def values() -> list[Decimal]:
    rng = random.Random(15)
    edge = ["0", "-0", "0.005", "0.015", "0.025", "2.675", "-2.675", "1.5", "2.5", "-0.001",
            "999.995", "999999.995", "1e-7", "123456789012.345", "1E+3", "0.0000", "1000000",
            "12.50", "-4500.00", "0.1234", "0.5", "-0.5", "1.005", "10.000001"]  # fmt: skip
    found = [Decimal(v) for v in edge]
    for _ in range(1500):
        digits = rng.randint(0, 13)
        places = rng.randint(0, 8)
        number = Decimal(rng.randint(-(10**digits), 10**digits)).scaleb(-places)
        found.append(number)
    return found


VALUES = values()


@pytest.mark.parametrize("name", LOCALES)
def test_money_in_any_currency_is_what_babel_writes(name: str) -> None:
    locale = Locale.parse(name)
    pattern = locale.currency_formats["standard"]
    for currency in CURRENCIES:
        money = NumberFormat(locale, pattern, currency=currency)
        for value in VALUES:
            assert money.format(value) == format_currency(value, currency, locale=locale), (
                name, currency, value,
            )  # fmt: skip


@pytest.mark.parametrize("name", LOCALES)
def test_decimals_and_percentages_are_what_babel_writes(name: str) -> None:
    locale = Locale.parse(name)
    natural = NumberFormat(locale, locale.decimal_formats[None], decimal_quantization=False)
    two = NumberFormat(locale, "#,##0.00")
    percent_pattern = locale.percent_formats[None].pattern.replace("0%", "0.0%")
    percent = NumberFormat(locale, percent_pattern)
    for value in VALUES:
        assert natural.format(value) == format_decimal(
            value, locale=locale, decimal_quantization=False
        ), (name, value)
        assert two.format(value) == format_decimal(value, format="#,##0.00", locale=locale)
        weight = float(value) / 1000
        assert percent.format(weight) == format_percent(
            weight, format=percent_pattern, locale=locale
        ), (name, weight)


def test_patterns_it_does_not_follow_step_by_step_go_to_babel() -> None:
    locale = Locale.parse("en_GB")
    for pattern, currency in (("#E0", None), ("@@@", None), ("¤¤¤ #,##0.00", "USD"),
                              ("'#'#,##0", None), ("#,##0 o''clock", None)):  # fmt: skip
        number = NumberFormat(locale, pattern, currency=currency)
        for value in (Decimal("1234.5678"), Decimal("-2"), Decimal("1")):
            expected = (
                format_currency(value, currency, format=pattern, locale=locale)
                if currency
                else format_decimal(value, format=pattern, locale=locale)
            )
            assert number.format(value) == expected, (pattern, value)
    assert NumberFormat(locale, "#,##0.00").format(Decimal("Infinity")) == format_decimal(
        Decimal("Infinity"), format="#,##0.00", locale=locale
    )


def test_the_renderers_formats_never_call_babel_per_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from babel.numbers import NumberPattern

    for name in ("de_DE", "en_GB"):  # the languages of votum's emails
        locale = Locale.parse(name)
        formats = [
            NumberFormat(locale, locale.currency_formats["standard"], currency="EUR"),
            NumberFormat(locale, locale.currency_formats["standard"], currency="USD"),
            NumberFormat(locale, "#,##0.00"),
            NumberFormat(locale, locale.decimal_formats[None], decimal_quantization=False),
            NumberFormat(locale, locale.percent_formats[None].pattern.replace("0", "0.0")),
        ]
        with monkeypatch.context() as patch:
            patch.setattr(NumberPattern, "apply", None)  # would fail if called
            for number in formats:
                assert number.format(Decimal("-1234.5678"))
