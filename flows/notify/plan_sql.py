"""The day's plan in DuckDB SQL: the grouping, ordering and JSON payloads of
:func:`flows.notify.plan.build_digests` and :func:`~flows.notify.plan.build_worklists`,
the eligibility of :func:`~flows.notify.plan.decide_eligibility` and the ledger rows of
:func:`~flows.notify.plan.planned_messages`, byte for byte (tests/notify/test_plan_sql.py
compares both on varied data). Pure: functions return SQL text.

Statements over temporary tables, given the marts' column types (the text of a value
depends on its type, see :mod:`flows.notify.json_sql`):

1. :func:`source_sql`: the day's mart rows and the carried ones (``plan_source``);
2. :func:`history_sql`: the rating history of their ISINs as JSON (``plan_history``);
3. :func:`changes_sql`: each distinct rating change of the day with its fields as JSON
   (``plan_changes``);
4. :func:`lines_sql`: each row decided (eligible, reason), its client's digest language
   and its place in the digest and in the worklist (``plan_lines``);
5. :func:`worklists_sql`: each worklist's head: advisor, address, whether it can be sent
   (``plan_worklists``);
6. :func:`messages_sql`: a SELECT of one ledger row per digest and per worklist, for
   :func:`flows.notify.ledger.upsert_planned_select`.
"""

from __future__ import annotations

from collections.abc import Mapping

from flows.email_rule import EMAIL_PATTERN, MAX_ADDRESS_LENGTH
from flows.notify.carry import CARRY_TABLE
from flows.notify.json_sql import (
    PythonValues,
    json_bool,
    json_float,
    json_object,
    json_string,
    python_float,
    python_strip,
    sql_literal,
)
from flows.notify.ledger import ADVISOR_WORKLIST, CLIENT_DIGEST, DISCARDED, FAILED
from flows.notify.payloads import (
    AdvisorContact,
    AdvisorWorklist,
    ClientDigest,
    HoldingChange,
    RatingPoint,
    WorklistLine,
)

SOURCE, HISTORY, CHANGES = "plan_source", "plan_history", "plan_changes"
LINES, WORKLISTS = "plan_lines", "plan_worklists"
TEMP_TABLES = (SOURCE, HISTORY, CHANGES, LINES, WORKLISTS)
DISCARDED_REASON = "the day was discarded"

# Besides the day's own lines: the changes of intraday batches waiting for this morning's
# digest (flows/notify/carry.py: of any earlier day, processed before this day's morning
# digests were first planned, and taken by no earlier morning) that an eligible client
# was not emailed about (the daily limit of intraday emails), unless an earlier email
# already carried them. Parameters: $day, $carry_from (the earliest day of those batches,
# or NULL: none).
_SOURCE = f"""
CREATE OR REPLACE TEMP TABLE {SOURCE} AS
SELECT * FROM mart_notification_lines
WHERE business_day = $day AND batch_id IS NULL
UNION ALL
SELECT * FROM mart_notification_lines AS lines
WHERE batch_id IS NOT NULL AND notify_eligible
  AND business_day >= $carry_from AND business_day < $day
  AND EXISTS (
      SELECT 1 FROM {CARRY_TABLE} AS carry
      WHERE carry.business_day = lines.business_day AND carry.batch_id = lines.batch_id
        AND carry.carried_into = $day)
  AND NOT EXISTS (
      SELECT 1 FROM ops.delivery_ledger AS ledger
      WHERE ledger.recipient_id = lines.client_id
        AND ledger.kind IN ('client_intraday', 'client_digest')
        AND ledger.business_day < $day
        AND list_contains(string_split(ledger.change_ids, ','), lines.change_id))
"""


def source_sql() -> str:
    return _SOURCE


def address_usable(expr: str) -> str:
    """``address_problem(value) is None`` for a VARCHAR (not NULL): the pattern allows
    no empty text, no CR, LF or NUL, so what remains is the pattern and the length."""
    return (
        f"(regexp_full_match({expr}, {sql_literal(EMAIL_PATTERN)}) "
        f"AND length({expr}) <= {MAX_ADDRESS_LENGTH})"
    )


