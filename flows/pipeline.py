"""The Prefect flows: the only place where the stages are composed.

The daily run reads top to bottom: ingest the drop, check it (raw quality gate), build
the marts with dbt, check them (mart quality gate), plan the day's emails into the
delivery ledger, dispatch them, summarise. Tasks are thin wrappers around the stage functions and
never take secrets or client data as parameters. No task is cached: the same inputs on
another day mean new work. Nothing is retried by Prefect: ingest and dbt are not
transient, and dispatch retries SMTP itself, per message, where exactly-once allows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.day_summary import DaySummary, format_summary, summarize_day
from flows.ingest.loader import DropLoad, drop_dir_for, load_drop
from flows.notify.dispatch import DispatchReport, dispatch
from flows.notify.journal import open_journal
from flows.notify.ledger import release_day
from flows.notify.plan import PlanResult, plan_day
from flows.notify.preview import write_previews
from flows.notify.suppressions import sync_suppressions
from flows.quality.gates import QualityReport, check_drop, check_marts
from flows.report.deliver import plan_reports
from flows.report.extract import (
    bank_report,
    branch_report,
    branches_of_week,
    parse_week,
    week_label,
)
from flows.report.files import write_report_files
from flows.report.model import BankReport, BranchReport
from flows.settings import get_settings
from flows.transform import DAILY_BUILD_EXCLUDES, build_marts, invoke_dbt
from flows.warehouse import open_warehouse, set_run_date

T = TypeVar("T")


@task(name="ingest-drop", cache_policy=NO_CACHE)
def ingest_drop(run_date: date, inbox: Path) -> DropLoad:
    settings = get_settings()
    with open_warehouse(settings.warehouse_path) as con:
        load = load_drop(
            con,
            drop_dir_for(inbox, run_date),
            run_date,
            holdings_retention_drops=settings.holdings_retention_drops,
        )
        # The rest of the run (quality queries, dbt) reads the day from raw.run_context.
        set_run_date(con, run_date, settings.sla_business_days)
        with open_journal(settings.journal_path) as journal:
            sync_suppressions(con, journal)
    return load


@task(name="check-drop-quality", cache_policy=NO_CACHE)
def check_drop_quality(load: DropLoad, *, backfill: bool) -> QualityReport:
    return check_drop(get_settings(), load, backfill=backfill)


@task(name="check-mart-quality", cache_policy=NO_CACHE)
def check_mart_quality(run_date: date) -> QualityReport:
    return check_marts(get_settings(), run_date)


@task(name="build-marts", cache_policy=NO_CACHE)
def build_marts_for_day(run_date: date, *, full_refresh: bool = False) -> int:
    result = build_marts(get_settings(), run_date, full_refresh=full_refresh)
    return len(result.nodes)


@task(name="plan-emails", cache_policy=NO_CACHE)
def plan_emails(run_date: date, hold_reason: str | None = None) -> PlanResult:
    settings = get_settings()
    with (
        open_warehouse(settings.warehouse_path) as con,
        open_journal(settings.journal_path) as journal,
    ):
        return plan_day(
            con,
            journal,
            run_date,
            max_change_share=settings.max_change_share,
            min_changed_isins=settings.min_changed_isins,
            advisor_language=settings.advisor_language,
            mail_domain=settings.mail_domain,
            hold_reason=hold_reason,
        )


@task(name="dispatch-emails", cache_policy=NO_CACHE)
def dispatch_emails() -> DispatchReport:
    """Everything pending, of this day and of earlier days a failure left behind."""
    return dispatch(get_settings())


@task(name="preview-emails", cache_policy=NO_CACHE)
def preview_emails(run_date: date, out_dir: Path) -> int:
    return len(write_previews(get_settings(), run_date, out_dir))


@task(name="summarize-day", cache_policy=NO_CACHE)
def summarize(load: DropLoad) -> DaySummary:
    with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
        return summarize_day(con, load)


def _timed(seconds: dict[str, float], stage: str, call: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = call()
    seconds[stage] = time.perf_counter() - started
    return result


@flow(name="votum-daily-run", persist_result=False, validate_parameters=True)
def daily_run(
    run_date: date,
    inbox: Path,
    full_refresh: bool = False,
    dry_run: bool = False,
    preview_dir: Path | None = None,
    send: bool = True,
    backfill: bool = False,
) -> DaySummary:
    """One business day: the drop ``inbox/<run_date>/`` to the clients' inboxes.

    ``send=False`` stops after planning: the emails wait in the ledger for
    ``votum dispatch`` (to build early and send at a set hour). ``backfill=True``
    loads and builds a past day (older than the last one) and plans and sends nothing."""
    logger = get_run_logger()
    seconds: dict[str, float] = {}

    load = _timed(seconds, "ingest", lambda: ingest_drop(run_date, inbox))
    logger.info(
        "ingest: %s in %.1fs",
        ", ".join(f"{f.file_kind} {f.rows_loaded} rows" for f in load.files),
        seconds["ingest"],
    )

    raw_quality = _timed(
        seconds, "quality_raw", lambda: check_drop_quality(load, backfill=backfill)
    )
    logger.info(
        "quality (raw): %d rules, %d quarantined rows, %d warnings; Data Docs %s",
        len(raw_quality.outcomes),
        sum(raw_quality.quarantined.values()),
        len(raw_quality.warnings),
        raw_quality.data_docs,
    )

    nodes = _timed(
        seconds, "dbt_build", lambda: build_marts_for_day(run_date, full_refresh=full_refresh)
    )
    logger.info("dbt build: %d nodes passed in %.1fs", nodes, seconds["dbt_build"])

    mart_quality = _timed(seconds, "quality_marts", lambda: check_mart_quality(run_date))
    holds = [*raw_quality.hold_reasons, *mart_quality.hold_reasons]
    if backfill:
        summary = replace(
            _timed(seconds, "summary", lambda: summarize(load)),
            stage_seconds=seconds,
            quarantined=raw_quality.quarantined,
            quality_warnings=raw_quality.warnings,
            data_docs=str(raw_quality.data_docs),
            backfill=True,
        )
        logger.info("backfill: built, nothing planned or sent\n%s", format_summary(summary))
        return summary

    plan = _timed(
        seconds, "plan", lambda: plan_emails(run_date, hold_reason="; ".join(holds) or None)
    )
    logger.info(
        "plan: %d client digests, %d worklists%s",
        plan.digests,
        plan.worklists,
        f"; HELD: {plan.held_reason}" if plan.held_reason else "",
    )

    report = DispatchReport()
    previews = 0
    if dry_run:
        folder = preview_dir or get_settings().home_dir / "preview" / run_date.isoformat()
        previews = _timed(seconds, "preview", lambda: preview_emails(run_date, folder))
        logger.info("dry run: %d emails written to %s, nothing sent", previews, folder)
    elif send:
        report = _timed(seconds, "dispatch", dispatch_emails)
        logger.info(
            "dispatch: %d sent, %d failed, %d suppressed, %d left pending in %.1fs",
            report.sent,
            report.failed,
            report.suppressed,
            report.left_pending,
            seconds["dispatch"],
        )

    summary = _timed(seconds, "summary", lambda: summarize(load))
    summary = replace(
        summary,
        stage_seconds=seconds,
        digests_planned=plan.digests,
        worklists_planned=plan.worklists,
        held_reason=plan.held_reason,
        emails_sent=report.sent,
        digests_sent=report.digests_sent,
        worklists_sent=report.worklists_sent,
        emails_failed=report.failed,
        emails_suppressed=report.suppressed,
        emails_pending=report.left_pending,
        emails_previewed=previews,
        unsendable=tuple(sorted(plan.unusable.values())),
        quarantined=raw_quality.quarantined,
        quality_warnings=raw_quality.warnings,
        data_docs=str(raw_quality.data_docs),
    )
    logger.info("summary:\n%s", format_summary(summary))
    return summary


@task(name="release-held-day", cache_policy=NO_CACHE)
def release_held(business_day: date, note: str | None) -> int:
    with open_warehouse(get_settings().warehouse_path) as con:
        return release_day(con, business_day, note)


@flow(name="votum-release-day", persist_result=False, validate_parameters=True)
def release_run(business_day: date, note: str | None = None) -> tuple[int, DispatchReport]:
    """A person looked at a held day and lets its emails go: held rows become pending
    and are sent now, exactly once."""
    released = release_held(business_day, note)
    report = dispatch_emails()
    get_run_logger().info(
        "released %d emails of %s; %d sent, %d failed, %d suppressed, %d left pending",
        released,
        business_day,
        report.sent,
        report.failed,
        report.suppressed,
        report.left_pending,
    )
    return released, report


@flow(name="votum-dispatch", persist_result=False)
def dispatch_run() -> DispatchReport:
    """Send whatever waits in the ledger: planned with ``--no-send``, or left pending by
    a mail server that was down."""
    report = dispatch_emails()
    get_run_logger().info(
        "dispatch: %d sent, %d failed, %d suppressed, %d left pending",
        report.sent,
        report.failed,
        report.suppressed,
        report.left_pending,
    )
    return report


@dataclass(frozen=True)
class ReportSummary:
    week: str
    branches: int
    folder: Path
    emails_planned: int
    emails_sent: int
    emails_failed: int


@task(name="build-adoption-marts", cache_policy=NO_CACHE)
def build_adoption_marts() -> int:
    """The adoption models again: the worklists' send times are in the ledger now."""
    result = invoke_dbt(
        get_settings(),
        ["build", "--select", "fct_alerts+", "int_activities_weekly+", *DAILY_BUILD_EXCLUDES],
    )
    return len(result.nodes)


