"""``make bench``: one intraday batch at bank scale (issue 17's speed target).

1. The bank-scale drops of ``bench_daily_run`` (1,000,000 clients, about 10,000,000
   positions; generated once under ``var/bench/inbox``, or the folder named by
   ``BENCH_INBOX``): the first day backfilled, then the morning run of 2026-11-03
   (``--no-send``; its emails then expire, so that the intraday call finds nothing of
   the morning left to send). That warehouse is set aside as the template.
2. A batch of 5 rating changes, each one step from the security's current rating,
   chosen so that about 6,000 positions hold them: written to
   ``var/bench/intraday-inbox/2026-11-03/intraday/101500/ratings.csv`` (a batch needs
   only its own folder: holdings, clients and advisors are the morning's, already in the
   warehouse).
3. Times ``votum intraday`` in a fresh process, from just before the batch folder is
   written to the process's end (its last email accepted by Postfix's ``smtp-sink``),
   best of 2, each on a fresh copy of the template.
4. Times the same batch through the deployment path: a running ``prefect server
   start``, the ``votum-intraday`` deployment of ``prefect.yaml`` and a warm process
   worker (``benchmarks/worker_run.py``): Pending to Completed, best of 2.
5. Times the floor: one hand-written DuckDB query computing the batch's affected
   (client, change) rows from the batch file and the day's ``holdings.csv``, in its own
   process (``python -m benchmarks.bench_intraday --floor ...``).

Prints a table and writes ``var/bench/intraday-results.md`` and
``var/bench/intraday-figures.json``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from benchmarks.bench_daily_run import BENCH, VOTUM, Measured, _daily, _generate, _run, _target
from benchmarks.bench_dispatch import _free_port
from benchmarks.floor_query import (
    LABELS,
    NORMALISED_RATING,
    affected_positions_sql,
    print_floor,
)
from benchmarks.worker_run import WorkerRun, run_intraday, running_worker
from flows.notify.ledger import expire_overdue
from flows.settings import Settings

DAY = date(2026, 11, 3)
BATCH = "101500"
RATED_AT = "2026-11-03 10:10:00"  # the publications, before the batch's delivery
CHANGES = 5
POSITIONS = 6000  # about this many positions hold the batch's securities
INBOX = Path(os.environ.get("BENCH_INBOX", str(BENCH / "inbox")))
BATCH_INBOX = BENCH / "intraday-inbox"
HOME = BENCH / "home-intraday"
TEMPLATE = BENCH / "home-intraday-morning"
SCALE = ("strong_buy", "buy", "neutral", "sell", "strong_sell")
LABEL_DE = {
    "strong_buy": "Stark kaufen",
    "buy": "Kaufen",
    "neutral": "Neutral",
    "sell": "Verkaufen",
    "strong_sell": "Stark verkaufen",
}
RATINGS_COLUMNS = (
    "isin",
    "security_name",
    "rating",
    "rated_at",
    "analyst",
    "target_price",
    "currency",
)
POSTFIX_SINK = Path("/usr/sbin/smtp-sink")


@dataclass
class Sink:
    port: int
    name: str
    log: Path | None  # smtp-sink -c writes its counter there

    def accepted(self) -> int | None:
        """Messages accepted so far (Postfix's counter; None for the fallback sink)."""
        if self.log is None:
            return None
        counts = re.findall(r"mesg=(\d+)", self.log.read_text(encoding="ascii", errors="replace"))
        return int(counts[-1]) if counts else 0


@contextmanager
def smtp_sink() -> Iterator[Sink]:
    """Postfix's ``smtp-sink`` on a free localhost port (or, where the machine has none,
    benchmarks/smtp_sink.py), for the length of the block."""
    port = _free_port()
    postfix = shutil.which("smtp-sink") or (str(POSTFIX_SINK) if POSTFIX_SINK.exists() else None)
    log: Path | None = None
    if postfix:
        BENCH.mkdir(parents=True, exist_ok=True)
        log = BENCH / f"smtp-sink-{port}.log"
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        with log.open("wb") as out:
            sink = subprocess.Popen(
                [postfix, *user, "-c", f"127.0.0.1:{port}", "1000"], stdout=out, stderr=out
            )
        name = "Postfix smtp-sink"
    else:
        print("smtp-sink is missing: falling back to benchmarks/smtp_sink.py (aiosmtpd)")
        sink = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.smtp_sink", str(port)],
            stdout=subprocess.DEVNULL,
        )
        name = "aiosmtpd (benchmarks/smtp_sink.py)"
    try:
        _wait_for_port(port, sink)
        yield Sink(port, name, log)
    finally:
        sink.terminate()
        sink.wait()
        if log is not None:
            log.unlink(missing_ok=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    for _ in range(200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit("the SMTP sink did not start")


def sending_env(sink: Sink) -> dict[str, str]:
    return {
        "VOTUM_SMTP_HOST": "127.0.0.1",
        "VOTUM_SMTP_PORT": str(sink.port),
        "VOTUM_SMTP_SECURITY": "none",
        "VOTUM_UNSUBSCRIBE_SECRET": "bench-intraday-unsubscribe-secret-0123456789",
    }


def _template(drops: list[Path]) -> None:
    """The warehouse after the morning run of DAY, set aside. Built in ``HOME`` itself
    (every path dbt and Prefect remember stays the same in the copies).
    ``BENCH_KEEP_TEMPLATE=1`` keeps one built before.

    The morning's 112,000 emails are planned, not sent (``--no-send``; sending is
    ``bench_dispatch``'s). So that the intraday call finds nothing of the morning left to
    send, they expire, as a dispatch a week later would find them: the ledger's own
    expiry (``VOTUM_MAX_PENDING_BUSINESS_DAYS``), nothing sent."""
    if os.environ.get("BENCH_KEEP_TEMPLATE") == "1" and (TEMPLATE / ".complete").exists():
        print(f"keeping the morning warehouse of {TEMPLATE}")
        return
    shutil.rmtree(TEMPLATE, ignore_errors=True)
    print(f"backfill {drops[0].name}, then the morning run of {drops[1].name} (--no-send) ...")
    morning, summary = _daily(HOME, INBOX, drops, repeats=1)
    print(
        f"  morning run {morning.seconds:.1f}s: {summary['digests_planned']:,} digests and "
        f"{summary['worklists_planned']:,} worklists planned"
    )
    con = duckdb.connect(str(HOME / "warehouse.duckdb"))
    try:
        expired = expire_overdue(
            con, date.today() + timedelta(days=7), Settings().max_pending_business_days
        )
    finally:
        con.close()
    print(f"  {expired:,} emails of the morning expired (not sent)")
    shutil.rmtree(HOME.with_name(HOME.name + "-backfilled"), ignore_errors=True)
    HOME.rename(TEMPLATE)
    (TEMPLATE / ".complete").touch()


def _fresh_home() -> None:
    shutil.rmtree(HOME, ignore_errors=True)
    shutil.copytree(TEMPLATE, HOME)
    shutil.rmtree(BATCH_INBOX, ignore_errors=True)


@dataclass(frozen=True)
class BatchRows:
    rows: list[dict[str, str]]
    positions: int  # positions holding the batch's securities (quantity above zero)


def choose_batch(warehouse: Path) -> BatchRows:
    """Five securities rated before DAY's batch, not changed by the morning drop, held by
    about POSITIONS positions together (each near a fifth of it); each gets a rating one
    step from its current one."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        chosen = con.execute(
            """
            WITH positions AS (
                SELECT isin, count(*) AS n FROM raw.holdings
                WHERE _drop_date = ? AND quantity > 0 GROUP BY isin
            ),
            current AS (
                SELECT isin, arg_max(rating_code, rated_at) AS rating_code
                FROM mart_rating_history WHERE drop_date <= ? GROUP BY isin
            ),
            latest_row AS (
                SELECT isin, arg_max(security_name, rated_at) AS security_name,
                       arg_max(analyst, rated_at) AS analyst,
                       arg_max(currency, rated_at) AS currency
                FROM raw.ratings WHERE _drop_date <= ? GROUP BY isin
            )
            SELECT p.isin, p.n, c.rating_code, l.security_name, l.analyst, l.currency
            FROM positions AS p JOIN current AS c USING (isin) JOIN latest_row AS l USING (isin)
            WHERE p.isin NOT IN (SELECT isin FROM fct_rating_changes WHERE business_day = ?)
            ORDER BY abs(p.n - ?), p.isin
            LIMIT ?
            """,
            [DAY, DAY, DAY, DAY, POSITIONS // CHANGES, CHANGES],
        ).fetchall()
    finally:
        con.close()
    rows = []
    for i, (isin, _n, code, name, analyst, currency) in enumerate(chosen):
        rank = SCALE.index(str(code))
        step = 1 if (i % 2 == 0 and rank < len(SCALE) - 1) or rank == 0 else -1
        rows.append(
            {
                "isin": str(isin),
                "security_name": str(name or isin),
                "rating": LABEL_DE[SCALE[rank + step]],
                "rated_at": RATED_AT,
                "analyst": str(analyst or ""),
                "target_price": "",
                "currency": str(currency or ""),
            }
        )
    return BatchRows(rows, sum(int(r[1]) for r in chosen))


def write_batch(batch: BatchRows) -> Path:
    """The batch folder appears: its ratings.csv (and the completion marker, where
    VOTUM_DROP_READY_MARKER asks for one)."""
    folder = BATCH_INBOX / DAY.isoformat() / "intraday" / BATCH
    folder.mkdir(parents=True)
    path = folder / "ratings.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=RATINGS_COLUMNS)
        writer.writeheader()
        writer.writerows(batch.rows)
    marker = os.environ.get("VOTUM_DROP_READY_MARKER")
    if marker:
        (folder / marker).touch()
    return path


@dataclass(frozen=True)
class BatchOutcome:
    emails: int  # client emails and worklists of the batch, sent
    client_emails: int
    positions: int  # the batch's (client, change) rows in fct_client_rating_changes
    stage_seconds: dict[str, float]


def batch_outcome() -> BatchOutcome:
    """What the intraday call left in the warehouse of ``HOME``."""
    con = duckdb.connect(str(HOME / "warehouse.duckdb"), read_only=True)
    try:
        sent = dict(
            con.execute(
                "SELECT kind, count(*) FROM ops.delivery_ledger WHERE status = 'sent' "
                "AND message_key LIKE ? GROUP BY kind",
                [f"%:{DAY.isoformat()}:{BATCH}:%"],
            ).fetchall()
        )
        positions = con.execute(
            "SELECT count(*) FROM fct_client_rating_changes WHERE business_day = ? "
            "AND batch_id = ?",
            [DAY, BATCH],
        ).fetchall()[0][0]
        stages = con.execute(
            "SELECT stage_seconds FROM ops.run_ledger WHERE flow = 'intraday' "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
    finally:
        con.close()
    emails = sum(int(n) for n in sent.values())
    if not emails:
        raise SystemExit("the intraday call sent no email of the batch")
    return BatchOutcome(
        emails=emails,
        client_emails=int(sent.get("client_intraday", 0)),
        positions=int(positions),
        stage_seconds=json.loads(stages[0][0]) if stages else {},
    )


def _fresh_runs(
    batch: BatchRows, sink: Sink, repeats: int = 2
) -> tuple[float, Measured, BatchOutcome]:
    """``votum intraday`` in a fresh process: batch folder written to process end."""
    best: tuple[float, Measured, BatchOutcome] | None = None
    command = [VOTUM, "intraday", "--date", DAY.isoformat(), "--inbox", str(BATCH_INBOX)]
    for _ in range(repeats):
        _fresh_home()
        before = sink.accepted()
        started = time.perf_counter()
        write_batch(batch)
        written = time.perf_counter() - started
        measured = _run(command, {**sending_env(sink), "VOTUM_HOME": str(HOME)})
        seconds = written + measured.seconds
        outcome = batch_outcome()
        _check_sink(sink, before, outcome)
        print(f"  {seconds:.1f}s, {outcome.emails:,} emails")
        if best is None or seconds < best[0]:
            best = (seconds, measured, outcome)
    assert best is not None
    return best


def _worker_runs(batch: BatchRows, sink: Sink, repeats: int = 2) -> tuple[WorkerRun, BatchOutcome]:
    """The batch through the ``votum-intraday`` deployment and a warm process worker."""
    best: tuple[WorkerRun, BatchOutcome] | None = None
    with running_worker(
        BENCH / "prefect-worker-intraday",
        HOME,
        deployments=("votum-intraday",),
        worker_env=sending_env(sink),
    ) as server:
        for _ in range(repeats):
            _fresh_home()
            before = sink.accepted()
            write_batch(batch)
            measured = run_intraday(
                server,
                {"run_date": DAY.isoformat(), "inbox": str(BATCH_INBOX), "scheduled": True},
            )
            outcome = batch_outcome()
            _check_sink(sink, before, outcome)
            print(f"  {measured.seconds:.1f}s, {outcome.emails:,} emails")
            if best is None or measured.seconds < best[0].seconds:
                best = (measured, outcome)
    assert best is not None
    return best


def _check_sink(sink: Sink, before: int | None, outcome: BatchOutcome) -> None:
    after = sink.accepted()
    if before is not None and after is not None and after - before != outcome.emails:
        raise SystemExit(
            f"the sink accepted {after - before} messages, the ledger says {outcome.emails} sent"
        )


def floor_sql(history_drop: Path, day_drop: Path, batch_file: Path) -> str:
    """The batch's affected (client, change) rows with each position's weight in the
    client's portfolio and whether the client may be emailed, from the files alone."""
    return f"""
    WITH labels(label, code, rank) AS (VALUES {LABELS}),
    batch AS (SELECT * FROM read_csv('{batch_file}', all_varchar = true)),
    ratings AS (
        SELECT isin, rating, CAST(rated_at AS TIMESTAMP) AS rated_at, 0 AS delivered
        FROM read_csv('{history_drop}/ratings.csv', all_varchar = true)
        WHERE isin IN (SELECT isin FROM batch)
        UNION ALL
        SELECT isin, rating, CAST(rated_at AS TIMESTAMP), 1
        FROM read_csv('{day_drop}/ratings.csv', all_varchar = true)
        WHERE isin IN (SELECT isin FROM batch)
        UNION ALL
        SELECT isin, rating, CAST(rated_at AS TIMESTAMP), 2 FROM batch
    ),
    history AS (
        SELECT r.isin, r.delivered, l.code, lag(l.code) OVER w AS previous_code
        FROM ratings r
        JOIN labels l ON l.label = {NORMALISED_RATING}
        WINDOW w AS (PARTITION BY r.isin ORDER BY r.delivered, r.rated_at)
    ),
    changes AS (
        SELECT * FROM history
        WHERE delivered = 2 AND previous_code IS NOT NULL AND code <> previous_code
    ),
    {
        affected_positions_sql(
            day_drop, history_drop, "WHERE client_id IN (SELECT client_id FROM affected)"
        )
    }
    """


def floor_main(history_drop: Path, day_drop: Path, batch_file: Path) -> None:
    print_floor(floor_sql(history_drop, day_drop, batch_file))


STAGE_ORDER = ("find_batches", "ingest", "quality_raw", "dbt_build", "quality_marts", "plan")


def _stage_rows(stages: dict[str, float]) -> list[str]:
    """The call's stages in the order they ran (a batch's are named batch_<HHMMSS>_...)."""

    def order(name: str) -> tuple[int, str]:
        stage = name.removeprefix(f"batch_{BATCH}_")
        return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), name)

    return [
        f"| - stage {name} | {float(stages[name]):.2f} | | |" for name in sorted(stages, key=order)
    ]


