"""ISINs: the check digit (letters as numbers, then Luhn), making and checking one."""

from __future__ import annotations


def isin_check_digit(body: str) -> int:
    """The ISIN check digit of ``body`` (country code and 9 characters).

    Letters become numbers (A=10 ... Z=35); over the resulting digit string the Luhn
    algorithm doubles every second digit starting from the rightmost one."""
    if len(body) != 11 or not body.isalnum() or not body[:2].isalpha() or not body.isascii():
        raise ValueError(f"not an ISIN body (2 letters and 9 letters or digits): {body!r}")
    digits = "".join(str(int(ch, 36)) for ch in body.upper())
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def make_isin(body: str) -> str:
    return f"{body}{isin_check_digit(body)}"


def is_valid_isin(isin: str) -> bool:
    """True when ``isin`` is 12 characters with the right check digit."""
    if len(isin) != 12 or not isin[11].isdigit():
        return False
    try:
        return isin_check_digit(isin[:11]) == int(isin[11])
    except ValueError:
        return False
