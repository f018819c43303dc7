"""The Great Expectations project in ``expectations/gx/``: one SQL data source (the
warehouse), a query asset per raw file and for the change-by-client mart, a suite per
asset generated from :mod:`flows.quality.rules`, a validation definition per suite and
two checkpoints (``raw_drop`` before dbt, ``marts`` before dispatch).

The JSON files in ``expectations/gx/`` are written by :func:`write_project` (``votum
quality export``) and committed; a test checks that the code still produces exactly
them. Paths of this machine never go into the project: the warehouse's URL and the
folders for results and Data Docs are ``${VOTUM_GX_*}`` variables that
:func:`configure_environment` sets from the settings before the context is opened.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flows.drop_files import DROP_FILES
from flows.preload import wait_for_preload
from flows.quality.duckdb_compat import install as install_duckdb_compat
from flows.quality.rules import MART_RULES, RAW_RULES, Rule, raw_suite
from flows.settings import PROJECT_ROOT, Settings

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DATASOURCE = "warehouse"
SPARK_DATASOURCE = "spark_warehouse"  # only in the Spark copy of the project
RAW_CHECKPOINT = "raw_drop"
MART_CHECKPOINT = "marts"
MART_SUITE = "mart_client_rating_changes"
BATCH = "current business day"
# Counts only: no value of a failing row (names, emails, amounts) in results or Data Docs.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
    "include_unexpected_rows": False,
}
_CURRENT_DAY = "(SELECT max(run_date) FROM raw.run_context)"


def configure_environment(settings: Settings) -> None:
    """The ``${VOTUM_GX_*}`` variables of ``great_expectations.yml``."""
    quality = settings.home_dir / "quality"
    os.environ["VOTUM_GX_WAREHOUSE_URL"] = warehouse_url(settings)
    os.environ["VOTUM_GX_RESULTS_DIR"] = str(quality / "validations")
    os.environ["VOTUM_GX_DOCS_DIR"] = str(quality / "data_docs")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def warehouse_url(settings: Settings) -> str:
    """SQLAlchemy's URL of the warehouse GE validates in. Only in the environment (the
    project files say ``${VOTUM_GX_WAREHOUSE_URL}``): the PostgreSQL password is never
    written to a file."""
    if settings.dbt_target == "postgres":
        password = settings.pg_password.get_secret_value() if settings.pg_password else ""
        user = quote(settings.pg_user, safe="")
        login = f"{user}:{quote(password, safe='')}" if password else user
        return (
            f"postgresql+psycopg2://{login}@{settings.pg_host}:{settings.pg_port}/"
            f"{quote(settings.pg_database, safe='')}"
        )
    # DuckDB settings ride on the URL (duckdb_engine passes its query on as config).
    limit = quote(settings.quality_memory_limit, safe="")
    return f"duckdb:///{settings.warehouse_path}?memory_limit={limit}"


def data_docs_index(settings: Settings) -> Path:
    return settings.home_dir / "quality" / "data_docs" / "index.html"


def import_great_expectations() -> None:
    """Import Great Expectations (2-3 s) and apply the DuckDB fix, ahead of the first
    validation (the CLI does it while Prefect's server starts)."""
    install_duckdb_compat()
    import great_expectations  # noqa: F401

    import flows.quality.expectations  # noqa: F401 - registers our expectation type


def open_context(settings: Settings, project_dir: Path = EXPECTATIONS_DIR) -> Any:
    wait_for_preload()
    configure_environment(settings)
    install_duckdb_compat()
    import great_expectations as gx

    import flows.quality.expectations  # noqa: F401 - registers our expectation type

    return gx.get_context(mode="file", project_root_dir=str(project_dir))


def _in_schema(sql: str, marts_schema: str) -> str:
    """The rules name DuckDB's schema of the marts, ``main``; on PostgreSQL the marts
    live in ``VOTUM_PG_SCHEMA``."""
    return sql if marts_schema == "main" else sql.replace("main.", f"{marts_schema}.")


def _asset_queries(marts_schema: str = "main") -> dict[str, str]:
    queries = {
        raw_suite(f.name): f"SELECT * FROM {f.table} WHERE _drop_date = {_CURRENT_DAY}"
        for f in DROP_FILES
    }
    queries[MART_SUITE] = _in_schema(
        f"SELECT * FROM main.fct_client_rating_changes WHERE business_day = {_CURRENT_DAY}",
        marts_schema,
    )
    return queries


def _expectation(rule: Rule, marts_schema: str = "main") -> Any:
    from flows.quality.expectations import ExpectNoRowsToBreakRule

    return ExpectNoRowsToBreakRule(
        unexpected_rows_query=_in_schema(rule.unexpected_rows_query, marts_schema),
        description=f"{rule.description} [{rule.action}]",
        meta={"votum_rule": rule.name, "action": rule.action},
    )


def build_project(context: Any, marts_schema: str = "main") -> None:
    """Create or update every data source, asset, suite, validation definition and
    checkpoint from the rules (idempotent). ``marts_schema``: where the marts are (a
    PostgreSQL copy of the project, :mod:`flows.engines.postgres`)."""
    import great_expectations as gx

    datasource = context.data_sources.add_or_update_sql(
        DATASOURCE, connection_string="${VOTUM_GX_WAREHOUSE_URL}"
    )
    definitions: dict[str, list[Any]] = {RAW_CHECKPOINT: [], MART_CHECKPOINT: []}
    rules_by_suite: dict[str, list[Rule]] = {}
    for rule in (*RAW_RULES, *MART_RULES):
        rules_by_suite.setdefault(rule.suite, []).append(rule)
    existing = {a.name: a for a in datasource.assets}
    for suite_name, query in _asset_queries(marts_schema).items():
        asset = existing.get(suite_name)
        if asset is not None and " ".join(asset.query.split()) != " ".join(query.split()):
            datasource.delete_asset(suite_name)
            asset = None
        if asset is None:
            asset = datasource.add_query_asset(suite_name, query=query)
            batch = asset.add_batch_definition_whole_table(BATCH)
        else:
            batch = asset.get_batch_definition(BATCH)
        suite = gx.ExpectationSuite(
            name=suite_name,
            expectations=[_expectation(r, marts_schema) for r in rules_by_suite[suite_name]],
        )
        suite = context.suites.add_or_update(suite)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
        )
        checkpoint = MART_CHECKPOINT if suite_name == MART_SUITE else RAW_CHECKPOINT
        definitions[checkpoint].append(definition)
    for name, members in definitions.items():
        context.checkpoints.add_or_update(
            # No actions: Data Docs are built once per run for all of its results
            # (an UpdateDataDocsAction rebuilds the whole site once per suite).
            gx.Checkpoint(name=name, validation_definitions=members, result_format=RESULT_FORMAT)
        )


