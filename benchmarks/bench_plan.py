"""``make bench``: planning a business day's emails (``plan_day``) at bank scale.

1. Uses the two business-day drops of ``bench_daily_run`` (``var/bench/inbox/``, generated
   there or here once) for 1,000,000 clients (a year of rating history, 37 changed
   ISINs on the second day, one to a few affected holdings per client).
2. Runs both days with ``votum run --no-send`` (once, kept): the backfill, then the
   ordinary day, planned: about 108,000 client digests and 4,000 worklists.
3. Times ``plan_day`` of the ordinary day on a fresh copy of that warehouse with the
   day's ledger rows removed (best of three): reading the marts, grouping, ordering and
   writing the JSON payloads, and writing the ledger. The smaller day (about 40,000
   digests) is the same day for 37 % of the clients: the others' rows of the day are
   deleted from ``fct_client_rating_changes`` in the copy before the timing.

Prints each figure beside its target and writes ``var/bench/plan-results.md``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from benchmarks.bench_daily_run import CLIENTS, START, _generate
from flows.notify.journal import open_journal
from flows.notify.plan import PlanResult, plan_day
from flows.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "var" / "bench"
PLAN = BENCH / "plan"
DAY = date(2026, 11, 3)
REPEATS = 3
VOTUM = str(Path(sys.executable).parent / "votum")


@dataclass(frozen=True)
class Size:
    share: int  # per cent of the clients whose rows of the day are kept
    target_seconds: float


SIZES = (Size(37, 1.5), Size(100, 3.0))  # about 40,000 and 108,000 digests


@dataclass(frozen=True)
class Timed:
    size: Size
    runs: list[tuple[float, float]]  # (wall seconds, CPU seconds of this process)
    result: PlanResult

    @property
    def best(self) -> float:
        return min(wall for wall, _ in self.runs)

    @property
    def cpu(self) -> float:
        return min(cpu for _, cpu in self.runs)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _votum(args: list[str], home: Path | None = None) -> str:
    env = {**os.environ, **({"VOTUM_HOME": str(home)} if home else {})}
    done = subprocess.run([VOTUM, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode not in (0, 10):  # 10: the backfill is held by the circuit breaker
        raise SystemExit(f"votum {' '.join(args)} exited {done.returncode}:\n{done.stderr[-4000:]}")
    return done.stdout


def _prepared_home() -> Path:
    """The warehouse with both days run (generated and built once, then kept)."""
    # The drops of bench_daily_run (the same generator run), generated there or here once.
    inbox = BENCH / "inbox"
    _generate(inbox)
    home = PLAN / f"home-{CLIENTS}"
    built = home / ".both-days-run"
    if not built.exists():
        shutil.rmtree(home, ignore_errors=True)
        print(f"running the backfill and {DAY} for {CLIENTS:,} clients ...", flush=True)
        for day in (START, DAY):
            _votum(["run", "--inbox", str(inbox), "--date", day.isoformat(), "--no-send"], home)
        built.touch()
    return home


def _time_plan(size: Size, home: Path) -> Timed:
    work = PLAN / "work"
    runs: list[tuple[float, float]] = []
    result: PlanResult | None = None
    settings = Settings(home=work)
    for _ in range(REPEATS):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(home, work)
        con = duckdb.connect(str(settings.warehouse_path))
        try:
            con.execute("DELETE FROM ops.delivery_ledger WHERE business_day = ?", [DAY])
            if size.share < 100:
                con.execute(
                    "DELETE FROM fct_client_rating_changes WHERE business_day = ? "
                    "AND CAST(substr(client_id, 2) AS INTEGER) % 100 >= ?",
                    [DAY, size.share],
                )
            con.execute("CHECKPOINT")
            os.sync()  # the copy's writes to disk are not the planning's
            with open_journal(settings.journal_path) as journal:
                started, cpu_started = time.perf_counter(), _cpu_seconds()
                result = plan_day(
                    con,
                    journal,
                    DAY,
                    max_change_share=settings.max_change_share,
                    min_changed_isins=settings.min_changed_isins,
                    advisor_language=settings.advisor_language,
                    mail_domain=settings.mail_domain,
                )
                runs.append((time.perf_counter() - started, _cpu_seconds() - cpu_started))
        finally:
            con.close()
    shutil.rmtree(work, ignore_errors=True)
    assert result is not None
    return Timed(size, runs, result)


def main() -> None:
    home = _prepared_home()
    timed = []
    for size in SIZES:
        print(f"planning {DAY} for {size.share} % of the clients ({REPEATS} runs) ...", flush=True)
        timed.append(_time_plan(size, home))
    lines = [
        "# votum bench: planning a day's emails (`plan_day`)",
        "",
        f"{CLIENTS:,} clients; best of {REPEATS} runs, each on a fresh copy of the warehouse "
        "with the day's ledger rows removed. CPU: user and system time of the process "
        f"(both cores); load average (1 min) at the end: {os.getloadavg()[0]:.1f}.",
        "",
        "| clients of the day | digests | worklists | lines | seconds (best) | all runs "
        "| CPU s (best) | target | |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for t in timed:
        verdict = "met" if t.best <= t.size.target_seconds else "MISSED"
        runs = ", ".join(f"{wall:.2f}" for wall, _ in t.runs)
        lines.append(
            f"| {t.size.share} % | {t.result.digests:,} | {t.result.worklists:,} | "
            f"{t.result.lines:,} | {t.best:.2f} | {runs} | {t.cpu:.2f} | "
            f"<= {t.size.target_seconds:g} s | {verdict} |"
        )
    report = "\n".join(lines)
    BENCH.mkdir(parents=True, exist_ok=True)
    (BENCH / "plan-results.md").write_text(report + "\n", encoding="utf-8")
    print()
    print(report)
    figures = [
        {"digests": t.result.digests, "seconds": t.best, "target_seconds": t.size.target_seconds}
        for t in timed
    ]
    (BENCH / "plan-figures.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(json.dumps({f"plan_{t.result.digests}_digests": round(t.best, 3) for t in timed}))


if __name__ == "__main__":
    main()
