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
import importlib.util
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


def _engine(name: str, extra: str, packages: Sequence[str]) -> ModuleType:
    """The engine module, imported only when chosen; a clear message when the packages of
    its optional extra (``pip install 'votum[<extra>]'``) are not installed. They are
    looked for first: the engine modules import them only where they use them."""
    try:
        for package in packages:
            if importlib.util.find_spec(package) is None:
                raise ModuleNotFoundError(f"No module named {package!r}", name=package)
        return importlib.import_module(f"flows.engines.{name}")
    except ImportError as exc:
        raise ConfigurationError(
            f"VOTUM_DBT_TARGET={name} needs the '{extra}' extra ({', '.join(packages)}): "
            f"pip install 'votum[{extra}]' (missing: {exc.name or exc})"
        ) from exc


def _spark() -> ModuleType:
    # pyspark starts a JVM: imported only when chosen.
    return _engine("spark", "spark", ("pyspark", "dbt.adapters.spark"))


def _postgres() -> ModuleType:
    return _engine("postgres", "postgres", ("psycopg2", "dbt.adapters.postgres"))


def build_day(settings: Settings, run_date: date, *, full_refresh: bool = False) -> DbtResult:
    """``dbt build`` of every model for business day ``run_date`` on the target; on a
    remote target the raw layer is published there first."""
    target = checked_target(settings)
    if target == "postgres":
        built: DbtResult = _postgres().build_marts_on_postgres(
            settings, run_date, full_refresh=full_refresh
        )
        return built
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
        _postgres().publish_raw_layer(settings, None)
    elif target == "spark":
        _spark().publish_raw_layer(settings, None)
    return invoke_dbt(settings, ["build", "--select", *select, *DAILY_BUILD_EXCLUDES])


def mart_rule_outcomes(settings: Settings) -> list[RuleOutcome]:
    """The mart quality suites, validated where the marts were built."""
    target = checked_target(settings)
    if target == "postgres":
        checked: list[RuleOutcome] = _postgres().check_marts_on_postgres(settings)
        return checked
    if target == "spark":
        outcomes: list[RuleOutcome] = _spark().check_marts_on_spark(settings)
        return outcomes
    return run_checkpoint(settings, MART_CHECKPOINT)


def mirror_marts(settings: Settings) -> int:
    """Bring the relations a remote target built into the DuckDB file; the rows copied
    (0 on DuckDB, where they are built in place)."""
    target = checked_target(settings)
    if target == "postgres":
        mirrored: int = _postgres().mirror_marts(settings).total_rows
        return mirrored
    if target == "spark":
        total: int = _spark().mirror_marts(settings).total_rows
        return total
    return 0