def address_problem(expr: str) -> str:
    """:func:`flows.notify.addresses.address_problem` of a VARCHAR (not NULL)."""
    return (
        f"CASE WHEN {expr} = '' THEN 'no email address' "
        f"WHEN contains({expr}, chr(13)) OR contains({expr}, chr(10)) "
        f"OR contains({expr}, chr(0)) THEN 'email address contains a line break or NUL' "
        f"WHEN length({expr}) > {MAX_ADDRESS_LENGTH} "
        f"THEN 'email address longer than {MAX_ADDRESS_LENGTH} characters' "
        f"WHEN NOT regexp_full_match({expr}, {sql_literal(EMAIL_PATTERN)}) "
        "THEN 'not a valid email address' END"
    )


def _label(columns: PythonValues, which: str, language: str) -> str:
    """_label(): ``str(line[f"{which}_label_{language}"] or line[f"{which}_rating"])``."""
    rating = columns.str_of(f"{which}_rating")
    return columns.text_or(f"{which}_label_{language}", rating)


def _by_language(columns: PythonValues, which: str, english: str) -> str:
    """The label's JSON in the language ``english`` (SQL, a BOOLEAN) says."""
    return (
        f"CASE WHEN {english} THEN {json_string(_label(columns, which, 'en'))} "
        f"ELSE {json_string(_label(columns, which, 'de'))} END"
    )


def non_ascii_emails_sql(types: Mapping[str, str]) -> str:
    """The eligible lines' stripped addresses with other than ASCII characters."""
    c = PythonValues(types)
    stripped = python_strip(c.text_or("email", "''"))
    return f"""
SELECT DISTINCT stripped_email FROM (
    SELECT {stripped} AS stripped_email FROM {SOURCE} WHERE {c.truthy("notify_eligible")})
WHERE strlen(stripped_email) <> length(stripped_email)
"""


def history_sql(types: Mapping[str, str]) -> str:
    """``plan_history``: each ISIN's publications over the twelve months up to the day,
    in both languages, as the JSON of its RatingPoint list: for every ISIN of
    ``plan_source``, the day's changes and the carried ones alike, as
    :func:`flows.notify.plan.read_history` gives them. Parameters: ``$day``,
    ``$history_from``."""
    c = PythonValues(types)
    english = "language = 'en'"
    label = f"CASE WHEN {english} THEN label_en_text ELSE label_de_text END"
    point = json_object(
        RatingPoint,
        {
            "rated_at": json_string(c.str_of("rated_at", iso=True)),
            "rating": json_string(c.str_of("rating_code")),
            "label": json_string(label),
        },
    )
    return f"""
CREATE OR REPLACE TEMP TABLE {HISTORY} AS
WITH planned_isins AS (
    SELECT DISTINCT CAST(isin AS VARCHAR) AS isin FROM {SOURCE}
),
publications AS (
    SELECT history.*,
        {c.text_or("label_de", c.str_of("rating_code"))} AS label_de_text,
        {c.text_or("label_en", c.str_of("rating_code"))} AS label_en_text
    FROM mart_rating_history AS history
    WHERE history.isin IN (SELECT isin FROM planned_isins)
      AND history.rated_at >= $history_from AND history.drop_date <= $day
)
SELECT {c.str_of("isin")} AS history_isin, language = 'en' AS history_english,
    '[' || string_agg({point}, ',' ORDER BY rated_at, drop_date, rating_code) || ']'
        AS history_json
FROM publications CROSS JOIN (VALUES ('de'), ('en')) AS languages (language)
GROUP BY ALL
"""


# What a line says about the rating change itself: the same for every client holding the
# security, so written as JSON once per distinct change (tens a day, not 130,000 times).
CHANGE_COLUMNS = (
    "change_id", "isin", "security_name", "change_type", "previous_rating",
    "previous_label_de", "previous_label_en", "new_rating", "new_label_de", "new_label_en",
    "changed_on", "rated_at", "previous_rated_at", "target_price", "currency", "analyst",
)  # fmt: skip


