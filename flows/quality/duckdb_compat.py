"""Great Expectations 1.x on DuckDB: the smallest fix that makes it count right.

DuckDB is not one of GE's dialects. Through duckdb-engine every expectation "runs", but
returns ``success=False`` with an empty result: GE opens a connection for each query,
reads the rows after giving the connection back to the pool, and duckdb-engine then
yields nothing (GE swallows the ``list index out of range`` that follows). GE already
knows this pattern from SQLite and SQL Server, whose temporary tables live in one
connection: for the dialects in ``_PERSISTED_CONNECTION_DIALECTS`` it keeps a single
connection (a ``StaticPool``) for the engine's life. We add DuckDB to that list, in the
two places that consult it.

Regular expressions: GE builds regex conditions from the engine's ``dialect_module``,
which it leaves empty for dialects it does not know. duckdb-engine's dialect derives
from PostgreSQL's and DuckDB understands PostgreSQL's ``~`` operator, so we hand GE the
PostgreSQL dialect module for DuckDB engines.

``tests/quality/test_duckdb_compat.py`` checks observed counts on a known-bad table
(not only ``success``): if a GE release changes either mechanism, it fails loudly.
"""

from __future__ import annotations

from typing import Any

_INSTALLED = False


class _DialectName(str):
    """A dialect name as GE's enum members look to the code that reads them."""

    @property
    def value(self) -> str:
        return str(self)


def install() -> None:
    """Apply the fix once per process (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    import sqlalchemy.dialects.postgresql as postgresql_dialect
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    requires_persisted = engine._dialect_requires_persisted_connection

    def _requires_persisted_connection(
        connection_string: str | None = None,
        credentials: dict[str, Any] | None = None,
        url: str | None = None,
    ) -> bool:
        target = connection_string or (credentials or {}).get("drivername") or url or ""
        if str(target).startswith("duckdb"):
            return True
        return bool(
            requires_persisted(
                connection_string=connection_string, credentials=credentials, url=url
            )
        )

    engine._dialect_requires_persisted_connection = _requires_persisted_connection
    # get_connection() tests `dialect_name in _PERSISTED_CONNECTION_DIALECTS`; GE's enum
    # compares equal to its own name as a string, and GE's own check of other URLs reads
    # each member's `.value`: a string that has one fits in the tuple for both.
    engine._PERSISTED_CONNECTION_DIALECTS = (  # type: ignore[assignment]
        *engine._PERSISTED_CONNECTION_DIALECTS,
        _DialectName("duckdb"),
    )

    original_init = engine.SqlAlchemyExecutionEngine.__init__

    def _init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if (
            getattr(self.engine, "dialect", None) is not None
            and self.engine.dialect.name == "duckdb"
        ):
            self.dialect_module = postgresql_dialect

    engine.SqlAlchemyExecutionEngine.__init__ = _init  # type: ignore[method-assign]
    _INSTALLED = True
