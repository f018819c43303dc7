"""``votum demo``: a new user's first run. Generates a few weeks of realistic drops under
``VOTUM_HOME/demo/inbox``, starts a local SMTP server that stores every message in a
Maildir (``VOTUM_HOME/demo/mailbox``), runs every business day end to end as the daily
flow would, real emails included, and shows where the results are."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import duckdb
import numpy as np
from rich.console import Console
from rich.table import Table

from flows.clock import BANK_TIMEZONE, set_simulated_instant
from flows.demo.clicks import choose_clicks, click_moments, click_through, html_of_worklist
from flows.demo.clicks import worklist_lines as lines_of_worklist
from flows.demo.drops.generate import DEMO_INTRADAY_BATCHES, GenerationSummary, generate_drops
from flows.demo.mailserver import DemoMailServer, list_messages, message_keys
from flows.errors import VotumError
from flows.links import path_of, unsubscribe_links
from flows.pipeline import daily_run, intraday_run, weekly_report
from flows.report.extract import week_label
from flows.runs.build_processes import build_processes_kept
from flows.runs.dates import last_processed_day
from flows.runs.parameters import DailyRunParameters, IntradayRunParameters, WeeklyReportParameters
from flows.settings import Settings, get_settings
from flows.warehouse import first_row, open_warehouse

DEMO_START = date(2026, 10, 1)


class DemoError(VotumError):
    """The demo's local service could not be started."""


SERVE_PORT = 8765  # votum serve's default; another free port when it is taken
UNSUBSCRIBE_PATH = "/research-alerts/unsubscribe"
# The demo's simulated clock (flows/clock.py): each day's emails go out at that business
# day's morning, the weekly reports on the Monday after their week.
SENDING_TIME = clock_time(6, 45)
REPORT_TIME = clock_time(7, 30)
# An intraday batch is taken by the polling deployment shortly after its delivery: the
# demo's clock stands this long after the batch's folder time when it runs.
INTRADAY_PICKUP = timedelta(seconds=90)
# The board summary's goals in the demo (a real bank sets its own): the fee rate
# estimates the fee of the trades whose drop row has none.
DEMO_GOALS = {
    "VOTUM_FEE_RATE": "0.0025",
    "VOTUM_GOAL_FEE_EUR_WEEKLY": "1500",
    "VOTUM_GOAL_INFORMED_SHARE": "0.95",
    "VOTUM_ADOPTION_TARGET": "0.80",
}


def run_demo(
    settings: Settings,
    *,
    days: int,
    clients: int,
    seed: int,
    console: Console,
    start: date = DEMO_START,
) -> None:
    inbox = settings.ensure_home() / "demo" / "inbox"
    console.print(f"[bold]1/3[/] generating {days} business days of drops for {clients:,} clients")
    generated = generate_drops(
        out_dir=inbox,
        start=start,
        days=days,
        clients=clients,
        seed=seed,
        progress=False,
        intraday_batches=DEMO_INTRADAY_BATCHES,
    )
    console.print(
        f"    {generated.advisors} advisors in {generated.branches} branches, "
        f"{generated.covered_isins} rated securities, {generated.rating_changes} rating changes"
        f" -> {inbox}"
    )
    mailbox = settings.home_dir / "demo" / "mailbox"
    port = _serve_port()
    # The emails' opt-out and worklist links point at a votum serve on this machine.
    os.environ["VOTUM_UNSUBSCRIBE_URL"] = f"http://127.0.0.1:{port}{UNSUBSCRIBE_PATH}"
    os.environ.pop("VOTUM_ACTION_URL", None)
    # votum serve and every flow run of the demo share its simulated clock; its
    # advisors click through the local service, many times a minute.
    clock_file = settings.home_dir / "demo" / "clock"
    set_simulated_instant(clock_file, _at(generated.drop_dates[0], SENDING_TIME))
    os.environ["VOTUM_DEMO_CLOCK_FILE"] = str(clock_file)
    os.environ["VOTUM_SERVE_RATE_PER_MINUTE"] = "1000000"
    for name, value in DEMO_GOALS.items():
        os.environ.setdefault(name, value)
    service = _start_service(settings, port)
    try:
        _run_days(settings, generated, inbox, mailbox, console, port)
        console.print("[bold]3/3[/] results")
        _show_marts(settings, console)
        _show_mailbox(mailbox, console)
        _show_opt_out_link(settings, port, console)
    finally:
        service.terminate()
        service.wait(timeout=30)
    console.print(
        f"Weekly adoption reports (HTML, charts, CSV): {settings.home_dir / 'reports'}; "
        "the managers' copies are in the mailbox too."
    )
    docs = settings.home_dir / "quality" / "data_docs" / "index.html"
    console.print(f"Quality checks of every drop and mart (Great Expectations Data Docs): {docs}")