def changes_sql(types: Mapping[str, str], advisor_language: str) -> str:
    """``plan_changes``: each distinct combination of the change columns of the day's
    lines (``change_ref``), with the JSON of each of its fields (``j_...``; labels in both
    languages and in the advisors'), and the security's rating history in both
    languages. Needs ``plan_source`` and ``plan_history``."""
    c = PythonValues(types)
    columns = ", ".join(CHANGE_COLUMNS)
    fields = {
        "j_change_id": json_string(c.str_of("change_id")),
        "j_isin": json_string(c.str_of("isin")),
        "j_security_name": json_string(c.text_or("security_name", c.str_of("isin"))),
        "j_change_type": c.raw_json("change_type"),
        "j_previous_rating": json_string(c.str_of("previous_rating")),
        "j_previous_label_de": json_string(_label(c, "previous", "de")),
        "j_previous_label_en": json_string(_label(c, "previous", "en")),
        "j_new_rating": json_string(c.str_of("new_rating")),
        "j_new_label_de": json_string(_label(c, "new", "de")),
        "j_new_label_en": json_string(_label(c, "new", "en")),
        "j_previous_label_advisor": json_string(_label(c, "previous", advisor_language)),
        "j_new_label_advisor": json_string(_label(c, "new", advisor_language)),
        "j_changed_on": json_string(c.str_of("changed_on", iso=True)),
        "j_rated_at": json_string(c.text("rated_at", iso=True)),
        "j_previous_rated_at": json_string(c.text("previous_rated_at", iso=True)),
        "j_target_price": json_string(c.text("target_price")),
        "j_currency": json_string(c.text("currency")),
        "j_analyst": json_string(c.text("analyst")),
    }
    written = ",\n    ".join(f"{sql} AS {name}" for name, sql in fields.items())
    return f"""
CREATE OR REPLACE TEMP TABLE {CHANGES} AS
WITH changes AS (
    SELECT row_number() OVER () AS change_ref, *, {c.str_of("isin")} AS history_key
    FROM (SELECT DISTINCT {columns} FROM {SOURCE})
)
SELECT changes.* EXCLUDE (history_key),
    {written},
    coalesce(german.history_json, '[]') AS j_history_de,
    coalesce(english.history_json, '[]') AS j_history_en
FROM changes
LEFT JOIN {HISTORY} AS german
    ON german.history_isin = history_key AND NOT german.history_english
LEFT JOIN {HISTORY} AS english
    ON english.history_isin = history_key AND english.history_english
"""


