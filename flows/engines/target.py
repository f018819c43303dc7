"""The warehouse engine that ``VOTUM_DBT_TARGET`` chooses: where dbt builds the models
and where the mart quality suites run.

Whatever the target, the DuckDB file ``VOTUM_HOME/warehouse.duckdb`` is votum's landing
and operational store: ingest loads the drop there, the raw quality gate and the
quarantine work there, and the delivery ledger, the run ledger and the journal stay
beside the process that sends, so that exactly-once never depends on a remote server.

* ``duckdb`` (default): dbt builds inside that file; nothing is copied.
* ``postgres``: the raw layer is bulk-copied to PostgreSQL (``COPY``), dbt builds and the
  mart suites run there, and the built marts are mirrored back into the DuckDB file,
  where planning and the reports read them (:mod:`flows.engines.postgres`).
* ``spark``: the same through Parquet and dbt-spark's session (:mod:`flows.engines.spark`,
  imported only when chosen: pyspark starts a JVM).

Switching a deployment is the setting; the flows call the three functions below.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import date
from types import ModuleType

from flows.errors import ConfigurationError
from flows.quality.gates import RuleOutcome, run_checkpoint
from flows.quality.gx_project import MART_CHECKPOINT
from flows.settings import Settings
from flows.transform import DAILY_BUILD_EXCLUDES, DbtResult, build_marts, invoke_dbt

TARGETS = ("duckdb", "postgres", "spark")


def checked_target(settings: Settings) -> str:
    """The target of the settings, refused early when votum does not know it."""
    if settings.dbt_target not in TARGETS:
        raise ConfigurationError(
            f"VOTUM_DBT_TARGET={settings.dbt_target!r} is not a warehouse votum knows; "
            "use one of " + ", ".join(TARGETS)
        )
    return settings.dbt_target


def _spark() -> ModuleType:
    try:
        # Imported only when chosen: pyspark is an optional extra and starts a JVM.
        return importlib.import_module("flows.engines.spark")
    except ImportError as exc:
        raise ConfigurationError(
            "VOTUM_DBT_TARGET=spark needs the 'spark' extra (dbt-spark, pyspark; Java 17): "
            f"pip install 'votum[spark]' ({exc})"
        ) from exc


def build_day(settings: Settings, run_date: date, *, full_refresh: bool = False) -> DbtResult:
    """``dbt build`` of every model for business day ``run_date`` on the target; on a
    remote target the raw layer is published there first."""
    target = checked_target(settings)
    if target == "postgres":
        from flows.engines.postgres import build_marts_on_postgres

        return build_marts_on_postgres(settings, run_date, full_refresh=full_refresh)
    if target == "spark":
        result: DbtResult = _spark().build_marts_on_spark(
            settings, run_date, full_refresh=full_refresh
        )
        return result
    return build_marts(settings, run_date, full_refresh=full_refresh)


def build_selected(settings: Settings, select: Sequence[str]) -> DbtResult:
    """``dbt build --select ...`` on the target (the weekly report's adoption models),
    after publishing the raw layer as it stands (the ledger's latest send times)."""
    target = checked_target(settings)
    if target == "postgres":
        from flows.engines.postgres import publish_raw_layer

        publish_raw_layer(settings, None)
    elif target == "spark":
        _spark().publish_raw_layer(settings, None)
    return invoke_dbt(settings, ["build", "--select", *select, *DAILY_BUILD_EXCLUDES])


def mart_rule_outcomes(settings: Settings) -> list[RuleOutcome]:
    """The mart quality suites, validated where the marts were built."""
    target = checked_target(settings)
    if target == "postgres":
        from flows.engines.postgres import check_marts_on_postgres

        return check_marts_on_postgres(settings)
    if target == "spark":
        outcomes: list[RuleOutcome] = _spark().check_marts_on_spark(settings)
        return outcomes
    return run_checkpoint(settings, MART_CHECKPOINT)


def mirror_marts(settings: Settings) -> int:
    """Bring the relations a remote target built into the DuckDB file; the rows copied
    (0 on DuckDB, where they are built in place)."""
    target = checked_target(settings)
    if target == "postgres":
        from flows.engines import postgres

        return postgres.mirror_marts(settings).total_rows
    if target == "spark":
        total: int = _spark().mirror_marts(settings).total_rows
        return total
    return 0