def _at(day: date, moment: clock_time) -> datetime:
    return datetime.combine(day, moment, BANK_TIMEZONE)


def _advisors_click(
    generated: GenerationSummary, mailbox: Path, new_keys: list[str], day: date, port: int
) -> int:
    """The advisors of the day's new worklists click some of their lines (real HTTP)."""
    settings = get_settings()
    assert settings.demo_clock_file is not None
    action_path = path_of(settings.worklist_action_url)
    lines = [
        line
        for key in new_keys
        for line in lines_of_worklist(html_of_worklist(mailbox, key), action_path)
    ]
    rng = np.random.default_rng([generated.clients, day.toordinal()])
    links = choose_clicks(lines, generated.worklist_click_share, rng)
    moments = click_moments(day, len(links), rng)
    return click_through(links, moments, settings.demo_clock_file, "127.0.0.1", port)


def _run_days(
    settings: Settings,
    generated: GenerationSummary,
    inbox: Path,
    mailbox: Path,
    console: Console,
    port: int,
) -> None:
    drop_dates = generated.drop_dates
    clock_file = settings.home_dir / "demo" / "clock"
    # The days run one after the other in this process: their side processes (the
    # quality gates, dbt with its parsed project) are started once for all of them.
    with DemoMailServer(mailbox) as server, build_processes_kept():
        # The flow's tasks read their settings from the environment: point them at the
        # local server for this process only.
        os.environ.update(
            {
                "VOTUM_SMTP_HOST": server.host,
                "VOTUM_SMTP_PORT": str(server.port),
                "VOTUM_SMTP_SECURITY": "none",
            }
        )
        os.environ.pop("VOTUM_SMTP_USER", None)
        console.print(
            f"[bold]2/3[/] running the daily pipeline day by day; mail goes to a local SMTP "
            f"server on {server.host}:{server.port} that keeps it in {mailbox}"
        )
        table = Table(
            "day",
            "upgrades",
            "downgrades",
            "affected clients",
            "emailed",
            "to call",
            "worklists",
            "clicked",
        )
        # A demo run again over a warehouse that has its days already replays them:
        # the days before the last one as backfills (rebuilt, nothing sent), the last
        # one as a rerun (nothing sent twice).
        last = _last_processed(settings)
        if last is not None:
            console.print(
                f"    the warehouse has days up to {last}: replaying, nothing is sent twice"
            )
        started = time.perf_counter()
        for run_date in drop_dates:
            backfill = last is not None and run_date < last
            set_simulated_instant(clock_file, _at(run_date, SENDING_TIME))
            before = message_keys(mailbox)
            summary = daily_run(
                DailyRunParameters(run_date=run_date, inbox=inbox, backfill=backfill)
            )
            assert summary is not None  # a run for a given day never skips
            new_worklists = [
                entry.key
                for entry in list_messages(mailbox, except_keys=before)
                if entry.kind == "advisor_worklist"
            ]
            clicked = _advisors_click(generated, mailbox, new_worklists, run_date, port)
            for day, delivered in generated.intraday_batches:
                if day == run_date:
                    # The batch arrives during the day: the polling deployment takes it.
                    set_simulated_instant(
                        clock_file, _batch_delivery(day, delivered) + INTRADAY_PICKUP
                    )
                    intraday_run(IntradayRunParameters(run_date=day, inbox=inbox))
            table.add_row(
                run_date.isoformat(),
                str(summary.upgrades),
                str(summary.downgrades),
                f"{summary.affected_clients:,}",
                f"{summary.digests_sent:,}",
                f"{summary.affected_clients - summary.eligible_clients:,}",
                f"{summary.worklists_sent:,}",
                f"{clicked:,}",
            )
        pipeline_seconds = time.perf_counter() - started
        console.print(table)
        _show_intraday_batches(generated, console)
        weeks = sorted({day - timedelta(days=day.weekday()) for day in drop_dates})
        os.environ.setdefault("VOTUM_REPORT_SUMMARY_TO", "vorstand@bank.example")
        os.environ.setdefault("VOTUM_OPS_ALERT_TO", "betrieb@bank.example")
        console.print(
            f"    weekly adoption reports for {len(weeks)} weeks "
            f"({week_label(weeks[0])} to {week_label(weeks[-1])})"
        )
        started = time.perf_counter()
        for monday in weeks:
            set_simulated_instant(clock_file, _at(monday + timedelta(days=7), REPORT_TIME))
            weekly_report(WeeklyReportParameters(week=week_label(monday)))
        console.print(
            f"    the daily pipeline took {pipeline_seconds:.1f} s for {len(drop_dates)} days "
            f"(intraday batches and the advisors' clicks included), the weekly reports "
            f"{time.perf_counter() - started:.1f} s"
        )


