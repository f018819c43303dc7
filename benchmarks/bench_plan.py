"""``make bench``: planning a business day's emails (``plan_day``) at bank scale.

1. Generates (once, kept under ``var/bench/plan/``) two business-day drops for about
   370,000 and for 1,000,000 clients with ``votum generate`` (a year of rating history,
   30-40 changed ISINs a day, one to a few affected holdings per client): about 40,000
   and 108,000 client digests on the second day.
2. Runs both days with ``votum run --no-send`` (once, kept): the backfill, then the
   ordinary day, planned.
3. Times ``plan_day`` of the ordinary day on a fresh copy of that warehouse with the
   day's ledger rows removed (best of three): reading the marts, grouping, ordering and
   writing the JSON payloads, and writing the ledger.

Prints each figure beside its target and writes ``var/bench/plan-results.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from flows.notify.journal import open_journal
from flows.notify.plan import PlanResult, plan_day
from flows.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "var" / "bench"
PLAN = BENCH / "plan"
START = date(2026, 11, 2)
DAY = date(2026, 11, 3)
HISTORY_DAYS = 250
REPEATS = 3
VOTUM = str(Path(sys.executable).parent / "votum")


@dataclass(frozen=True)
class Size:
    clients: int
    target_seconds: float


SIZES = (Size(370_000, 1.5), Size(1_000_000, 3.0))  # about 40,000 and 108,000 digests


@dataclass(frozen=True)
class Timed:
    size: Size
    runs: list[float]
    result: PlanResult

    @property
    def best(self) -> float:
        return min(self.runs)


def _votum(args: list[str], home: Path | None = None) -> str:
    env = {**os.environ, **({"VOTUM_HOME": str(home)} if home else {})}
    done = subprocess.run([VOTUM, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode not in (0, 10):  # 10: the backfill is held by the circuit breaker
        raise SystemExit(f"votum {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}")
    return done.stdout


def _prepared_home(size: Size) -> Path:
    """The warehouse with both days run (generated and built once, then kept)."""
    inbox = PLAN / f"inbox-{size.clients}"
    generated = inbox / f".generated-{size.clients}-{HISTORY_DAYS}"
    if not generated.exists():
        shutil.rmtree(inbox, ignore_errors=True)
        print(f"generating {size.clients:,} clients ...", flush=True)
        _votum(
            [
                "generate",
                "--out",
                str(inbox),
                "--start",
                START.isoformat(),
                "--days",
                "2",
                "--clients",
                str(size.clients),
                "--seed",
                "2026",
                "--rating-history-days",
                str(HISTORY_DAYS),
            ]
        )
        generated.touch()
    home = PLAN / f"home-{size.clients}"
    built = home / ".both-days-run"
    if not built.exists():
        shutil.rmtree(home, ignore_errors=True)
        print(f"running the backfill and {DAY} for {size.clients:,} clients ...", flush=True)
        for day in (START, DAY):
            _votum(["run", "--inbox", str(inbox), "--date", day.isoformat(), "--no-send"], home)
        built.touch()
    return home


def _time_plan(size: Size, home: Path) -> Timed:
    work = PLAN / "work"
    runs: list[float] = []
    result: PlanResult | None = None
    settings = Settings(home=work)
    for _ in range(REPEATS):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(home, work)
        con = duckdb.connect(str(settings.warehouse_path))
        try:
            con.execute("DELETE FROM ops.delivery_ledger WHERE business_day = ?", [DAY])
            con.execute("CHECKPOINT")
            with open_journal(settings.journal_path) as journal:
                started = time.perf_counter()
                result = plan_day(
                    con,
                    journal,
                    DAY,
                    max_change_share=settings.max_change_share,
                    min_changed_isins=settings.min_changed_isins,
                    advisor_language=settings.advisor_language,
                    mail_domain=settings.mail_domain,
                )
                runs.append(time.perf_counter() - started)
        finally:
            con.close()
    shutil.rmtree(work, ignore_errors=True)
    assert result is not None
    return Timed(size, runs, result)


def main() -> None:
    timed = []
    for size in SIZES:
        home = _prepared_home(size)
        print(f"planning {DAY} for {size.clients:,} clients ({REPEATS} runs) ...", flush=True)
        timed.append(_time_plan(size, home))
    lines = [
        "# votum bench: planning a day's emails (`plan_day`)",
        "",
        f"Best of {REPEATS} runs, each on a fresh copy of the warehouse with the day's "
        "ledger rows removed; 2 cores shared with whatever else runs.",
        "",
        "| clients | digests | worklists | lines | seconds (best) | all runs | target | |",
        "|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for t in timed:
        verdict = "met" if t.best <= t.size.target_seconds else "MISSED"
        runs = ", ".join(f"{s:.2f}" for s in t.runs)
        lines.append(
            f"| {t.size.clients:,} | {t.result.digests:,} | {t.result.worklists:,} | "
            f"{t.result.lines:,} | {t.best:.2f} | {runs} | <= {t.size.target_seconds:g} s | "
            f"{verdict} |"
        )
    report = "\n".join(lines)
    BENCH.mkdir(parents=True, exist_ok=True)
    (BENCH / "plan-results.md").write_text(report + "\n", encoding="utf-8")
    print()
    print(report)
    print(json.dumps({f"plan_{t.size.clients}": round(t.best, 3) for t in timed}))


if __name__ == "__main__":
    main()