def lines_sql(types: Mapping[str, str]) -> str:
    """``plan_lines``: each source row (``line_id``: its rowid) decided, with its keys,
    its place in its client's digest and its advisor's worklist, and its client's digest
    language; narrow, so that the windows move little. Parameters: ``$suppressed``
    (the journal's suppressed addresses), ``$suppressed_as_written`` (addresses with
    other than ASCII characters, stripped, as the mart has them, that Python's
    ``normalise_email`` finds suppressed: DuckDB's ``lower`` may differ from Python's
    there)."""
    c = PythonValues(types)
    same_change = " AND ".join(
        f"changes.{name} IS NOT DISTINCT FROM source.{name}" for name in CHANGE_COLUMNS
    )
    suppressed = (
        "CASE WHEN strlen(stripped_email) = length(stripped_email) "
        "THEN list_contains(CAST($suppressed AS VARCHAR[]), lower(stripped_email)) "
        "ELSE list_contains(CAST($suppressed_as_written AS VARCHAR[]), stripped_email) END"
    )
    eligible = c.truthy("notify_eligible")
    # The orders of build_digests (value, ISIN) and of worklist_order (value, client,
    # ISIN); the change id last, for a deterministic order among equals.
    digest_order = "position_value DESC, isin_order, change_key"
    worklist_order = "position_value DESC, client_order, isin_order, change_key"
    return f"""
CREATE OR REPLACE TEMP TABLE {LINES} AS
WITH stripped AS (
    SELECT source.rowid AS line_id, source.*, changes.change_ref,
        -- str(row.get("email") or "").strip()
        {python_strip(c.text_or("email", "''"))} AS stripped_email
    FROM {SOURCE} AS source
    JOIN {CHANGES} AS changes ON {same_change}
),
decided AS MATERIALIZED (
    SELECT line_id, change_ref, stripped_email,
        {eligible} AND NOT ({suppressed}) AND {address_usable("stripped_email")}
            AS decided_eligible,
        CASE WHEN NOT {eligible} THEN {c.text("ineligible_reason")}
             WHEN {suppressed} THEN 'suppressed'
             WHEN NOT {address_usable("stripped_email")} THEN 'invalid_email'
             ELSE {c.text("ineligible_reason")} END AS decided_reason,
        {c.str_of("client_id")} AS client_key,
        CASE WHEN {c.truthy("advisor_id")} THEN {c.text("advisor_id")} END AS advisor_key,
        {c.str_of("change_id")} AS change_key,
        {c.str_of("isin")} AS isin_key,
        {c.number("market_value_eur")} AS position_value,
        isin AS isin_order,
        client_id AS client_order,
        coalesce({c.text("language")} = 'en', false) AS speaks_english
    FROM stripped
)
SELECT decided.* EXCLUDE (position_value, isin_order, client_order, speaks_english),
    client_emailed, digest_english,
    CASE WHEN decided_eligible THEN rank_in_client END AS rank_in_digest,
    CASE WHEN decided_eligible THEN eligible_of_client END AS digest_size,
    rank_in_worklist
FROM decided
JOIN (
    -- eligible lines first: the first line says whether the client is emailed, and the
    -- language of the digest (its first holding's)
    SELECT line_id,
        first_value(decided_eligible) OVER by_client AS client_emailed,
        first_value(speaks_english) OVER by_client AS digest_english,
        row_number() OVER by_client AS rank_in_client,
        count(*) FILTER (WHERE decided_eligible) OVER (PARTITION BY client_key)
            AS eligible_of_client
    FROM decided
    WINDOW by_client AS (
        PARTITION BY client_key ORDER BY decided_eligible DESC, {digest_order})
) USING (line_id)
LEFT JOIN (
    SELECT line_id,
        row_number() OVER (PARTITION BY advisor_key ORDER BY {worklist_order})
            AS rank_in_worklist
    FROM decided
    WHERE advisor_key IS NOT NULL
) USING (line_id)
"""


def _worklist_key(advisor: str) -> str:
    return f"'{ADVISOR_WORKLIST}:' || $day_text || ':' || {advisor}"


def _failed_reason(advisor: str, problem: str) -> str:
    return f"'advisor ' || {advisor} || ': ' || {problem}"


def worklists_sql(types: Mapping[str, str]) -> str:
    """``plan_worklists``: each advisor's worklist head (from the first line of the
    worklist): name, branch, the address stripped, and why it cannot be used (or NULL)."""
    c = PythonValues(types)
    return f"""
CREATE OR REPLACE TEMP TABLE {WORKLISTS} AS
SELECT *, {address_problem("worklist_email")} AS problem
FROM (
    SELECT advisor_key,
        {c.text("advisor_name")} AS advisor_name_text,
        {c.text("branch")} AS branch_text,
        -- str(first.get("advisor_email") or "").strip()
        {python_strip(c.text_or("advisor_email", "''"))} AS worklist_email
    FROM {LINES} JOIN {SOURCE} ON {SOURCE}.rowid = {LINES}.line_id
    WHERE rank_in_worklist = 1
)
"""