@task(name="collect-report-figures", cache_policy=NO_CACHE)
def collect_report_figures(monday: date) -> tuple[list[BranchReport], BankReport]:
    settings = get_settings()
    options = {
        "language": settings.report_language,
        "target_adoption_rate": settings.adoption_target,
        "sla_business_days": settings.sla_business_days,
    }
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        branches = [
            branch_report(con, branch, monday, **options)  # type: ignore[arg-type]
            for branch in branches_of_week(con, monday)
        ]
        bank = bank_report(con, monday, **options)  # type: ignore[arg-type]
    return branches, bank


@task(name="write-report-files", cache_policy=NO_CACHE)
def write_reports(branches: list[BranchReport], bank: BankReport) -> Path:
    written = write_report_files(get_settings().home_dir / "reports", branches, bank)
    return written["bank"].parent.parent


@task(name="plan-report-emails", cache_policy=NO_CACHE)
def plan_report_emails(branches: list[BranchReport], bank: BankReport) -> int:
    settings = get_settings()
    with open_warehouse(settings.warehouse_path) as con:
        plan_reports(
            con,
            branches,
            bank,
            summary_to=settings.report_summary_to,
            mail_domain=settings.mail_domain,
        )
        return len(branches) + (1 if settings.report_summary_to else 0)


def last_complete_week(today: date) -> date:
    """Monday of the last ISO week that has ended before ``today``."""
    return today - timedelta(days=today.weekday() + 7)


@flow(name="votum-weekly-report", persist_result=False, validate_parameters=True)
def weekly_report(
    week: str | None = None, today: date | None = None, send: bool = True
) -> ReportSummary:
    """The adoption report of an ISO week (default: the last complete one): files under
    ``VOTUM_HOME/reports/<week>/``, one email per branch manager, the bank summary."""
    logger = get_run_logger()
    monday = parse_week(week)[1] if week else last_complete_week(today or date.today())
    label = week_label(monday)
    build_adoption_marts()
    branches, bank = collect_report_figures(monday)
    folder = write_reports(branches, bank)
    logger.info("report %s: %d branches, files in %s", label, len(branches), folder)
    planned = plan_report_emails(branches, bank)
    report = dispatch_emails() if send else DispatchReport()
    return ReportSummary(
        week=label,
        branches=len(branches),
        folder=folder,
        emails_planned=planned,
        emails_sent=report.sent,
        emails_failed=report.failed,
    )
