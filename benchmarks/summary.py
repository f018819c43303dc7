"""The figures of ``make bench`` in one table, each beside its target: read from the
JSON files the benchmarks wrote under ``var/bench/`` (a benchmark that did not run is
listed as missing). Writes ``var/bench/summary.md``."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent.parent / "var" / "bench"


def _load(name: str) -> Any:
    path = BENCH / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _row(what: str, value: float | None, unit: str, limit: float, *, at_least: bool = False) -> str:
    if value is None:
        return f"| {what} | missing | {'>=' if at_least else '<='} {limit:g} {unit} | |"
    met = value >= limit if at_least else value <= limit
    sign = ">=" if at_least else "<="
    shown = f"{value:,.0f}" if unit == "msg/s" or unit == "MB" else f"{value:.2f}"
    return f"| {what} | {shown} {unit} | {sign} {limit:g} {unit} | {'met' if met else 'NOT met'} |"


def main() -> None:
    daily = _load("daily-figures.json") or {}
    plan = _load("plan-figures.json") or []
    dispatch = _load("dispatch-figures.json") or {}
    demo = _load("demo-figures.json") or {}
    intraday = _load("intraday-figures.json") or {}
    floor = daily.get("floor_seconds")
    ratio = daily["data_dependent_seconds"] / floor if daily and floor else None
    rows = [
        _row("bank day, `votum run --no-send`, fresh process", daily.get("bank_day_seconds"), "s", 20),
        _row("bank day, peak memory (the whole process tree)", daily.get("bank_day_peak_mb"), "MB", 1536),
        _row("bank day, warm Prefect worker", daily.get("worker_day_seconds"), "s", 12),
        _row("small day, `votum run --no-send`, fresh process", daily.get("small_day_seconds"), "s", 8),
        _row("data-dependent part / floor query", ratio, "x", 3),
        _row("`make demo`'s pipeline (15 days)", demo.get("pipeline_seconds"), "s", 60),
        *(
            _row(f"planning {p['digests']:,} digests", p["seconds"], "s", p["target_seconds"])
            for p in plan
        ),
        _row(
            f"dispatch with a pool (best of 2 and 4 connections) to "
            f"{dispatch.get('sink', 'smtp-sink')}",
            max((dispatch[k] for k in ("pool_2", "pool_4") if k in dispatch), default=None),
            "msg/s", 1600, at_least=True,
        ),
        _row("intraday batch to inbox, `votum intraday`, fresh process",
             intraday.get("fresh_seconds"), "s", 60),
        _row("intraday batch to inbox, warm Prefect worker", intraday.get("worker_seconds"), "s", 30),
    ]  # fmt: skip
    lines = [
        f"# votum bench: every figure beside its target ({date.today().isoformat()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})",
        "",
        "| measure | measured | target | |",
        "|---|---:|---|---|",
        *rows,
        "",
        f"Floor (one DuckDB query, the day's change-by-client rows from the CSV files): "
        f"{floor:.2f} s."
        if floor
        else "Floor: missing.",
    ]
    if intraday.get("floor_seconds") is not None:
        lines.append(
            f"Intraday floor (the batch's affected rows): {intraday['floor_seconds']:.2f} s."
        )
    text = "\n".join(lines)
    BENCH.mkdir(parents=True, exist_ok=True)
    (BENCH / "summary.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
