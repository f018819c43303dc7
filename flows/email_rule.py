"""The one definition of a usable email address, for every place that checks one: the
sending rule (flows/notify/addresses.py), the quality rule of the drop's address columns
(flows/quality/rules.py) and, in SQL, the dbt macro ``email_pattern`` in
``dbt_project/macros/is_valid_email.sql`` (dbt cannot import Python: a test checks that
the macro's pattern is this one, character for character).

One @; a local part of the usual characters without leading, trailing or double dots; a
domain with at least one dot and a letter-only top-level domain; nothing else, so no
whitespace (no CR, LF or NUL can reach a header or the SMTP conversation). Written for
full-string matching (``re.fullmatch``, DuckDB's ``regexp_full_match``); anchors are added
where an engine needs them."""

from __future__ import annotations

EMAIL_PATTERN = (
    r"[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}"
)
MAX_ADDRESS_LENGTH = 254