def _batch_delivery(day: date, delivered: str) -> datetime:
    return _at(day, datetime.strptime(delivered, "%H%M%S").time())


def _show_intraday_batches(generated: GenerationSummary, console: Console) -> None:
    """The intraday batches (each run after its day's morning): the change, the clients
    emailed, the worklists and the median minutes from the batch's delivery to the
    emails' acceptance by the mail server."""
    if not generated.intraday_batches:
        return
    table = Table(
        "day",
        "batch (Berlin)",
        "security",
        "rating",
        "clients emailed",
        "worklists",
        "minutes to inbox (median)",
        title="Intraday batches",
    )
    with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
        for day, delivered in generated.intraday_batches:
            table.add_row(day.isoformat(), *_batch_figures(con, day, delivered))
    console.print(table)


def _batch_figures(con: duckdb.DuckDBPyConnection, day: date, delivered: str) -> list[str]:
    change = first_row(
        con.execute(
            "SELECT security_name, previous_rating || ' -> ' || new_rating "
            "FROM fct_rating_changes WHERE business_day = ? AND batch_id = ? "
            "ORDER BY isin LIMIT 1",
            [day, delivered],
        )
    )
    # sent_at is stored in the session's time zone; the batch's time is Berlin's.
    sent = first_row(
        con.execute(
            """
            SELECT count(*) FILTER (WHERE kind = 'client_intraday'),
                   count(*) FILTER (WHERE kind = 'advisor_intraday'),
                   median(date_diff('second', CAST(? AS TIMESTAMP),
                                    timezone('Europe/Berlin', CAST(sent_at AS TIMESTAMPTZ))))
                       FILTER (WHERE kind = 'client_intraday') / 60.0
            FROM ops.delivery_ledger
            WHERE status = 'sent' AND business_day = ? AND message_key LIKE ?
            """,
            [
                _batch_delivery(day, delivered).replace(tzinfo=None),
                day,
                f"%_intraday:{day.isoformat()}:{delivered}:%",
            ],
        )
    )
    emailed, worklists, minutes = sent if sent else (0, 0, None)
    return [
        f"{delivered[:2]}:{delivered[2:4]}:{delivered[4:]}",
        str(change[0]) if change else "",
        str(change[1]) if change else "(no change)",
        f"{emailed:,}",
        f"{worklists:,}",
        "n/a" if minutes is None else f"{minutes:.1f}",
    ]


