"""The Prefect flows: the only place where the stages are composed.

The daily run reads top to bottom: ingest the drop, build the marts with dbt,
summarise. (Quality gates, dispatch and the report join as their stages are built.)
Tasks are thin wrappers around the stage functions and never take secrets or client
data as parameters. No task is cached: the same inputs on another day mean new work.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.day_summary import DaySummary, format_summary, summarize_day
from flows.ingest.loader import DropLoad, drop_dir_for, load_drop
from flows.settings import get_settings
from flows.transform import build_marts
from flows.warehouse import open_warehouse


@task(name="ingest-drop", cache_policy=NO_CACHE)
def ingest_drop(run_date: date, inbox: Path) -> DropLoad:
    settings = get_settings()
    with open_warehouse(settings.warehouse_path) as con:
        return load_drop(
            con,
            drop_dir_for(inbox, run_date),
            run_date,
            holdings_retention_drops=settings.holdings_retention_drops,
        )


@task(name="build-marts", cache_policy=NO_CACHE)
def build_marts_for_day(run_date: date, *, full_refresh: bool = False) -> int:
    result = build_marts(get_settings(), run_date, full_refresh=full_refresh)
    return len(result.nodes)


@task(name="summarize-day", cache_policy=NO_CACHE)
def summarize(load: DropLoad) -> DaySummary:
    with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
        return summarize_day(con, load)


@flow(name="votum-daily-run", persist_result=False, validate_parameters=True)
def daily_run(run_date: date, inbox: Path, full_refresh: bool = False) -> DaySummary:
    """One business day: the drop ``inbox/<run_date>/`` to the marts."""
    logger = get_run_logger()
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    load = ingest_drop(run_date, inbox)
    seconds["ingest"] = time.perf_counter() - started
    logger.info(
        "ingest: %s in %.1fs",
        ", ".join(f"{f.file_kind} {f.rows_loaded} rows" for f in load.files),
        seconds["ingest"],
    )

    started = time.perf_counter()
    nodes = build_marts_for_day(run_date, full_refresh=full_refresh)
    seconds["dbt_build"] = time.perf_counter() - started
    logger.info("dbt build: %d nodes passed in %.1fs", nodes, seconds["dbt_build"])

    started = time.perf_counter()
    summary = summarize(load)
    seconds["summary"] = time.perf_counter() - started

    summary = replace(summary, stage_seconds=seconds)
    logger.info("summary:\n%s", format_summary(summary))
    return summary