def messages_sql(types: Mapping[str, str], advisor_language: str) -> str:
    """A SELECT of the ledger rows of the digests and worklists (the columns of
    :data:`flows.notify.ledger.LEDGER_PLAN_COLUMNS`), from ``plan_lines``,
    ``plan_source``, ``plan_changes`` and ``plan_worklists``. Parameters: ``$day``,
    ``$day_text``, ``$domain``, ``$advisor_language``, ``$status`` and ``$status_reason``
    (pending or held), ``$discarded``."""
    c = PythonValues(types)
    status = f"CASE WHEN $discarded THEN '{DISCARDED}' ELSE $status END"
    status_reason = f"CASE WHEN $discarded THEN '{DISCARDED_REASON}' ELSE $status_reason END"
    weight = json_float(python_float("portfolio_weight", c.types["portfolio_weight"]))
    holding = json_object(
        HoldingChange,
        {
            "change_id": "j_change_id",
            "isin": "j_isin",
            "security_name": "j_security_name",
            "change_type": "j_change_type",
            "previous_rating": "j_previous_rating",
            "previous_label": "CASE WHEN digest_english THEN j_previous_label_en "
            "ELSE j_previous_label_de END",
            "new_rating": "j_new_rating",
            "new_label": "CASE WHEN digest_english THEN j_new_label_en ELSE j_new_label_de END",
            "changed_on": "j_changed_on",
            "rated_at": "j_rated_at",
            "previous_rated_at": "j_previous_rated_at",
            "target_price": "j_target_price",
            "currency": "j_currency",
            "analyst": "j_analyst",
            "quantity": json_string(c.str_of("quantity")),
            "market_value_eur": json_string(c.str_of("market_value_eur")),
            "portfolio_weight": weight,
            "history": "CASE WHEN digest_english THEN j_history_en ELSE j_history_de END",
        },
    )
    advisor = json_object(
        AdvisorContact,
        {
            "advisor_id": json_string("advisor_key"),
            "name": json_string(c.text("advisor_name")),
            "email": json_string(c.text("advisor_email")),
        },
    )
    digest = json_object(
        ClientDigest,
        {
            "business_day": json_string("$day_text"),
            "client_id": json_string("client_key"),
            "first_name": json_string(c.text("first_name")),
            "last_name": json_string(c.text("last_name")),
            "email": json_string("stripped_email"),
            "language": "CASE WHEN digest_english THEN '\"en\"' ELSE '\"de\"' END",
            "advisor": f"CASE WHEN advisor_key IS NULL THEN 'null' ELSE {advisor} END",
            "holdings": ("'['", "holdings_json", "']'"),
            "batch": "'null'",
        },
    )
    name = (
        f"concat_ws(' ', CASE WHEN {c.truthy('first_name')} THEN {c.text('first_name')} END, "
        f"CASE WHEN {c.truthy('last_name')} THEN {c.text('last_name')} END)"
    )
    digest_key = f"'{CLIENT_DIGEST}:' || $day_text || ':' || client_key"
    worklist_line = json_object(
        WorklistLine,
        {
            "client_id": json_string("client_key"),
            "client_name": json_string(f"coalesce(nullif({name}, ''), client_key)"),
            "isin": "j_isin",
            "security_name": "j_security_name",
            "change_type": "j_change_type",
            "previous_label": "j_previous_label_advisor",
            "new_label": "j_new_label_advisor",
            "market_value_eur": json_string(c.str_of("market_value_eur")),
            "portfolio_weight": weight,
            "notify_eligible": json_bool("client_emailed"),
            "ineligible_reason": (
                "CASE WHEN client_emailed THEN 'null' ELSE "
                + json_string("coalesce(decided_reason, 'None')")
                + " END"
            ),
            "digest_key": (
                f"CASE WHEN client_emailed THEN {json_string(digest_key)} ELSE 'null' END"
            ),
        },
    )
    worklist = json_object(
        AdvisorWorklist,
        {
            "business_day": json_string("$day_text"),
            "advisor_id": json_string("advisor_key"),
            "advisor_name": json_string("advisor_name_text"),
            "email": json_string("worklist_email"),
            "branch": json_string("branch_text"),
            "language": json_string("$advisor_language"),
            "lines": ("'['", "lines_json", "']'"),
            "batch": "'null'",
        },
    )
    # " ".join(p for p in (digest.first_name, digest.last_name) if p) or None
    first, last = c.text("first_name"), c.text("last_name")
    recipient_name = f"nullif(concat_ws(' ', nullif({first}, ''), nullif({last}, '')), '')"

    def message_id(kind: str, recipient: str) -> str:
        parts = f"list_concat(['{kind}', $day_text, {recipient}], list_sort(change_ids))"
        digest = f"left(sha256(array_to_string({parts}, '|')), 40)"
        return f"'<' || {digest} || '.{kind}@' || $domain || '>'"

    return f"""
WITH planned_lines AS NOT MATERIALIZED (
    SELECT {SOURCE}.*, {LINES}.*, changes.* EXCLUDE (change_ref, {", ".join(CHANGE_COLUMNS)})
    FROM {LINES}
    JOIN {SOURCE} ON {SOURCE}.rowid = {LINES}.line_id
    JOIN {CHANGES} AS changes USING (change_ref)
),
holding_lines AS NOT MATERIALIZED (
    SELECT * FROM planned_lines WHERE decided_eligible
),
-- the holdings of a client with several, in order (one holding needs no aggregate)
several_holdings AS (
    SELECT client_key,
        string_agg({holding}, ',' ORDER BY rank_in_digest) AS holdings_json,
        list(change_key) AS change_ids
    FROM holding_lines
    WHERE digest_size > 1
    GROUP BY client_key
),
digests AS (
    SELECT *, {holding} AS holdings_json, [change_key] AS change_ids
    FROM holding_lines
    WHERE rank_in_digest = 1 AND digest_size = 1
    UNION ALL BY NAME
    SELECT holding_lines.*, several.holdings_json, several.change_ids
    FROM holding_lines JOIN several_holdings AS several USING (client_key)
    WHERE rank_in_digest = 1 AND digest_size > 1
),
digest_messages AS (
    SELECT {digest_key} AS message_key,
        '{CLIENT_DIGEST}' AS kind, client_key AS recipient_id,
        {recipient_name} AS recipient_name,
        stripped_email AS recipient_email,
        CASE WHEN digest_english THEN 'en' ELSE 'de' END AS language,
        {message_id(CLIENT_DIGEST, "client_key")} AS message_id,
        array_to_string(list_sort(list_distinct(change_ids)), ',') AS change_ids,
        {digest} AS payload
    FROM digests
),
worklist_lines AS (
    SELECT advisor_key,
        string_agg({worklist_line}, ',' ORDER BY rank_in_worklist) AS lines_json,
        list(client_key || '/' || isin_key) AS change_ids
    FROM planned_lines
    WHERE advisor_key IS NOT NULL
    GROUP BY advisor_key
),
worklist_messages AS (
    SELECT {_worklist_key("advisor_key")} AS message_key,
        '{ADVISOR_WORKLIST}' AS kind, advisor_key AS recipient_id,
        advisor_name_text AS recipient_name,
        nullif(worklist_email, '') AS recipient_email,
        $advisor_language AS language,
        {message_id(ADVISOR_WORKLIST, "advisor_key")} AS message_id,
        array_to_string(list_sort(list_distinct(change_ids)), ',') AS change_ids,
        {worklist} AS payload,
        problem
    FROM worklist_lines JOIN {WORKLISTS} USING (advisor_key)
)
SELECT message_key, kind, CAST($day AS DATE) AS business_day, recipient_id,
    recipient_name, recipient_email, language, message_id,
    sha256(payload) AS content_sha256, change_ids, payload,
    {status} AS status, {status_reason} AS status_reason
FROM digest_messages
UNION ALL
SELECT message_key, kind, CAST($day AS DATE), recipient_id, recipient_name,
    recipient_email, language, message_id, sha256(payload), change_ids, payload,
    CASE WHEN problem IS NOT NULL THEN '{FAILED}' ELSE {status} END,
    CASE WHEN problem IS NOT NULL THEN {_failed_reason("recipient_id", "problem")}
         ELSE {status_reason} END
FROM worklist_messages
"""


# What PlanResult reports: digests, worklists, lines, clients to call (a line not
# emailed), lines without an advisor.
COUNTS = f"""
SELECT
    count(*) FILTER (WHERE rank_in_digest = 1),
    count(*) FILTER (WHERE rank_in_worklist = 1),
    count(*),
    count(DISTINCT client_key) FILTER (WHERE NOT decided_eligible),
    count(*) FILTER (WHERE advisor_key IS NULL)
FROM {LINES}
"""
# The worklists planned as failed: their address cannot be used. Parameter: $day_text.
UNUSABLE = f"""
SELECT {_worklist_key("advisor_key")}, {_failed_reason("advisor_key", "problem")}
FROM {WORKLISTS} WHERE problem IS NOT NULL
"""