def build_spark_project(context: Any, marts_schema: str) -> str:
    """Point the mart checkpoint of a copy of the project at a Spark data source
    (:mod:`flows.engines.spark`): the same rules, with the marts in ``marts_schema``,
    validated on a Spark DataFrame that the caller passes at run time as the batch
    parameter ``dataframe``. Returns the query whose rows that DataFrame must hold (the
    day's rows of the change-by-client mart)."""
    import great_expectations as gx

    datasource = context.data_sources.add_or_update_spark(SPARK_DATASOURCE)
    asset = next((a for a in datasource.assets if a.name == MART_SUITE), None)
    if asset is None:
        asset = datasource.add_dataframe_asset(MART_SUITE)
        batch = asset.add_batch_definition_whole_dataframe(BATCH)
    else:
        batch = asset.get_batch_definition(BATCH)
    rules = [r for r in MART_RULES if r.suite == MART_SUITE]
    suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=MART_SUITE, expectations=[_expectation(r, marts_schema) for r in rules]
        )
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=MART_SUITE, data=batch, suite=suite)
    )
    context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=MART_CHECKPOINT, validation_definitions=[definition], result_format=RESULT_FORMAT
        )
    )
    return _asset_queries(marts_schema)[MART_SUITE]


def write_project(settings: Settings, project_dir: Path = EXPECTATIONS_DIR) -> Path:
    """(Re)write the committed project files from the rules."""
    context = open_context(settings, project_dir)
    build_project(context)
    return project_dir / "gx"


def release_engine(context: Any, datasource_name: str = DATASOURCE) -> None:
    """Close GE's connection to the warehouse (a DuckDB file admits one writing process;
    dbt comes next). Spark's session stays: it belongs to the process."""
    datasource = context.data_sources.get(datasource_name)
    engine = datasource.get_execution_engine()
    if not hasattr(engine, "engine"):  # Spark: no SQLAlchemy engine to dispose of
        return
    if getattr(engine, "_connection", None) is not None:
        engine._connection.close()
        engine._connection = None
    engine.engine.dispose()
