"""Quality gates at bank scale: the raw and mart suites through Great Expectations on
the benchmark's warehouse (10,000,000 positions), beside the same checks as plain
DuckDB SQL (one query per file computing every rule's count in a single scan).

Needs the warehouse ``bench_daily_run`` leaves in ``var/bench/home`` (``make bench``
runs it first). Each side runs in a process of its own, so that its peak memory is its
own. Prints a table and writes ``var/bench/quality-results.md``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from flows.quality.gx_project import (
    MART_CHECKPOINT,
    MART_SUITE,
    RAW_CHECKPOINT,
    open_context,
    release_engine,
)
from flows.quality.rules import ALL_RULES, Rule
from flows.quality.sql_support import ensure_quality_objects
from flows.settings import get_settings
from flows.warehouse import open_warehouse

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / "var" / "bench" / "home"
CURRENT_DAY = "(SELECT max(run_date) FROM raw.run_context)"


def _batch(suite: str) -> str:
    if suite == MART_SUITE:
        return f"(SELECT * FROM main.fct_client_rating_changes WHERE business_day = {CURRENT_DAY})"
    table = "raw." + suite.removeprefix("raw_")
    return f"(SELECT * FROM {table} WHERE _drop_date = {CURRENT_DAY})"


def plain_sql_counts() -> dict[str, int]:
    """Every rule's count as plain SQL: row rules of a file together in one scan."""
    counts: dict[str, int] = {}
    with duckdb.connect(str(get_settings().warehouse_path), read_only=True) as con:
        suites: dict[str, list[Rule]] = {}
        for rule in ALL_RULES:
            suites.setdefault(rule.suite, []).append(rule)
        for suite, rules in suites.items():
            batch = _batch(suite)
            row_rules = [r for r in rules if r.query is None]
            if row_rules:
                filters = ", ".join(
                    f"count(*) FILTER (WHERE {r.where.format(batch=batch)})"
                    for r in row_rules
                    if r.where
                )
                values = con.execute(f"SELECT {filters} FROM {batch} AS b").fetchall()[0]
                counts.update(
                    {f"{suite}.{r.name}": int(v) for r, v in zip(row_rules, values, strict=True)}
                )
            for rule in rules:
                if rule.query is not None:
                    # A rule that names the rows itself ("{batch} AS b") gets them bare.
                    alias = "" if "{batch} AS" in rule.query else " AS subselect"
                    query = rule.query.format(batch=f"{batch}{alias}")
                    counts[f"{suite}.{rule.name}"] = int(
                        con.execute(f"SELECT count(*) FROM ({query}) AS q").fetchall()[0][0]
                    )
    return counts


def ge_counts() -> tuple[dict[str, int], dict[str, float]]:
    """The counts through Great Expectations, and where the time went: opening the
    context (imports, configuration), validating, writing Data Docs."""
    settings = get_settings()
    started = time.perf_counter()
    context = open_context(settings)
    opened = time.perf_counter()
    results = []
    try:
        for name in (RAW_CHECKPOINT, MART_CHECKPOINT):
            results.append(context.checkpoints.get(name).run())
    finally:
        release_engine(context)
    validated = time.perf_counter()
    for result in results:
        context.build_data_docs(resource_identifiers=list(result.run_results))
    documented = time.perf_counter()
    counts = {
        f"{r.suite_name}.{item.expectation_config.meta['votum_rule']}": int(
            (item.result or {}).get("observed_value") or 0
        )
        for result in results
        for r in result.run_results.values()
        for item in r.results
    }
    return counts, {
        "open": opened - started,
        "validate": validated - opened,
        "data_docs": documented - validated,
    }


def _side(which: str) -> None:
    started = time.perf_counter()
    if which == "ge":
        counts, parts = ge_counts()
    else:
        counts, parts = plain_sql_counts(), {}
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "parts": parts, "peak_mb": peak, "counts": counts}))


def main() -> None:
    if not (HOME / "warehouse.duckdb").exists():
        raise SystemExit("run `python -m benchmarks.bench_daily_run` first (make bench does)")
    os.environ["VOTUM_HOME"] = str(HOME)
    settings = get_settings()
    with open_warehouse(settings.warehouse_path) as con:
        ensure_quality_objects(
            con,
            settings.dbt_project_dir / "seeds",
            max_holdings_change=settings.max_holdings_change,
        )
        rows = con.execute(
            f"SELECT count(*) FROM raw.holdings WHERE _drop_date = {CURRENT_DAY}"
        ).fetchall()[0][0]
    results = {}
    for which in ("sql", "ge", "sql", "ge"):  # each twice, the better run counts
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_quality", which],
            capture_output=True, text=True, check=True, env={**os.environ},
        )  # fmt: skip
        result = json.loads(done.stdout.strip().splitlines()[-1])
        key = "validate" if which == "ge" else "seconds"
        best = results.get(which)
        if best is None or (result["parts"] or result)[key] < (best["parts"] or best)[key]:
            results[which] = result
    ge, sql = results["ge"], results["sql"]
    assert ge["counts"] == sql["counts"], "Great Expectations and plain SQL disagree"
    parts = ge["parts"]
    lines = [
        f"# votum bench: quality gates on {rows:,} holdings rows",
        "",
        "| how | rules | seconds | peak RSS MB |",
        "|---|---:|---:|---:|",
        f"| Great Expectations: validating (raw and mart checkpoints, in DuckDB) | {len(ge['counts'])} | {parts['validate']:.2f} | {ge['peak_mb']:,.0f} |",
        f"| - opening the context (imports, configuration; once per run) | | {parts['open']:.2f} | |",
        f"| - writing Data Docs for the results | | {parts['data_docs']:.2f} | |",
        f"| the same counts as plain DuckDB SQL | {len(sql['counts'])} | {sql['seconds']:.2f} | {sql['peak_mb']:,.0f} |",
        "",
        f"**Validating through Great Expectations / plain SQL: {parts['validate'] / sql['seconds']:.1f}x** "
        f"(target <= 3x); all of it, context and Data Docs included: {ge['seconds']:.1f}s "
        f"({ge['seconds'] / sql['seconds']:.1f}x). Both agree on every count. Plain SQL counts "
        "a file's row rules in one scan; GE runs each rule as a query of its own.",
    ]
    report = "\n".join(lines)
    (HOME.parent / "quality-results.md").write_text(report + "\n", encoding="utf-8")
    print(report)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        _side(sys.argv[1])
    else:
        main()
