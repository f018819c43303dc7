"""The ``votum`` command: parses arguments, calls the flows, prints results.

Prefect reads its settings when first imported, so the flows are imported only after
the settings have pointed Prefect at ``VOTUM_HOME`` (see
:meth:`flows.settings.Settings.apply_runtime_environment`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from flows.errors import EXIT_DEGRADED, EXIT_HELD, VotumError
from flows.runs.sending_settings import check_sending_settings
from flows.settings import Settings, get_settings
from flows.terminal import as_json, console_for, keep_whole

console = console_for(sys.stdout)
error_console = console_for(sys.stderr)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


EXIT_CODES = """exit codes:
  0  done                     5  dbt failed
  1  unexpected error         6  a quality rule could not run
  2  configuration            7  the mail server cannot be used (nothing claimed or sent)
  3  a file of the drop       8  the day was refused (after today, before the last
     is unusable                 processed day, a weekend or holiday)
  4  the warehouse is busy    9  emails did not all go out (left pending or failed)
     or unreadable           10  the day is held (release or discard it)
                             11  the drop is not delivered yet (no completion marker)
                             12  votum explain: no such email, or no marts yet
"""


def _undelivered_exit(
    command: str, sent: int, pending: int, failed: int, uncertain: int = 0, expired: int = 0
) -> int:
    """0 when every email went out (withdrawn and suppressed ones were not to go); else
    EXIT_DEGRADED, told on stderr."""
    if not (pending or failed or uncertain or expired):
        return 0
    error_console.print(
        f"[bold yellow]votum {command}: not every email went out:[/] {sent} sent, "
        f"{pending} left pending (the mail server kept deferring them; `votum dispatch` "
        f"tries again), {failed} failed (refused for good; see `votum status`), "
        f"{uncertain} of unknown outcome, {expired} expired.",
        soft_wrap=True,
    )
    return EXIT_DEGRADED


def _command_run(args: argparse.Namespace, settings: Settings) -> int:
    from flows.pipeline import daily_run
    from flows.runs.day_summary import format_summary, summary_as_dict
    from flows.runs.parameters import DailyRunParameters

    summary = daily_run(
        DailyRunParameters(
            run_date=args.date,
            inbox=args.inbox,
            full_refresh=args.full_refresh,
            dry_run=args.dry_run,
            preview_dir=args.preview_dir,
            send=not args.no_send,
            backfill=args.backfill,
            force=args.force,
        )
    )
    if summary is None:
        console.print("Nothing to run today: not a business day (see the log).")
        return 0
    if args.json:
        print(json.dumps(summary_as_dict(summary)))
    else:
        console.print(format_summary(summary))
        console.print(f"marts: {settings.warehouse_path}")
    if summary.held_reason:
        error_console.print(
            f"[bold yellow]{summary.run_date} is held:[/] {summary.held_reason}\n"
            f"Look at it, then `votum release {summary.run_date}` or "
            f"`votum discard {summary.run_date} --reason ...`."
        )
        return EXIT_HELD
    return _undelivered_exit(
        "run",
        summary.emails_sent,
        summary.emails_pending,
        summary.emails_failed,
        summary.emails_uncertain,
        summary.emails_expired,
    )


def _command_intraday(args: argparse.Namespace, settings: Settings) -> int:
    from flows.pipeline import intraday_run
    from flows.runs.parameters import IntradayRunParameters

    summary = intraday_run(IntradayRunParameters(run_date=args.date, inbox=args.inbox))
    report = summary.dispatch
    console.print(
        f"intraday {summary.business_day}: {len(summary.batches_processed)} batches "
        f"({', '.join(summary.batches_processed) or 'none new'}), "
        f"{summary.client_emails_planned} client emails and {summary.worklists_planned} "
        f"worklists planned, {summary.clients_waiting} clients waiting for the morning digest; "
        f"{report.sent} sent"
    )
    if summary.held_reason:
        error_console.print(
            f"[bold yellow]{summary.business_day} is held:[/] {summary.held_reason}\n"
            f"Look at it, then `votum release {summary.business_day}` or "
            f"`votum discard {summary.business_day} --reason ...`."
        )
        return EXIT_HELD
    return _undelivered_exit(
        "intraday",
        report.sent,
        report.left_pending,
        report.failed,
        report.uncertain,
        report.expired,
    )


def _command_dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from flows.pipeline import dispatch_run

    report = dispatch_run()
    if args.json:
        print(as_json(report))
    else:
        console.print(
            f"{report.sent} sent, {report.failed} failed, {report.suppressed} suppressed, "
            f"{report.left_pending} left pending ({report.messages_per_second:,.0f} messages/s)"
        )
    return _undelivered_exit(
        "dispatch",
        report.sent,
        report.left_pending,
        report.failed,
        report.uncertain,
        report.expired,
    )


def _command_quality_export(args: argparse.Namespace, settings: Settings) -> int:
    from flows.quality.gx_project import write_project

    folder = write_project(settings)
    console.print(f"Great Expectations project written from the rules: {folder}")
    return 0


def _command_report(args: argparse.Namespace, settings: Settings) -> int:
    from flows.pipeline import weekly_report
    from flows.runs.parameters import WeeklyReportParameters

    summary = weekly_report(WeeklyReportParameters(week=args.week, send=not args.no_send))
    if args.json:
        print(as_json(summary))
    else:
        console.print(
            f"adoption report {summary.week}: {summary.branches} branches, files in "
            f"{summary.folder}; {summary.emails_planned} emails planned, "
            f"{summary.emails_sent} sent, {summary.emails_failed} failed, "
            f"{summary.emails_pending} left pending"
        )
    return _undelivered_exit(
        "report",
        summary.emails_sent,
        summary.emails_pending,
        summary.emails_failed,
        summary.emails_uncertain,
        summary.emails_expired,
    )


def _command_release(args: argparse.Namespace, settings: Settings) -> int:
    from flows.pipeline import release_run

    released, report = release_run(business_day=args.date, note=args.note)
    if args.json:
        print(as_json({"business_day": args.date, "released": released, "dispatch": report}))
    else:
        console.print(
            f"{args.date}: {released} held emails released; {report.sent} sent, "
            f"{report.failed} failed, {report.suppressed} suppressed, "
            f"{report.left_pending} left pending"
        )
    return _undelivered_exit(
        "release",
        report.sent,
        report.left_pending,
        report.failed,
        report.uncertain,
        report.expired,
    )


def _command_discard(args: argparse.Namespace, settings: Settings) -> int:
    from flows.notify.ledger import discard_day
    from flows.runs.held_days import DISCARDED, refuse_contrary_decision
    from flows.warehouse import open_warehouse

    with open_warehouse(settings.warehouse_path) as con:
        refuse_contrary_decision(con, args.date, DISCARDED)
        discarded = discard_day(con, args.date, args.reason)
    console.print(f"{args.date}: {discarded} held emails discarded ({args.reason}).")
    return 0


def _command_status(args: argparse.Namespace, settings: Settings) -> int:
    from flows.runs.status import collect_status

    status = collect_status(settings, runs=args.runs)
    if args.json:
        print(json.dumps(status.as_json(), ensure_ascii=False))
        return 0
    console.print(f"[bold]Marts built on:[/] {status.engine}")
    if status.running:
        console.print(f"[bold]Running now:[/] {status.running}")
    if status.warehouse_busy:
        console.print("The warehouse is in use by that run: its figures show once it ends.")
    elif not settings.warehouse_path.exists():
        console.print(f"No warehouse yet at {settings.warehouse_path}: nothing has run.")
    runs = Table(
        "started",
        "flow",
        "day",
        "outcome",
        "stage",
        "took",
        "emails sent",
        "reason",
        title=f"Last {len(status.runs)} runs",
    )
    for run in status.runs:
        took = f"{(run.ended_at - run.started_at).total_seconds():.0f} s" if run.ended_at else ""
        colour = {
            "succeeded": "green",
            "failed": "red",
            "refused": "red",
            "held": "yellow",
            "degraded": "yellow",
        }.get(run.outcome, "")
        runs.add_row(
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            run.flow,
            run.week or (run.run_date.isoformat() if run.run_date else ""),
            f"[{colour}]{run.outcome}[/]" if colour else run.outcome,
            run.stage or "" if run.outcome not in ("succeeded", "skipped") else "",
            took,
            str(run.counts.get("emails_sent", "")),
            (run.reason or "")[:160],
        )
    console.print(keep_whole(runs, "started", "day", "took", "emails sent"))
    if status.held_days:
        held = Table(
            "day", "emails held", "held since", "reason", title="Held days (release or discard)"
        )
        for day in status.held_days:
            held.add_row(
                day.business_day.isoformat(),
                f"{day.emails_held:,}",
                day.held_at.strftime("%Y-%m-%d %H:%M") if day.held_at else "",
                day.reason,
            )
        console.print(keep_whole(held, "day", "emails held", "held since"))
    else:
        console.print("Held days: none.")
    if status.failed_emails:
        failed = Table(
            "day", "kind", "failed", "last server reply", "e.g. ledger key", title="Failed emails"
        )
        for group in status.failed_emails:
            failed.add_row(
                group.business_day.isoformat(),
                group.kind,
                f"{group.count:,}",
                group.last_reply or "",
                group.example_key,
            )
        console.print(keep_whole(failed, "day", "failed", "e.g. ledger key"))
    else:
        console.print("Failed emails: none.")
    if status.uncertain_emails:
        uncertain = Table(
            "day", "kind", "ledger key", "resend", title="Emails with an unknown outcome"
        )
        for email in status.uncertain_emails:
            uncertain.add_row(
                email.business_day.isoformat(),
                email.kind,
                email.message_key,
                "once, next dispatch" if email.resend_due else "no (final)",
            )
        console.print(keep_whole(uncertain, "day", "ledger key"))
    if status.not_sent_emails:
        not_sent = Table(
            "day", "kind", "status", "emails", "reason", title="Emails withdrawn or expired"
        )
        for withheld in status.not_sent_emails:
            not_sent.add_row(
                withheld.business_day.isoformat(),
                withheld.kind,
                withheld.status,
                f"{withheld.count:,}",
                withheld.reason or "",
            )
        console.print(keep_whole(not_sent, "day", "emails"))
    if status.quarantined:
        quarantine = Table(
            "drop", "file", "rows", "why (rows)", title="Quarantined rows (ops.quarantine)"
        )
        for entry in status.quarantined:
            why = "; ".join(f"{reason}: {n:,}" for reason, n in entry.reasons.items())
            quarantine.add_row(entry.drop_date.isoformat(), entry.file_kind, f"{entry.rows:,}", why)
        console.print(keep_whole(quarantine, "drop", "rows"))
    else:
        console.print("Quarantined rows: none.")
    upcoming = Table(
        "when (Europe/Berlin)", "deployment", "note", title="Next scheduled runs (prefect.yaml)"
    )
    for scheduled in status.next_runs:
        upcoming.add_row(
            scheduled.at.strftime("%a %Y-%m-%d %H:%M"), scheduled.deployment, scheduled.note or ""
        )
    console.print(keep_whole(upcoming, "when (Europe/Berlin)"))
    return 0


def _command_suppress(args: argparse.Namespace, settings: Settings) -> int:
    from flows.notify.addresses import address_problem
    from flows.notify.journal import open_journal

    problem = address_problem(args.email.strip())
    if problem:
        error_console.print(f"votum suppress: {problem}: {args.email!r}")
        return 2
    with open_journal(settings.journal_path) as journal:
        new = journal.suppress(args.email, reason=args.reason, source="cli")
    console.print(
        "suppressed: no email will go to this address again"
        if new
        else "already suppressed: nothing changed"
    )
    return 0


def _command_explain(args: argparse.Namespace, settings: Settings) -> int:
    from flows.explain import (
        as_json_text,
        as_text,
        explain_advisor,
        explain_client,
        explain_message,
    )

    if args.message_id:
        found = explain_message(settings, args.message_id, inbox=args.inbox)
    elif (args.client is None) == (args.advisor is None) or args.date is None:
        error_console.print(
            "votum explain: give --client C --date D, --advisor A --date D or --message-id ID"
        )
        return 2
    elif args.client is not None:
        found = explain_client(settings, args.client, args.date, inbox=args.inbox)
    else:
        found = explain_advisor(settings, args.advisor, args.date, inbox=args.inbox)
    if args.json:
        print(as_json_text(found))
    else:
        console.print(as_text(found), markup=False)
    return 0


def _command_preview(args: argparse.Namespace, settings: Settings) -> int:
    from flows.notify.preview import write_previews

    out = args.out or settings.home_dir / "preview" / args.date.isoformat()
    written = write_previews(settings, args.date, out)
    console.print(f"{len(written)} emails of {args.date} written to {out} (nothing sent)")
    return 0


def _command_mailbox(args: argparse.Namespace, settings: Settings) -> int:
    from flows.demo.mailserver import list_messages, read_message

    maildir = args.maildir or settings.home_dir / "demo" / "mailbox"
    if args.show:
        message = read_message(maildir, args.show)
        body = message.get_body(preferencelist=("plain", "html"))
        console.print(
            f"From: {message['From']}\nTo: {message['To']}\nSubject: {message['Subject']}"
        )
        console.print(f"Date: {message['Date']}\nMessage-ID: {message['Message-ID']}\n")
        console.print(body.get_content() if body is not None else "(no text part)", markup=False)
        return 0
    entries = list_messages(maildir)
    table = Table("key", "kind", "to", "subject", title=f"{len(entries)} messages in {maildir}")
    for entry in entries[-args.last :]:
        table.add_row(entry.key, entry.kind or "", entry.to, entry.subject)
    console.print(keep_whole(table, "key"))
    return 0


def _command_generate(args: argparse.Namespace, settings: Settings) -> int:
    from flows.demo.drops.generate import generate_drops
    from flows.runs.progress import interactive

    summary = generate_drops(
        out_dir=args.out,
        start=args.start,
        days=args.days,
        clients=args.clients,
        seed=args.seed,
        rating_history_days=args.rating_history_days,
        file_format=args.format,
        progress=interactive(),
    )
    first, last = summary.drop_dates[0], summary.drop_dates[-1]
    console.print(
        f"wrote {len(summary.drop_dates)} drops ({first} to {last}) to {summary.out_dir}: "
        f"{summary.clients:,} clients, {summary.advisors:,} advisors in "
        f"{summary.branches:,} branches, {summary.covered_isins:,} rated ISINs, "
        f"{summary.positions_last_day:,} positions on the last day, "
        f"{summary.rating_changes:,} rating changes"
    )
    return 0


def _command_serve(args: argparse.Namespace, settings: Settings) -> int:
    # flows.web imports neither Prefect, dbt nor Great Expectations: it starts in a second.
    from flows.web.serve import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def _command_worker(args: argparse.Namespace, settings: Settings) -> int:
    from flows.worker.warm_worker import run_worker

    return run_worker(args.prefect_arguments)


def _command_unsubscribe_inbox(args: argparse.Namespace, settings: Settings) -> int:
    from flows.notify.journal import open_journal
    from flows.signing import installation_secret
    from flows.web.app import today_in_bank_time
    from flows.web.maildir_optout import read_unsubscribe_inbox

    with open_journal(settings.journal_path) as journal:
        report = read_unsubscribe_inbox(
            args.maildir, journal, installation_secret(settings), today=today_in_bank_time()
        )
    console.print(
        f"{report.read} messages read: {report.honoured} opt-outs recorded, "
        f"{report.already} already recorded, {len(report.not_honoured)} without a valid "
        "opt-out subject (left flagged in cur/ for a person to read)"
    )
    for name in report.not_honoured:
        console.print(f"  not honoured: {name}", markup=False)
    return 0


def _export(args: argparse.Namespace, columns: Sequence[str], rows: list[tuple[str, ...]]) -> int:
    from flows.web.exports import to_csv

    if args.csv:
        sys.stdout.write(to_csv(columns, rows))
        return 0
    table = Table(*columns, title=f"{len(rows)} rows since {args.since}")
    for row in rows:
        table.add_row(*row)
    # Ids, addresses and times whole; names and reasons wrap.
    keys = {"activity_id", "advisor_id", "client_id", "email", "since", "occurred_at", "isin"}
    console.print(keep_whole(table, *(c for c in columns if c in keys)))
    return 0


def _command_suppressions(args: argparse.Namespace, settings: Settings) -> int:
    from flows.notify.journal import open_journal
    from flows.web.exports import SUPPRESSION_COLUMNS, suppression_rows

    with open_journal(settings.journal_path) as journal:
        rows = suppression_rows(journal, args.since)
    return _export(args, SUPPRESSION_COLUMNS, rows)


def _command_activities(args: argparse.Namespace, settings: Settings) -> int:
    from flows.web.activity_store import open_activity_store
    from flows.web.exports import ACTIVITY_COLUMNS, activity_rows

    with open_activity_store(settings.worklist_activities_path) as store:
        rows = activity_rows(store, args.since)
    return _export(args, ACTIVITY_COLUMNS, rows)


def _command_docs(args: argparse.Namespace, settings: Settings) -> int:
    from flows.transform import generate_docs

    page = generate_docs(settings)
    console.print(f"dbt docs (lineage, models, exposures): {page}")
    return 0


def _command_demo(args: argparse.Namespace, settings: Settings) -> int:
    from flows.demo.run_demo import run_demo
    from flows.runs.logs import attach_log_file, quiet_console

    # The demo prints its own tables; Prefect's per-run chatter goes to the log file only.
    attach_log_file(settings)
    quiet_console()

    run_demo(settings, days=args.days, clients=args.clients, seed=args.seed, console=console)
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("votum")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="votum",
        description="Rating changes to clients, worklists to advisors, adoption to managers.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"votum {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run one business day: ingest the drop, build the marts")
    run.add_argument("--date", type=_date, help="business day YYYY-MM-DD (default: today, Berlin)")
    run.add_argument(
        "--inbox",
        type=Path,
        help="folder holding the drops <inbox>/<YYYY-MM-DD>/ (default VOTUM_INBOX)",
    )
    run.add_argument("--force", action="store_true", help="run a weekend or holiday on purpose")
    run.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental models from scratch"
    )
    run.add_argument("--json", action="store_true", help="print the day's summary as JSON")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="plan the emails and write them as .eml files; send nothing, open no connection",
    )
    run.add_argument(
        "--backfill",
        action="store_true",
        help="load and build a past day (older than the last one); plan and send nothing",
    )
    run.add_argument(
        "--no-send", action="store_true", help="plan the emails but leave them for `votum dispatch`"
    )
    run.add_argument(
        "--preview-dir", type=Path, help="where --dry-run writes (default VOTUM_HOME/preview/DATE)"
    )
    run.set_defaults(handler=_command_run)

    intraday = commands.add_parser(
        "intraday",
        help="process the day's intraday ratings batches not processed yet (after `votum run`)",
    )
    intraday.add_argument("--date", type=_date, help="business day (default: today, Berlin)")
    intraday.add_argument(
        "--inbox",
        type=Path,
        help="folder holding <inbox>/<YYYY-MM-DD>/intraday/<HHMMSS>/ (default VOTUM_INBOX)",
    )
    intraday.set_defaults(handler=_command_intraday)

    status = commands.add_parser(
        "status", help="last runs, held days, failed emails, quarantine, next scheduled runs"
    )
    status.add_argument("--json", action="store_true", help="the same as JSON, for scripts")
    status.add_argument("--runs", type=int, default=10, help="how many runs to show (default 10)")
    status.set_defaults(handler=_command_status)

    send = commands.add_parser("dispatch", help="send the emails waiting in the ledger")
    send.add_argument("--json", action="store_true", help="the dispatch's counts as JSON")
    send.set_defaults(handler=_command_dispatch)

    report = commands.add_parser("report", help="the weekly adoption report (files and emails)")
    report.add_argument("--week", help="ISO week YYYY-Www (default: the last complete week)")
    report.add_argument(
        "--no-send", action="store_true", help="write the files, plan, send nothing"
    )
    report.add_argument("--json", action="store_true", help="the report's summary as JSON")
    report.set_defaults(handler=_command_report)

    quality = commands.add_parser("quality", help="the Great Expectations project")
    quality_commands = quality.add_subparsers(dest="quality_command", required=True)
    export = quality_commands.add_parser(
        "export", help="write expectations/gx from flows/quality/rules.py (commit the result)"
    )
    export.set_defaults(handler=_command_quality_export)

    release = commands.add_parser(
        "release", help="send the emails of a day the circuit breaker held"
    )
    release.add_argument("date", type=_date, help="the held business day YYYY-MM-DD")
    release.add_argument("--note", help="why it is fine (kept in the ledger)")
    release.add_argument(
        "--json", action="store_true", help="released emails and the dispatch's counts as JSON"
    )
    release.set_defaults(handler=_command_release)

    discard = commands.add_parser("discard", help="drop the held emails of a day for good")
    discard.add_argument("date", type=_date, help="the held business day YYYY-MM-DD")
    discard.add_argument("--reason", required=True, help="why (kept in the ledger)")
    discard.set_defaults(handler=_command_discard)

    suppress = commands.add_parser("suppress", help="never email this address again")
    suppress.add_argument("email", help="the address never to email again")
    suppress.add_argument(
        "--reason", default="objection", help="kept with the entry (default: objection)"
    )
    suppress.set_defaults(handler=_command_suppress)

    preview = commands.add_parser("preview", help="write a day's unsent emails as .eml files")
    preview.add_argument("date", type=_date, help="business day YYYY-MM-DD")
    preview.add_argument("--out", type=Path, help="folder (default VOTUM_HOME/preview/DATE)")
    preview.set_defaults(handler=_command_preview)

    mailbox = commands.add_parser("mailbox", help="list or show the demo mailbox's messages")
    mailbox.add_argument("--show", metavar="KEY", help="show one message")
    mailbox.add_argument("--last", type=int, default=30, help="list the last N (default 30)")
    mailbox.add_argument("--maildir", type=Path, help="default VOTUM_HOME/demo/mailbox")
    mailbox.set_defaults(handler=_command_mailbox)

    generate = commands.add_parser("generate", help="write realistic synthetic drops")
    generate.add_argument("--out", type=Path, required=True, help="folder to write drops into")
    generate.add_argument("--start", type=_date, required=True, help="first day YYYY-MM-DD")
    generate.add_argument("--days", type=int, required=True, help="number of business-day drops")
    generate.add_argument("--clients", type=int, required=True, help="number of clients")
    generate.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    generate.add_argument(
        "--rating-history-days",
        type=int,
        default=0,
        help="business days of rating history to put into the first drop",
    )
    generate.add_argument(
        "--format", choices=["csv", "parquet"], default="csv", help="file format (default csv)"
    )
    generate.set_defaults(handler=_command_generate)

    docs = commands.add_parser(
        "docs", help="dbt docs of the project and the warehouse, as one static HTML page"
    )
    docs.set_defaults(handler=_command_docs)

    demo = commands.add_parser("demo", help="generate a few weeks of drops and run them end to end")
    demo.add_argument("--days", type=int, default=15, help="business days (default 15)")
    demo.add_argument("--clients", type=int, default=3000, help="clients (default 3000)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.set_defaults(handler=_command_demo)

    serve = commands.add_parser(
        "serve", help="the web service for opt-out links and worklist actions (behind a proxy)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port to listen on (8765)")
    serve.set_defaults(handler=_command_serve)

    worker = commands.add_parser(
        "worker",
        help="a Prefect process worker whose next flow run's process is ready beforehand",
        description="`prefect worker start` (the same options, e.g. --pool votum) with the "
        "next flow run's process warmed up: Prefect, the flows, dbt and the quality gates "
        "loaded before the run comes.",
    )
    worker.add_argument(
        "prefect_arguments", nargs=argparse.REMAINDER, help="options of `prefect worker start`"
    )
    worker.set_defaults(handler=_command_worker)

    inbox = commands.add_parser(
        "unsubscribe-inbox", help="honour the opt-out emails in a Maildir (the mailto link)"
    )
    inbox.add_argument("--maildir", type=Path, required=True, help="Maildir (with new/, cur/)")
    inbox.set_defaults(handler=_command_unsubscribe_inbox)

    for name, helptext, handler in (
        ("suppressions", "client opt-outs and suppressed addresses (CRM)", _command_suppressions),
        ("activities", "advisors' worklist clicks as CRM activities (CRM)", _command_activities),
    ):
        export = commands.add_parser(name, help=helptext)
        export.add_argument("--since", type=_date, required=True, help="from this day YYYY-MM-DD")
        export.add_argument("--csv", action="store_true", help="CSV on standard output")
        export.set_defaults(handler=handler)

    explain = commands.add_parser(
        "explain", help="why a client got an email or not; where a worklist's lines came from"
    )
    explain.add_argument("--client", help="client id (with --date)")
    explain.add_argument("--advisor", help="advisor id: the worklist (with --date)")
    explain.add_argument("--date", type=_date, help="business day YYYY-MM-DD")
    explain.add_argument("--message-id", help="the Message-ID of an email votum sent")
    explain.add_argument(
        "--inbox",
        type=Path,
        help="folder holding the drops, to name the lines (default VOTUM_INBOX)",
    )
    explain.add_argument("--json", action="store_true", help="the same as JSON (stable fields)")
    explain.set_defaults(handler=_command_explain)
    return parser


# Commands that open the warehouse take the run lock: a second writer, or even a reader
# in another process, would make DuckDB refuse a running run its next open.
USES_THE_WAREHOUSE = frozenset(
    {"run", "dispatch", "report", "release", "discard", "demo", "preview", "docs"}
)


def _sending_check(args: argparse.Namespace) -> bool | None:
    """Whether the command builds emails (False) or also sends them (True), or None
    when it does neither: its sending settings are checked before anything starts."""
    if args.command == "run":
        if args.backfill:
            return None
        return not (args.dry_run or args.no_send)
    if args.command == "report":
        return not args.no_send
    if args.command in ("dispatch", "release"):
        return True
    if args.command == "preview":
        return False
    return None


def _purpose(args: argparse.Namespace) -> str:
    """What the lock file says the holder is doing (no addresses, no secrets)."""
    day = getattr(args, "date", None) or getattr(args, "week", None)
    return f"votum {args.command}" + (f" {day}" if day else "")


# Commands that run a Prefect flow: one of our errors is told once, with the log's path,
# instead of Prefect's tracebacks followed by the message (flows/runs/logs.py).
RUNS_A_FLOW = frozenset({"run", "intraday", "dispatch", "report", "release", "demo"})
# Commands whose flows run Great Expectations and dbt: started while Prefect's server starts.
BUILDS_MARTS = frozenset({"run", "demo"})


def _convert_python_values_once() -> None:
    """pyarrow imports pandas (about 0.3 s of one core) the first time it converts
    Python values, which every run does (the suppression list, the ledger). Done here,
    it is paid while this process waits for its Prefect server, not during the ingest."""
    import pyarrow as pa

    pa.array([], pa.string())


@contextmanager
def _flows_ready(args: argparse.Namespace, settings: Settings) -> Iterator[None]:
    """Around a command that runs a flow: its Prefect server (unless PREFECT_API_URL
    names one) and, for a build, the side processes of the quality gates and of dbt
    (``flows.runs.build_processes``), started first so that they boot on the other core
    while this process imports what the flows need."""
    if args.command not in RUNS_A_FLOW:
        yield
        return
    from flows.runs.prefect_server import start_temporary_server

    server = start_temporary_server(settings.logs_dir / "prefect-server.log")
    if args.command in BUILDS_MARTS:
        from flows.runs.build_processes import start_build_processes

        start_build_processes(settings)
    import flows.pipeline  # noqa: F401 - Prefect sets up its console handlers here
    from flows.runs.logs import console_shows_votum_errors_once

    console_shows_votum_errors_once()
    if server is None:
        yield
        return
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    _convert_python_values_once()
    server.wait_until_ready(float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()))
    # Heartbeats tell a long-lived server that a flow run still lives; this server lives
    # and dies with the run's process, and joining the heartbeat thread costs a second.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _parse(argv: list[str]) -> argparse.Namespace:
    """The command line; everything after ``worker`` is Prefect's, as it stands (argparse
    would take ``--pool`` as one of ours)."""
    if argv[:1] == ["worker"] and not {"-h", "--help"} & set(argv[1:2]):
        args = build_parser().parse_args(["worker"])
        args.prefect_arguments = argv[1:]
        return args
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else list(argv))
    settings: Settings | None = None
    try:
        settings = get_settings()
        sends = _sending_check(args)
        if sends is not None:
            check_sending_settings(settings, smtp=sends)
        if args.command != "worker":  # a worker uses Prefect's own profile and home
            settings.apply_runtime_environment()
        if args.command not in USES_THE_WAREHOUSE:
            with _flows_ready(args, settings):
                code: int = args.handler(args, settings)
            return code
        # Taken here, before Prefect starts, so that a second run is told at once; the
        # flows take it again (re-entrant), for runs started by a Prefect worker.
        from flows.runs.lock import run_lock

        with run_lock(settings.run_lock_path, _purpose(args)), _flows_ready(args, settings):
            code = args.handler(args, settings)
        return code
    except VotumError as exc:
        message = f"[bold red]votum {args.command} failed:[/] {escape(str(exc))}"
        error_console.print(message, soft_wrap=True)  # one line: greppable, copyable
        log = settings.logs_dir / "votum.log" if settings is not None else None
        if args.command in RUNS_A_FLOW and log is not None and log.exists():
            error_console.print(f"Details in the log: {log}", markup=False, soft_wrap=True)
        return exc.exit_code


def run() -> None:
    """The ``votum`` console command: :func:`main`, then the process ends as soon as its
    exit handlers are done (:mod:`flows.process_end`)."""
    from flows.process_end import end_after_exit_handlers

    exit_code = end_after_exit_handlers()
    exit_code.value = main()
    sys.exit(exit_code.value)


if __name__ == "__main__":
    run()