def _serve_port() -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", SERVE_PORT))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_service(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """votum serve in a subprocess (its log under VOTUM_HOME/logs), up when /healthz answers."""
    log_dir = settings.logs_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "serve.log").open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "flows.web", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"votum serve stopped at once; see {log_dir / 'serve.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise DemoError(f"votum serve did not answer on port {port}; see {log_dir / 'serve.log'}")


def _show_opt_out_link(settings: Settings, port: int, console: Console) -> None:
    """One demo client's opt-out link (a client emailed on the last day) and how to open it."""
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        row = first_row(
            con.execute(
                "SELECT recipient_id, business_day, language FROM ops.delivery_ledger "
                "WHERE kind = 'client_digest' AND status = 'sent' "
                "ORDER BY business_day DESC, recipient_id LIMIT 1"
            )
        )
    if row is None:
        return
    client_id, day, language = row
    link = unsubscribe_links(get_settings(), str(client_id), day, str(language)).https
    console.print(
        f"Opt-out link of demo client {client_id} (from their digest of {day}):\n  {link}\n"
        "To click through it (and the advisors' worklist links in the mailbox), start the "
        f"service (on the demo's clock, so that the worklist links of its past days are "
        f"still valid):\n  VOTUM_DEMO_CLOCK_FILE={settings.home_dir / 'demo' / 'clock'} "
        f"VOTUM_UNSUBSCRIBE_URL=http://127.0.0.1:{port}{UNSUBSCRIBE_PATH} "
        f".venv/bin/votum serve --port {port}",
        markup=False,
        soft_wrap=True,
    )


def _last_processed(settings: Settings) -> date | None:
    if not settings.warehouse_path.exists():
        return None
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        return last_processed_day(con)


def _show_mailbox(mailbox: Path, console: Console) -> None:
    entries = list_messages(mailbox)
    kinds = Counter(entry.kind or "other" for entry in entries)
    console.print(
        f"Mailbox {mailbox}: {len(entries)} emails "
        f"({kinds.get('client_digest', 0)} client digests, "
        f"{kinds.get('advisor_worklist', 0)} advisor worklists, "
        f"{kinds.get('client_intraday', 0)} intraday client emails, "
        f"{kinds.get('advisor_intraday', 0)} intraday worklists, "
        f"{kinds.get('adoption_report', 0)} branch reports, "
        f"{kinds.get('adoption_summary', 0)} bank summaries). Each is a file in "
        f"{mailbox / 'new'}: open it in a mail client, or\n"
        "  .venv/bin/votum mailbox            (list)\n"
        "  .venv/bin/votum mailbox --show KEY (read one)"
    )


def _show_marts(settings: Settings, console: Console) -> None:
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        rows = con.execute(
            """
            SELECT business_day, client_id, advisor_id, security_name, previous_rating,
                   new_rating, market_value_eur, portfolio_weight,
                   coalesce(ineligible_reason, 'email') AS channel
            FROM fct_client_rating_changes
            ORDER BY business_day DESC, market_value_eur DESC
            LIMIT 8
            """
        ).fetchall()
        totals = first_row(
            con.execute(
                """
            SELECT (SELECT count(*) FROM fct_rating_changes WHERE change_type <> 'initiation'),
                   (SELECT count(*) FROM fct_client_rating_changes),
                   (SELECT count(*) FROM fct_client_rating_changes WHERE notify_eligible)
            """
            )
        )
    table = Table(
        "day",
        "client",
        "advisor",
        "security",
        "rating",
        "value EUR",
        "weight",
        "channel",
        title="fct_client_rating_changes (largest positions of the latest day)",
    )
    for day, client, advisor, name, old, new, value, weight, channel in rows:
        table.add_row(
            str(day),
            client,
            str(advisor),
            name,
            f"{old} -> {new}",
            f"{value:,.2f}",
            f"{weight:.1%}" if weight is not None else "",
            channel,
        )
    console.print(table)
    changes, alerts, eligible = totals if totals else (0, 0, 0)
    console.print(
        f"{changes} rating changes, {alerts} client positions affected, {eligible} to be emailed.\n"
        f"Marts (DuckDB): {settings.warehouse_path}\n"
        "  main.fct_rating_changes, main.fct_client_rating_changes, main.dim_clients, ...\n"
        f'Query them: .venv/bin/python -c "import duckdb; print(duckdb.connect('
        f"'{settings.warehouse_path}', read_only=True).sql('from fct_client_rating_changes "
        "limit 5'))\""
    )
