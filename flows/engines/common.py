"""What the remote engines (:mod:`flows.engines.postgres`, :mod:`flows.engines.spark`)
share: the dbt sources they receive from the DuckDB warehouse, the relations the last
dbt build made, and replacing tables in DuckDB when the built marts come back."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml  # type: ignore[import-untyped]

from flows.errors import ConfigurationError, WarehouseError
from flows.settings import Settings
from flows.warehouse import open_warehouse

# Of the delivery ledger dbt reads only when each email went out (stg_ops__delivery_ledger);
# the payloads and addresses stay in the DuckDB warehouse and are not published.
COLUMNS_READ_BY_DBT: dict[tuple[str, str], tuple[str, ...]] = {
    ("ops", "delivery_ledger"): (
        "message_key",
        "kind",
        "business_day",
        "recipient_id",
        "status",
        "sent_at",
    ),
}


@dataclass(frozen=True)
class SourceTable:
    schema: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class CopySummary:
    rows: dict[str, int]
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def source_tables(project_dir: Path) -> tuple[SourceTable, ...]:
    """Every table the dbt project declares as a source (``sources:`` of its YAML files),
    in a stable order."""
    tables: set[SourceTable] = set()
    for path in sorted((project_dir / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in document.get("sources") or ():
            schema = source.get("schema") or source["name"]
            for table in source.get("tables") or ():
                tables.add(SourceTable(schema, table.get("identifier") or table["name"]))
    if not tables:
        raise ConfigurationError(f"The dbt project {project_dir} declares no sources")
    return tuple(sorted(tables, key=lambda t: (t.schema, t.name)))


def source_columns(con: duckdb.DuckDBPyConnection, table: SourceTable) -> list[tuple[str, str]]:
    """Name and DuckDB type of each column of a source that leaves the warehouse (of the
    delivery ledger only :data:`COLUMNS_READ_BY_DBT`)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [table.schema, table.name],
    ).fetchall()
    if not rows:
        raise WarehouseError(
            f"The DuckDB warehouse has no table {table.qualified}, a source of the dbt "
            "project: run `votum run` for a day first."
        )
    wanted = COLUMNS_READ_BY_DBT.get((table.schema, table.name))
    return [(str(name), str(type_)) for name, type_ in rows if wanted is None or name in wanted]


def manifest_nodes(settings: Settings) -> list[dict[str, Any]] | None:
    """The models and seeds of the last dbt build (its ``manifest.json``), or None when
    nothing was built yet."""
    path = settings.dbt_target_path / "manifest.json"
    if not path.exists():
        return None
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return [
        node for node in manifest["nodes"].values() if node["resource_type"] in ("model", "seed")
    ]


def quoted(name: str) -> str:
    """A DuckDB (and PostgreSQL) identifier."""
    return '"' + name.replace('"', '""') + '"'


# The SELECT that fills a replaced table, given the DuckDB connection and the columns of
# the table it replaces (empty when there is none).
SelectFor = Callable[[duckdb.DuckDBPyConnection, list[str]], str]


def replace_tables(
    path: Path, replacements: Sequence[tuple[str, str, SelectFor]], *, engine: str
) -> dict[str, int]:
    """Replace tables of the DuckDB warehouse at ``path``, each ``(schema, name,
    select_for)`` by what its SELECT reads, in one transaction: a reader sees the old
    marts or the new ones. A view of an earlier DuckDB build under the same name is
    dropped first. Returns the rows of each table."""
    rows: dict[str, int] = {}
    with open_warehouse(path) as con:
        con.execute("BEGIN TRANSACTION")
        relation = ""
        try:
            for schema, name, select_for in replacements:
                relation = f"{schema}.{name}"
                target = f"{quoted(schema)}.{quoted(name)}"
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}")
                kind = con.execute(
                    "SELECT table_type FROM information_schema.tables "
                    "WHERE table_schema = ? AND table_name = ?",
                    [schema, name],
                ).fetchone()
                existing = [
                    str(column)
                    for (column,) in con.execute(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                        [schema, name],
                    ).fetchall()
                ]
                select = select_for(con, existing)
                if kind is not None and kind[0] == "VIEW":
                    con.execute(f"DROP VIEW {target}")
                con.execute(f"CREATE OR REPLACE TABLE {target} AS {select}")
                count = con.execute(f"SELECT count(*) FROM {target}").fetchone()
                rows[relation] = int(count[0]) if count else 0
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(
                f"Mirroring {relation} from {engine} into the DuckDB warehouse failed, "
                f"nothing was replaced: {exc}"
            ) from exc
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    return rows