def main() -> None:
    drops = _generate(INBOX)
    if [d.name for d in drops][-2:] != ["2026-11-02", DAY.isoformat()]:
        raise SystemExit(f"{INBOX}: expected the drops of 2026-11-02 and {DAY}")
    with smtp_sink() as sink:
        _template(drops)
        batch = choose_batch(TEMPLATE / "warehouse.duckdb")
        print(
            f"batch {DAY}/intraday/{BATCH}: {len(batch.rows)} changes held by "
            f"{batch.positions:,} positions ({', '.join(r['isin'] for r in batch.rows)})"
        )
        print("votum intraday in a fresh process (best of 2) ...")
        fresh_seconds, fresh, fresh_outcome = _fresh_runs(batch, sink)
        print("the same batch through a warm Prefect worker (best of 2) ...")
        worker, worker_outcome = _worker_runs(batch, sink)
        sink_name = sink.name
    print("the floor (best of 3) ...")
    batch_file = BATCH_INBOX / DAY.isoformat() / "intraday" / BATCH / "ratings.csv"
    floor_runs = [
        _run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_intraday",
                "--floor",
                str(drops[0]),
                str(drops[1]),
                str(batch_file),
            ]
        )
        for _ in range(3)
    ]
    floor = min(floor_runs, key=lambda m: m.seconds)
    floor_result = json.loads(floor.output)

    figures = {
        "fresh_seconds": round(fresh_seconds, 2),
        "worker_seconds": round(worker.seconds, 2),
        "floor_seconds": round(floor.seconds, 3),
        "emails": fresh_outcome.emails,
        "positions": fresh_outcome.positions,
    }
    lines = [
        f"# votum bench: one intraday batch at bank scale ({date.today().isoformat()})",
        "",
        f"Warehouse: 1,000,000 clients, 10 million positions, the morning run of {DAY} "
        f"done (its emails expired: nothing of it left to send). Batch {DAY}/intraday/{BATCH}: {len(batch.rows)} rating changes "
        f"held by {fresh_outcome.positions:,} positions (floor query: "
        f"{floor_result['rows']:,}); {fresh_outcome.client_emails:,} client emails and "
        f"{fresh_outcome.emails - fresh_outcome.client_emails:,} worklists sent to "
        f"{sink_name} on localhost.",
        "",
        "| measure | seconds | peak RSS MB | target |",
        "|---|---:|---:|---|",
        f"| batch folder written to the last email accepted: `votum intraday` in a fresh "
        f"process (best of 2) | {fresh_seconds:.1f} | {fresh.peak_mb:,.0f} | "
        f"{_target(fresh_seconds, 60)} |",
        *_stage_rows(fresh_outcome.stage_seconds),
        f"| the same through the `votum-intraday` deployment, warm process worker "
        f"(Pending to Completed, best of 2) | {worker.seconds:.1f} | | "
        f"{_target(worker.seconds, 30)} |",
        f"| - of it the flow run itself (Running to Completed) | {worker.flow_seconds:.1f} | | |",
        *_stage_rows(worker_outcome.stage_seconds),
        f"| floor: one DuckDB query, the batch's (client, change) rows from the batch file "
        f"and the day's holdings.csv (best of 3) | {floor.seconds:.2f} | "
        f"{floor.peak_mb:,.0f} | |",
    ]
    report = "\n".join(lines)
    (BENCH / "intraday-results.md").write_text(report + "\n", encoding="utf-8")
    (BENCH / "intraday-figures.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print()
    print(report)
    if fresh_outcome.positions != floor_result["rows"]:
        raise SystemExit("the intraday call and the floor disagree on the affected positions")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--floor"]:
        floor_main(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        started = time.perf_counter()
        main()
        print(f"\n(bench took {time.perf_counter() - started:.0f}s)")
