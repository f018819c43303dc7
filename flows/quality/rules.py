"""Every quality rule, once. The Great Expectations suites are generated from this list
(:mod:`flows.quality.gx_project`), and the quarantine moves rows with the very same
conditions, so what Data Docs count and what is quarantined cannot drift apart.

A rule's ``where`` is a SQL condition that is true for a faulty row of ``{batch}`` (the
rows of the file in the drop being checked, or of the mart for the business day). Row
rules on a 10-million-row file test each distinct value once where they can
(``{batch}`` appears in a sub-query), not every row.

Actions, per the spec's policy:

* ``quarantine``: a row fault; the row moves to ``ops.quarantine`` with every reason and
  the run goes on (unless too large a share of the file is faulty);
* ``warn``: counted and shown, the row stays (an invalid email address is kept and the
  client is not emailed; an unknown language falls back to German);
* ``file``: a file fault; the run stops before dbt and nothing is sent;
* ``hold``: the marts or the drop look wrong; nothing of the day is sent until a person
  releases it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from flows.email_rule import EMAIL_PATTERN

Action = Literal["quarantine", "warn", "file", "hold"]

ISIN_PATTERN = "[A-Z]{2}[A-Z0-9]{9}[0-9]"


def _literal(pattern: str) -> str:
    """A pattern inside a rule template: ``{batch}`` is the one placeholder, so literal
    braces (``{2}`` in a regular expression) are doubled, as Great Expectations wants."""
    return pattern.replace("{", "{{").replace("}", "}}")


ISIN_LIKE = f"regexp_full_match(v, '{_literal(ISIN_PATTERN)}')"


def _invalid_email(column: str) -> str:
    return f"NOT regexp_full_match(trim({column}), '{_literal(EMAIL_PATTERN)}')"


ACTIVITY_TYPES = ("call", "meeting", "email", "note", "alert_acknowledged")
OPT_IN_VALUES = (
    "true",
    "false",
    "ja",
    "nein",
    "1",
    "0",
    "yes",
    "no",
    "j",
    "n",
    "y",
    "wahr",
    "falsch",
    "t",
    "f",
)


@dataclass(frozen=True)
class Rule:
    suite: str  # e.g. "raw_holdings", "mart_client_rating_changes"
    name: str  # stable id, e.g. "isin_check_digit"
    description: str  # what is wrong, as a data engineer reads it
    action: Action
    # Templates: {batch} stands for the rows checked (Great Expectations puts a
    # sub-query with its own alias there: never alias it again, select from it);
    # literal braces are doubled.
    where: str | None = None  # condition on a row of {batch}
    query: str | None = None  # a whole unexpected-rows query, when not row by row

    @property
    def unexpected_rows_query(self) -> str:
        if self.query is not None:
            return self.query
        return f"SELECT * FROM {{batch}} WHERE {self.where}"


def _parsed_timestamp(column: str) -> str:
    # The same reading of dates as dbt's staging (macro parse_timestamp).
    return (
        f"coalesce(try_cast(trim({column}) AS TIMESTAMP), try_strptime(trim({column}), "
        "['%d.%m.%Y %H:%M:%S', '%d.%m.%Y %H:%M', '%d.%m.%Y']))"
    )


# The drop's date, for conditions on distinct values (no row there to read it from).
_DAY_OF_BATCH = "(SELECT max(run_date) FROM raw.run_context)"


def _missing(column: str) -> str:
    return f"({column} IS NULL OR trim(CAST({column} AS VARCHAR)) = '')"


def _distinct_values_where(column: str, condition: str) -> str:
    """Rows whose ``column`` value fails ``condition`` (written for a value ``v``),
    testing each distinct value once. ``any_value`` keeps the optimiser from pushing
    the condition below the grouping, where it would run on every row again."""
    return (
        f"{column} IN (SELECT v FROM (SELECT any_value({column}) AS v FROM {{batch}} "
        f"GROUP BY {column}) AS d WHERE {condition})"
    )


def _isin_rules(suite: str, column: str = "isin", *, required: bool = True) -> list[Rule]:
    rules = []
    if required:
        rules.append(
            Rule(
                suite, f"{column}_missing", f"missing key {column}", "quarantine", _missing(column)
            )
        )
    rules += [
        Rule(
            suite,
            f"{column}_malformed",
            f"malformed ISIN in {column} (two letters, nine letters or digits, one digit)",
            "quarantine",
            _distinct_values_where(column, f"NOT {ISIN_LIKE}"),
        ),
        Rule(
            suite,
            f"{column}_check_digit",
            f"ISIN check digit invalid in {column}",
            "quarantine",
            _distinct_values_where(
                column,
                f"{ISIN_LIKE} AND NOT ops.isin_check_digit_ok(v)",
            ),
        ),
    ]
    return rules


def _duplicates(suite: str, keys: tuple[str, ...], file_name: str) -> Rule:
    """Keys listed more than once. Grouping ten million rows by two text columns takes
    seconds; grouping them by one 64-bit hash of the key takes a fraction: a key whose
    hash is unique cannot be repeated, so only the rows of repeated hashes (none in a
    good file, a few more in case of a hash collision) are grouped by the key itself.
    The result is exact; the raw suites run on DuckDB (``hash``)."""
    columns = ", ".join(keys)
    present = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    return Rule(
        suite,
        "duplicate_keys",
        f"duplicate keys ({columns}) in {file_name}",
        "file",
        query=(
            f"SELECT {columns}, count(*) AS occurrences FROM ("
            f"SELECT {columns}, hash({columns}) AS _key_hash FROM {{batch}} WHERE {present}"
            f") AS keyed WHERE _key_hash IN ("
            f"SELECT hash({columns}) FROM {{batch}} WHERE {present} "
            f"GROUP BY 1 HAVING count(*) > 1"
            f") GROUP BY {columns} HAVING count(*) > 1"
        ),
    )


def _timestamp_rules(suite: str, column: str, *, action: Action = "quarantine") -> list[Rule]:
    parsed = _parsed_timestamp(column)
    return [
        Rule(suite, f"{column}_missing", f"{column} missing", action, _missing(column)),
        Rule(
            suite,
            f"{column}_unreadable",
            f"{column} is not a date or timestamp",
            action,
            f"NOT {_missing(column)} AND {parsed} IS NULL",
        ),
        Rule(
            suite,
            f"{column}_implausible",
            f"{column} implausible (before 1990 or after the drop's business day)",
            action,
            f"{parsed} < TIMESTAMP '1990-01-01' OR {parsed} >= _drop_date + INTERVAL 1 DAY",
        ),
    ]


def _label(column: str) -> str:
    # The same normalisation as dbt's macro normalize_label.
    spaced = f"replace(replace({column}, '_', ' '), '-', ' ')"
    return f"trim(regexp_replace(lower({spaced}), '\\s+', ' ', 'g'))"


RAW_RULES: tuple[Rule, ...] = (
    # ratings.csv
    *_isin_rules("raw_ratings"),
    Rule("raw_ratings", "rating_missing", "missing rating label", "quarantine", _missing("rating")),
    Rule(
        "raw_ratings",
        "rating_unknown",
        "rating label not on the rating scale (German or English)",
        "quarantine",
        f"NOT {_missing('rating')} AND {_label('rating')} "
        "NOT IN (SELECT label FROM ops.known_rating_labels)",
    ),
    *_timestamp_rules("raw_ratings", "rated_at"),
    Rule(
        "raw_ratings",
        "target_price_negative",
        "negative target price",
        "quarantine",
        "target_price < 0",
    ),
    _duplicates("raw_ratings", ("isin", "rated_at"), "ratings.csv"),
    # holdings.csv
    Rule(
        "raw_holdings",
        "client_id_missing",
        "missing key client_id",
        "quarantine",
        _missing("client_id"),
    ),
    *_isin_rules("raw_holdings"),
    Rule("raw_holdings", "quantity_missing", "quantity missing", "quarantine", "quantity IS NULL"),
    Rule("raw_holdings", "quantity_negative", "negative quantity", "quarantine", "quantity < 0"),
    Rule(
        "raw_holdings",
        "market_value_missing",
        "market_value_eur missing",
        "quarantine",
        "market_value_eur IS NULL",
    ),
    Rule(
        "raw_holdings",
        "as_of_not_drop_date",
        "as_of is not the drop's date (the snapshot belongs to another day)",
        "file",
        f"{_missing('as_of')} OR "
        + _distinct_values_where(
            "as_of", f"CAST({_parsed_timestamp('v')} AS DATE) IS DISTINCT FROM {_DAY_OF_BATCH}"
        ),
    ),
    _duplicates("raw_holdings", ("client_id", "isin"), "holdings.csv"),
    Rule(
        "raw_holdings",
        "empty",
        "holdings.csv has no rows (a full snapshot of all positions is required)",
        "file",
        query="SELECT n AS rows_in_file FROM (SELECT count(*) AS n FROM {batch}) AS c WHERE n = 0",
    ),
    Rule(
        "raw_holdings",
        "volume_implausible",
        "holdings snapshot grew or shrank implausibly against the previous drop "
        "(VOTUM_MAX_HOLDINGS_CHANGE)",
        "hold",
        query=(
            "SELECT c.n AS rows_now, p.previous AS rows_before FROM "
            "(SELECT count(*) AS n FROM {batch}) AS c, "
            "(SELECT rows_loaded AS previous FROM raw.drop_files WHERE file_kind = 'holdings' "
            "AND drop_date < (SELECT max(run_date) FROM raw.run_context) "
            "ORDER BY drop_date DESC LIMIT 1) AS p "
            "WHERE abs(c.n - p.previous) > "
            "(SELECT max(max_holdings_change) FROM ops.quality_settings) * p.previous"
        ),
    ),
    # clients.csv
    Rule(
        "raw_clients",
        "client_id_missing",
        "missing key client_id",
        "quarantine",
        _missing("client_id"),
    ),
    Rule(
        "raw_clients",
        "email_invalid",
        "email address not valid (the client is kept and not emailed)",
        "warn",
        f"NOT {_missing('email')} AND {_invalid_email('email')}",
    ),
    Rule(
        "raw_clients",
        "language_unknown",
        "language not de or en (German is used)",
        "warn",
        "lower(trim(language)) NOT IN ('de', 'en') OR language IS NULL",
    ),
    Rule(
        "raw_clients",
        "notify_opt_in_unreadable",
        "notify_opt_in not true/false, ja/nein, 1/0 (counts as no)",
        "warn",
        f"lower(trim(notify_opt_in)) NOT IN {OPT_IN_VALUES} OR notify_opt_in IS NULL",
    ),
    _duplicates("raw_clients", ("client_id",), "clients.csv"),
    # advisors.csv
    Rule(
        "raw_advisors",
        "advisor_id_missing",
        "missing key advisor_id",
        "quarantine",
        _missing("advisor_id"),
    ),
    Rule(
        "raw_advisors",
        "email_invalid",
        "advisor email not valid (no worklist can be sent)",
        "warn",
        f"{_missing('email')} OR {_invalid_email('email')}",
    ),
    _duplicates("raw_advisors", ("advisor_id",), "advisors.csv"),
    # crm_activities.csv
    Rule(
        "raw_crm_activities",
        "activity_id_missing",
        "missing key activity_id",
        "quarantine",
        _missing("activity_id"),
    ),
    Rule(
        "raw_crm_activities",
        "advisor_id_missing",
        "missing key advisor_id",
        "quarantine",
        _missing("advisor_id"),
    ),
    Rule(
        "raw_crm_activities",
        "client_id_missing",
        "missing key client_id",
        "quarantine",
        _missing("client_id"),
    ),
    Rule(
        "raw_crm_activities",
        "activity_type_unknown",
        f"activity_type not one of {', '.join(ACTIVITY_TYPES)}",
        "quarantine",
        f"lower(trim(activity_type)) NOT IN {ACTIVITY_TYPES} OR activity_type IS NULL",
    ),
    *_timestamp_rules("raw_crm_activities", "occurred_at"),
    _duplicates("raw_crm_activities", ("activity_id",), "crm_activities.csv"),
    # transactions.csv
    Rule(
        "raw_transactions",
        "transaction_id_missing",
        "missing key transaction_id",
        "quarantine",
        _missing("transaction_id"),
    ),
    Rule(
        "raw_transactions",
        "client_id_missing",
        "missing key client_id",
        "quarantine",
        _missing("client_id"),
    ),
    *_isin_rules("raw_transactions"),
    Rule(
        "raw_transactions",
        "side_unknown",
        "side not buy or sell",
        "quarantine",
        "lower(trim(side)) NOT IN ('buy', 'sell') OR side IS NULL",
    ),
    Rule(
        "raw_transactions",
        "quantity_not_positive",
        "quantity missing or not above zero",
        "quarantine",
        "quantity IS NULL OR quantity <= 0",
    ),
    Rule("raw_transactions", "price_negative", "negative price_eur", "quarantine", "price_eur < 0"),
    Rule("raw_transactions", "fee_negative", "negative fee_eur", "quarantine", "fee_eur < 0"),
    *_timestamp_rules("raw_transactions", "executed_at"),
    _duplicates("raw_transactions", ("transaction_id",), "transactions.csv"),
    # suppressions.csv
    Rule("raw_suppressions", "email_missing", "missing key email", "quarantine", _missing("email")),
    Rule(
        "raw_suppressions",
        "email_invalid",
        "suppressed address not valid (kept: it can do no harm)",
        "warn",
        f"NOT {_missing('email')} AND {_invalid_email('email')}",
    ),
)

MART_RULES: tuple[Rule, ...] = (
    Rule(
        "mart_client_rating_changes",
        "duplicate_client_change",
        "more than one row per client, change and business day",
        "hold",
        query=(
            "SELECT client_id, change_id, business_day, count(*) AS occurrences FROM {batch} "
            "GROUP BY client_id, change_id, business_day HAVING count(*) > 1"
        ),
    ),
    Rule(
        "mart_client_rating_changes",
        "eligible_but_opted_out_or_invalid",
        "a row marked eligible for a client who opted out or has no valid email",
        "hold",
        # With a JOIN, GE puts the batch in as "(query)" with no alias of its own
        # (PostgreSQL requires one for a derived table): the alias is ours.
        query=(
            "SELECT b.client_id, b.change_id FROM {batch} AS b "
            "LEFT JOIN main.dim_clients AS c ON b.client_id = c.client_id "
            "WHERE b.notify_eligible AND (c.client_id IS NULL OR NOT c.notify_opt_in "
            "OR NOT c.has_valid_email)"
        ),
    ),
    Rule(
        "mart_client_rating_changes",
        "eligible_without_advisor",
        "a row marked eligible whose client has no known advisor",
        "hold",
        query=(
            "SELECT b.client_id, b.change_id FROM (SELECT * FROM {batch}) AS b "
            "WHERE b.notify_eligible AND (b.advisor_id IS NULL "
            "OR b.advisor_id NOT IN (SELECT advisor_id FROM main.dim_advisors))"
        ),
    ),
    Rule(
        "mart_client_rating_changes",
        "rating_not_on_scale",
        "a previous or new rating that is not on the rating scale",
        "hold",
        "previous_rating NOT IN (SELECT rating_code FROM reference.rating_scale) "
        "OR new_rating NOT IN (SELECT rating_code FROM reference.rating_scale) "
        "OR previous_rating IS NULL OR new_rating IS NULL",
    ),
    Rule(
        "mart_client_rating_changes",
        "not_affected",
        "a row whose position is not above zero",
        "hold",
        "quantity IS NULL OR quantity <= 0",
    ),
)

ALL_RULES: tuple[Rule, ...] = RAW_RULES + MART_RULES
# Each rule by (suite, name): how a checkpoint's result finds its rule.
RULES_BY_KEY: Mapping[tuple[str, str], Rule] = {(rule.suite, rule.name): rule for rule in ALL_RULES}


def rules_of(suite: str) -> tuple[Rule, ...]:
    return tuple(rule for rule in ALL_RULES if rule.suite == suite)


def raw_suite(file_kind: str) -> str:
    return f"raw_{file_kind}"
