"""What a drop may contain: the files, their columns and the type each column is loaded
as, and the lineage columns every raw table gets. The one place that knows the input
contract of ``SPEC.md``: a contract of the whole package, below everything that reads it
(the warehouse's raw tables, ingest, the quality suites, explain, the generator's tests).

Numbers are typed when loaded (the CSV reader understands a decimal comma), so that a
10-million-row holdings file is stored compactly and fast. Dates and timestamps stay
text in the raw layer because a drop may mix dates, timestamps and German formats in
one column; staging parses them. Values that cannot be read as their type are not
loaded; they are kept, with file, line and column, in ``raw.rejected_rows``.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT = "VARCHAR"
QUANTITY = "DECIMAL(18,4)"
MONEY = "DECIMAL(18,2)"
PRICE = "DECIMAL(18,4)"


@dataclass(frozen=True)
class Column:
    name: str
    type: str = TEXT
    required: bool = True


@dataclass(frozen=True)
class DropFile:
    """One file kind of a drop, e.g. ``holdings``."""

    name: str
    required: bool
    columns: tuple[Column, ...]
    keys: tuple[str, ...]

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def file_names(self) -> tuple[str, str]:
        return (f"{self.name}.csv", f"{self.name}.parquet")


def _opt(name: str, type_: str = TEXT) -> Column:
    return Column(name, type_, required=False)


DROP_FILES: tuple[DropFile, ...] = (
    DropFile(
        "ratings",
        required=True,
        columns=(
            Column("isin"),
            Column("security_name"),
            Column("rating"),
            Column("rated_at"),
            _opt("analyst"),
            _opt("target_price", PRICE),
            _opt("currency"),
        ),
        keys=("isin", "rated_at"),
    ),
    DropFile(
        "holdings",
        required=True,
        columns=(
            Column("client_id"),
            Column("isin"),
            Column("quantity", QUANTITY),
            Column("market_value_eur", MONEY),
            Column("as_of"),
        ),
        keys=("client_id", "isin"),
    ),
    DropFile(
        "clients",
        required=False,
        columns=(
            Column("client_id"),
            Column("first_name"),
            Column("last_name"),
            Column("email"),
            Column("language"),
            Column("advisor_id"),
            Column("notify_opt_in"),
        ),
        keys=("client_id",),
    ),
    DropFile(
        "advisors",
        required=False,
        columns=(
            Column("advisor_id"),
            Column("name"),
            Column("email"),
            Column("branch"),
            Column("manager_email"),
        ),
        keys=("advisor_id",),
    ),
    DropFile(
        "crm_activities",
        required=False,
        columns=(
            Column("activity_id"),
            Column("advisor_id"),
            Column("client_id"),
            Column("activity_type"),
            Column("occurred_at"),
            _opt("isin"),
        ),
        keys=("activity_id",),
    ),
    DropFile(
        "transactions",
        required=False,
        columns=(
            Column("transaction_id"),
            Column("client_id"),
            Column("isin"),
            Column("side"),
            Column("quantity", QUANTITY),
            Column("price_eur", PRICE),
            Column("executed_at"),
            _opt("fee_eur", MONEY),  # commission charged; missing: estimated or unknown
        ),
        keys=("transaction_id",),
    ),
    DropFile(
        "suppressions",
        required=False,
        columns=(
            Column("email"),
            Column("suppressed_at"),
            _opt("reason"),
        ),
        keys=("email",),
    ),
)

DROP_FILES_BY_NAME: dict[str, DropFile] = {f.name: f for f in DROP_FILES}

# Columns every raw table carries besides the file's own columns. A row's file is
# identified by (table, _drop_date, _source_file); its content hash, size and load time
# are in raw.drop_files (a 64-character hash repeated on 10 million rows costs a second
# of load time and says nothing more).
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_drop_date", "DATE"),
    ("_source_file", TEXT),
)
