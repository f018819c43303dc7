"""``make bench-engines``: the same daily runs on DuckDB, PostgreSQL and Spark.

Generates (once, under ``var/bench/engines/``) ``BENCH_ENGINE_DAYS`` business days of
drops for ``BENCH_ENGINE_CLIENTS`` clients, then, for each warehouse engine, runs
``votum run --no-send`` day after day in a fresh ``VOTUM_HOME`` with
``VOTUM_DBT_TARGET`` set to that engine, each run in its own process:

* time per stage of the last day, from the run ledger (``ops.run_ledger``), averaged
  over the days after the first (the first day also creates every table);
* wall time and peak memory (max RSS) of each ``votum run`` process, measured from
  outside; for Spark the JVM is inside that process (dbt-spark's session), so its heap
  counts.

PostgreSQL: a throw-away server from the system's binaries (``initdb``, a free port),
as the engine tests start it; skipped when PostgreSQL is not installed. Spark: skipped
when the ``spark`` extra is not installed. Prints a table and writes it to
``var/bench/engines.md``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb

from benchmarks.bench_daily_run import BENCH, VOTUM, Measured, _run
from tests.engines.postgres_server import PostgresServer, find_binaries

CLIENTS = int(os.environ.get("BENCH_ENGINE_CLIENTS", "20000"))
DAYS = int(os.environ.get("BENCH_ENGINE_DAYS", "4"))
START = date(2026, 3, 4)
WANTED = os.environ.get("BENCH_ENGINES", "duckdb,postgres,spark").split(",")
STAGES = ("ingest", "quality_raw", "dbt_build", "mirror_marts", "quality_marts", "plan")
ROOT = BENCH / "engines"


def _generate(inbox: Path) -> list[str]:
    marker = inbox / f".generated-{CLIENTS}-{DAYS}"
    if not marker.exists():
        shutil.rmtree(inbox, ignore_errors=True)
        print(f"generating {DAYS} days for {CLIENTS:,} clients ...")
        _run(
            [
                VOTUM,
                "generate",
                "--out",
                str(inbox),
                "--start",
                START.isoformat(),
                "--days",
                str(DAYS),
                "--clients",
                str(CLIENTS),
                "--seed",
                "2026",
            ]
        )
        marker.touch()
    return sorted(p.name for p in inbox.iterdir() if p.is_dir())


@contextmanager
def _postgres() -> Iterator[dict[str, str] | None]:
    binaries = find_binaries()
    if binaries is None:
        print("PostgreSQL is not installed (no initdb): skipped")
        yield None
        return
    with PostgresServer(binaries) as server:
        yield server.environment()


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def _spark_available() -> bool:
    return importlib.util.find_spec("pyspark") is not None and (
        importlib.util.find_spec("dbt.adapters.spark") is not None
    )


def _engine_runs(
    engine: str, inbox: Path, days: list[str], env: dict[str, str]
) -> tuple[list[Measured], list[dict[str, float]], dict[str, int]]:
    home = ROOT / f"home-{engine}"
    shutil.rmtree(home, ignore_errors=True)
    env = {
        **env,
        "VOTUM_HOME": str(home),
        "VOTUM_DBT_TARGET": engine,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    measured = []
    for day in days:
        print(f"  {engine}: votum run --date {day}")
        measured.append(
            _run([VOTUM, "run", "--date", day, "--inbox", str(inbox), "--no-send", "--json"], env)
        )
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT stage_seconds, counts FROM ops.run_ledger "
            "WHERE flow = 'daily-run' ORDER BY started_at"
        ).fetchall()
    finally:
        con.close()
    stages = [json.loads(row[0]) for row in rows]
    counts = json.loads(rows[-1][1])
    return measured, stages, counts


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def main() -> int:
    inbox = ROOT / "inbox"
    days = _generate(inbox)
    engines: list[tuple[str, dict[str, str]]] = [("duckdb", {})]
    lines = [
        f"Daily runs on each engine: {CLIENTS:,} clients, {len(days)} business days "
        "(`python -m benchmarks.bench_engines`); stage seconds are the mean of the days "
        "after the first; wall time and peak RSS per `votum run` process.",
        "",
        "| engine | " + " | ".join(STAGES) + " | wall per day | peak RSS |",
        "|---" * (len(STAGES) + 3) + "|",
    ]
    with _postgres() if "postgres" in WANTED else _nothing() as pg_env:
        if pg_env is not None:
            engines.append(("postgres", pg_env))
        if _spark_available():
            engines.append(("spark", {}))
        else:
            print("the spark extra is not installed: skipped")
        engines = [(name, env) for name, env in engines if name in WANTED]
        for engine, env in engines:
            measured, stages, counts = _engine_runs(engine, inbox, days, env)
            later = stages[1:] or stages
            cells = [
                f"{_mean([s.get(stage, 0.0) for s in later]):.1f} s" if stage in later[0] else "–"
                for stage in STAGES
            ]
            wall = _mean([m.seconds for m in measured[1:] or measured])
            peak = max(m.peak_mb for m in measured)
            lines.append(
                f"| {engine} | " + " | ".join(cells) + f" | {wall:.1f} s | {peak:,.0f} MB |"
            )
            print(lines[-1], f"(last day: {counts.get('affected_clients', '?')} affected clients)")
    report = "\n".join(lines) + "\n"
    (BENCH / "engines.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
