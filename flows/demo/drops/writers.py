"""Writing the drop files through DuckDB in a fixed row order (CSV or Parquet), each
atomically; removing files of the drop contract a run did not write."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa

from flows.demo.drops import names
from flows.demo.drops.arrays import I64, FileFormat, dictionary
from flows.demo.drops.bank import Bank
from flows.demo.drops.holdings import holdings_table
from flows.demo.drops.master_data import FIRST_EMAIL, FIRST_NAMES, LAST_EMAIL, LAST_NAMES
from flows.demo.drops.ratings import RatingRows, ratings_table

# Every file name of the drop contract (SPEC.md, "Input: the daily drop").
DROP_FILE_NAMES: Final[tuple[str, ...]] = (
    "ratings",
    "holdings",
    "clients",
    "advisors",
    "crm_activities",
    "transactions",
    "suppressions",
)


OPT_IN_TEXTS: Final = ("true", "false", "ja", "nein", "1", "0")


_LOCAL_PART_SQL: Final = """
    CASE pattern
        WHEN 0 THEN f || '.' || l
        WHEN 1 THEN f || '_' || l
        WHEN 2 THEN left(f, 1) || '.' || l
        WHEN 3 THEN l || '.' || f
        WHEN 4 THEN f || '.' || l || lpad(year::VARCHAR, 2, '0')
        ELSE f || l
    END"""


# A repeated address gets ".2", ".3", ... before the @: no base address ends like that.
_EMAIL_SQL: Final = """
    CASE cl.kind
        WHEN 0 THEN e.local || CASE WHEN e.dup > 0 THEN '.' || (e.dup + 1)::VARCHAR ELSE '' END
            || '@' || e.dom
        WHEN 1 THEN e.local || '.' || e.dom
        WHEN 2 THEN cl.f || ' ' || cl.l || '@' || e.dom
        WHEN 3 THEN cl.f || '..' || cl.l || '@' || e.dom
        WHEN 4 THEN e.local || '@' || e.dom || '.'
    END"""


_CSV_OPTIONS: Final = (
    "FORMAT csv, HEADER true, DELIMITER ',', DATEFORMAT '%Y-%m-%d', "
    "TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S'"
)


def _quantity_sql(column: str, file_format: FileFormat) -> str:
    """Thousandths as a number: whole numbers without decimals in CSV."""
    exact = f"({column} / 1000)::DECIMAL(18,3)"
    if file_format == "parquet":
        return exact
    return (
        f"CASE WHEN {column} % 1000 = 0 THEN ({column} // 1000)::VARCHAR ELSE {exact}::VARCHAR END"
    )


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DropWriter:
    """Writes the files of the drops through DuckDB, in a fixed row order."""

    def __init__(self, bank: Bank, file_format: FileFormat) -> None:
        self.bank = bank
        self.format: FileFormat = file_format
        self.con = duckdb.connect()
        self.con.execute("SET preserve_insertion_order = true")
        self._register_clients()
        self._new_emails(np.arange(bank.clients.count, dtype=np.int64), initial=True)

    def close(self) -> None:
        self.con.close()

    def _register_clients(self) -> None:
        c = self.bank.clients
        self.con.register(
            "cl",
            pa.table(
                {
                    "idx": np.arange(c.count, dtype=np.int32),
                    "first_name": dictionary(c.first, FIRST_NAMES),
                    "last_name": dictionary(c.last, LAST_NAMES),
                    "f": dictionary(c.first, FIRST_EMAIL),
                    "l": dictionary(c.last, LAST_EMAIL),
                    "language": dictionary(c.english.astype(np.int32), ["de", "en"]),
                    "advisor": (c.advisor + 1).astype(np.int32),
                    "opt_in": c.opt_in,
                    "opt_text": dictionary(c.opt_form * 2 + (~c.opt_in), OPT_IN_TEXTS),
                    "kind": c.email_kind,
                }
            ),
        )

    def _new_emails(self, who: I64, *, initial: bool = False) -> None:
        """(Re)build the addresses of clients ``who``, numbering repeated addresses."""
        c = self.bank.clients
        self.con.register(
            "newmail",
            pa.table(
                {
                    "idx": who.astype(np.int32),
                    "f": dictionary(c.first[who], FIRST_EMAIL),
                    "l": dictionary(c.last[who], LAST_EMAIL),
                    "pattern": c.email_pattern[who],
                    "year": c.email_year[who],
                    "dom": dictionary(c.email_domain[who], names.CLIENT_EMAIL_DOMAINS),
                }
            ),
        )
        base = f"SELECT idx, {_LOCAL_PART_SQL} AS local, dom FROM newmail"
        if initial:
            self.con.execute(
                f"""CREATE OR REPLACE TABLE emails AS
                SELECT idx, local, dom,
                    (row_number() OVER (PARTITION BY local, dom ORDER BY idx) - 1)::INTEGER AS dup
                FROM ({base}) ORDER BY idx"""
            )
        else:
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE changed AS
                WITH b AS ({base}),
                taken AS (
                    SELECT local, dom, max(dup) AS top FROM emails
                    WHERE idx NOT IN (SELECT idx FROM newmail) GROUP BY local, dom)
                SELECT b.idx, b.local, b.dom,
                    (coalesce(taken.top + 1, 0)
                     + row_number() OVER (PARTITION BY b.local, b.dom ORDER BY b.idx) - 1
                    )::INTEGER AS dup
                FROM b LEFT JOIN taken USING (local, dom)"""
            )
            self.con.execute(
                """UPDATE emails SET local = changed.local, dom = changed.dom, dup = changed.dup
                FROM changed WHERE emails.idx = changed.idx"""
            )
        self.con.unregister("newmail")

    def client_changes(self, who: I64) -> None:
        self._register_clients()
        if len(who):
            self._new_emails(who)

    def _copy(self, folder: Path, name: str, table: pa.Table | None, select: str) -> Path:
        """COPY ``select`` (over ``src``) into ``folder/name.<format>``, atomically."""
        target = folder / f"{name}.{self.format}"
        temporary = folder / f".{name}.{self.format}.tmp"
        options = _CSV_OPTIONS if self.format == "csv" else "FORMAT parquet"
        if table is not None:
            self.con.register("src", table)
        try:
            self.con.execute(f"COPY ({select}) TO {_sql_literal(str(temporary))} ({options})")
        finally:
            if table is not None:
                self.con.unregister("src")
        os.replace(temporary, target)
        return target

    def ratings(self, folder: Path, rows: RatingRows) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        return self._copy(
            folder,
            "ratings",
            ratings_table(self.bank, rows),
            """SELECT isin, security_name, rating, rated_at::TIMESTAMP AS rated_at, analyst,
                (target_cents / 100)::DECIMAL(18,2) AS target_price, currency FROM src""",
        )

    def holdings(self, folder: Path, day: date) -> Path:
        return self._copy(
            folder,
            "holdings",
            holdings_table(self.bank),
            f"""SELECT printf('C%07d', client) AS client_id, isin,
                {_quantity_sql("qty", self.format)} AS quantity,
                (value_cents / 100)::DECIMAL(18,2) AS market_value_eur,
                DATE '{day.isoformat()}' AS as_of FROM src""",
        )

    def clients(self, folder: Path) -> Path:
        opt_in = "cl.opt_text" if self.format == "csv" else "cl.opt_in"
        return self._copy(
            folder,
            "clients",
            None,
            f"""SELECT printf('C%07d', cl.idx + 1) AS client_id, cl.first_name, cl.last_name,
                {_EMAIL_SQL} AS email, cl.language, printf('A%04d', cl.advisor) AS advisor_id,
                {opt_in} AS notify_opt_in
            FROM cl JOIN emails e USING (idx) ORDER BY cl.idx""",
        )

    def advisors(self, folder: Path) -> Path:
        a = self.bank.advisors
        table = pa.table(
            {
                "advisor_id": [f"A{i + 1:04d}" for i in range(a.count)],
                "name": a.names,
                "email": a.emails,
                "branch": dictionary(a.branch, a.branch_names),
                "manager_email": dictionary(a.branch, a.manager_emails),
            }
        )
        return self._copy(folder, "advisors", table, "SELECT * FROM src")

    def activities(self, folder: Path, table: pa.Table) -> Path:
        return self._copy(
            folder,
            "crm_activities",
            table,
            """SELECT printf('ACT%08d', id) AS activity_id, printf('A%04d', advisor) AS advisor_id,
                printf('C%07d', client) AS client_id, type AS activity_type,
                occurred_at::TIMESTAMP AS occurred_at, isin FROM src""",
        )

    def transactions(self, folder: Path, table: pa.Table) -> Path:
        return self._copy(
            folder,
            "transactions",
            table,
            f"""SELECT printf('TX%09d', id) AS transaction_id, printf('C%07d', client) AS client_id,
                isin, side, {_quantity_sql("qty", self.format)} AS quantity,
                (price_cents / 100)::DECIMAL(18,2) AS price_eur,
                executed_at::TIMESTAMP AS executed_at,
                -- The commission: 0.25 % of the volume in whole cents (half up, exact in
                -- integers: qty is thousandths), at least 9.90 and at most 75 EUR; every
                -- seventh trade comes without it (estimated, or volume only).
                CASE WHEN id % 7 = 0 THEN NULL
                     ELSE greatest(990, least(7500,
                         (qty::HUGEINT * price_cents + 200000) // 400000)) / 100
                END::DECIMAL(18,2) AS fee_eur
            FROM src""",
        )

    def suppressions(self, folder: Path, table: pa.Table) -> Path:
        return self._copy(
            folder,
            "suppressions",
            table,
            f"""SELECT {_EMAIL_SQL} AS email, s.suppressed_at::TIMESTAMP AS suppressed_at,
                s.reason
            FROM src s JOIN cl USING (idx) JOIN emails e USING (idx)
            ORDER BY s.suppressed_at, s.idx""",
        )


def remove_stale_files(folder: Path, written: set[Path]) -> None:
    """Drop-contract files in ``folder`` that this run did not write (an earlier run's,
    or the other format's) would mix two runs: remove them."""
    for name in DROP_FILE_NAMES:
        for extension in ("csv", "parquet"):
            path = folder / f"{name}.{extension}"
            if path not in written and path.exists():
                path.unlink()
