"""The Prefect flows: the only place where the stages are composed.

The daily run reads top to bottom: ingest the drop, check it (raw quality gate), build
the marts with dbt, check them (mart quality gate), plan the day's emails into the
delivery ledger, dispatch them, summarise. Tasks are thin wrappers around the stage functions and
never take secrets or client data as parameters. No task is cached: the same inputs on
another day mean new work. Nothing is retried by Prefect: ingest and dbt are not
transient, and dispatch retries SMTP itself, per message, where exactly-once allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.calendar import is_business_day
from flows.drop_files import DROP_FILES
from flows.engines.target import (
    build_day,
    build_selected,
    checked_target,
    mart_rule_outcomes,
    mirror_marts,
)
from flows.errors import RunInProgressError, RunRefusedError, VotumError
from flows.ingest.loader import DropLoad, FileLoad, drop_dir_for, load_drop
from flows.ingest.reader import SourceFile
from flows.ingest.ready import check_drop_ready, wait_for_drop
from flows.intraday.batches import (
    Batch,
    batch_source,
    find_batches,
    load_batch,
    mark_processed,
    processed_batches,
    require_morning_run,
)
from flows.intraday.gate import check_batch
from flows.intraday.mart_gate import check_batch_marts
from flows.intraday.plan import INTRADAY_MODELS, plan_batch
from flows.intraday.plan import BatchPlan as IntradayBatchPlan
from flows.notify.dispatch import DispatchReport, dispatch
from flows.notify.journal import open_journal
from flows.notify.ledger import OPS_ALERT, pending_count, release_day
from flows.notify.plan import PlanResult, plan_day
from flows.notify.preview import write_previews
from flows.notify.suppressions import sync_suppressions
from flows.quality.gates import QualityReport, check_drop, check_marts
from flows.report.extract import (
    bank_report,
    branch_report,
    branches_of_week,
    parse_week,
    week_label,
)
from flows.report.model import BankReport, BranchReport
from flows.report.opt_outs import sync_client_opt_outs
from flows.runs.artifact import publish_run_summary
from flows.runs.build_processes import done_with_build_processes, start_build_processes
from flows.runs.dates import DateDecision, decide_run_date, last_processed_day
from flows.runs.day_summary import DaySummary, format_summary, summarize_day
from flows.runs.held_days import RELEASED, refuse_contrary_decision
from flows.runs.ledger import DEGRADED, REFUSED, RunRecord, recorded_run
from flows.runs.lock import run_lock
from flows.runs.logs import attach_log_file
from flows.runs.ops_alert import OpsAlert, alerts_operations, plan_ops_alert
from flows.runs.parameters import (
    DEFAULT_DAILY,
    DEFAULT_INTRADAY,
    DEFAULT_WEEKLY,
    DailyRunParameters,
    IntradayRunParameters,
    WeeklyReportParameters,
    today_in_berlin,
)
from flows.runs.progress import interactive, stage_progress
from flows.runs.sending_settings import check_sending_settings
from flows.settings import get_settings
from flows.transform import REPORT_BUILD_SELECT
from flows.warehouse import held_warehouse, open_warehouse, set_run_date, table_exists
from flows.web.activity_store import open_activity_store
from flows.web.activity_sync import sync_worklist_activities


@task(name="ingest-drop", cache_policy=NO_CACHE)
def ingest_drop(run_date: date, inbox: Path, *, scheduled: bool = False) -> DropLoad:
    """Load the day's drop. With ``VOTUM_DROP_READY_MARKER`` set the drop must carry its
    completion marker; a scheduled run waits for it up to ``VOTUM_DROP_WAIT_MINUTES``."""
    settings = get_settings()
    wait_for_drop(
        drop_dir_for(inbox, run_date),
        settings.drop_ready_marker,
        wait_seconds=settings.drop_wait_minutes * 60 if scheduled else 0.0,
        on_wait=lambda left: get_run_logger().info(
            "drop %s not delivered yet (no %s): waiting, %.0f s left",
            run_date,
            settings.drop_ready_marker,
            left,
        ),
    )
    with open_warehouse(settings.warehouse_path) as con:
        with stage_progress("ingest", "files", len(DROP_FILES)) as advance:
            load = load_drop(
                con,
                drop_dir_for(inbox, run_date),
                run_date,
                holdings_retention_drops=settings.holdings_retention_drops,
                on_file=advance,
            )
        # The rest of the run (quality queries, dbt) reads the day from raw.run_context.
        set_run_date(con, run_date, settings.sla_business_days)
        with open_journal(settings.journal_path) as journal:
            sync_suppressions(con, journal)
        with open_activity_store(settings.worklist_activities_path) as store:
            sync_worklist_activities(con, store)
    return load


@task(name="check-drop-quality", cache_policy=NO_CACHE)
def check_drop_quality(load: DropLoad, *, backfill: bool) -> QualityReport:
    return check_drop(get_settings(), load, backfill=backfill)


@task(name="check-mart-quality", cache_policy=NO_CACHE)
def check_mart_quality(run_date: date) -> QualityReport:
    """The mart suites where the marts were built (VOTUM_DBT_TARGET)."""
    settings = get_settings()
    return check_marts(settings, run_date, mart_rule_outcomes(settings))


@task(name="build-marts", cache_policy=NO_CACHE)
def build_marts_for_day(run_date: date, *, full_refresh: bool = False) -> int:
    """dbt build on the target; on PostgreSQL or Spark the raw layer goes there first."""
    result = build_day(get_settings(), run_date, full_refresh=full_refresh)
    return len(result.nodes)


@task(name="mirror-marts", cache_policy=NO_CACHE)
def mirror_built_marts() -> int:
    """The marts a remote target built, copied into the DuckDB file for planning."""
    return mirror_marts(get_settings())


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
    settings = get_settings()
    total = None
    if interactive():
        with open_warehouse(settings.warehouse_path, read_only=True) as con:
            total = pending_count(con) if table_exists(con, "ops", "delivery_ledger") else 0
    with stage_progress("dispatch", "emails", total) as advance:
        return dispatch(settings, on_batch=advance)


@task(name="preview-emails", cache_policy=NO_CACHE)
def preview_emails(run_date: date, out_dir: Path) -> int:
    return len(write_previews(get_settings(), run_date, out_dir))


@task(name="summarize-day", cache_policy=NO_CACHE)
def summarize(load: DropLoad) -> DaySummary:
    with open_warehouse(get_settings().warehouse_path, read_only=True) as con:
        return summarize_day(con, load)


def _flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    value = flow_run.get_id()
    return str(value) if value else None


@task(name="alert-operations", cache_policy=NO_CACHE)
def alert_operations(record: RunRecord) -> None:
    """One short email to ``VOTUM_OPS_ALERT_TO`` for a failed or held run."""
    settings = record.settings
    logger = get_run_logger()
    if not settings.ops_alert_to:
        logger.warning(
            "run %s ended %s; VOTUM_OPS_ALERT_TO is not set, so nobody is emailed",
            record.run_id,
            record.outcome,
        )
        return
    alert = OpsAlert(
        run_id=record.run_id,
        flow=record.flow,
        day=record.run_date or record.started_at.date(),
        week=record.week,
        outcome=record.outcome,
        stage=record.reported_stage,
        reason=record.reason or "",
        started_at=record.started_at.isoformat(sep=" "),
        counts={k: v for k, v in record.counts.items() if isinstance(v, int | float)},
    )
    try:
        with open_warehouse(settings.warehouse_path) as con:
            plan_ops_alert(con, alert, to=settings.ops_alert_to, mail_domain=settings.mail_domain)
        report = dispatch(settings, kinds=(OPS_ALERT,))
    except VotumError as exc:
        # The run's own outcome is recorded and its error goes on; the alert waits in
        # the ledger and goes out with the next dispatch.
        logger.error("the operations alert of run %s could not be sent: %s", record.run_id, exc)
        return
    logger.info(
        "operations alert for run %s (%s): %d sent, %d left pending",
        record.run_id,
        record.outcome,
        report.sent,
        report.left_pending,
    )


def _end_of_run(record: RunRecord) -> None:
    """Every run leaves its summary as a Prefect artifact; failed, held, refused and
    degraded runs alert, and so does a run that quarantined rows of its drop."""
    publish_run_summary(record)
    if record.outcome in (REFUSED, DEGRADED) or alerts_operations(record.outcome, record.counts):
        alert_operations(record)


@contextmanager
def _one_run(flow_name: str, purpose: str, **where: Any) -> Iterator[RunRecord]:
    """The frame of every flow: the run lock, the log file, the run ledger."""
    settings = get_settings()
    attach_log_file(settings)
    with (
        run_lock(settings.run_lock_path, purpose),
        held_warehouse(settings.warehouse_path, memory_limit=settings.warehouse_memory_limit),
        recorded_run(
            settings,
            flow_name,
            prefect_flow_run_id=_flow_run_id(),
            on_end=_end_of_run,
            **where,
        ) as record,
    ):
        yield record


def _refuse_or_skip(run: DailyRunParameters, run_date: date) -> DateDecision:
    settings = get_settings()
    last = None
    if settings.warehouse_path.exists():
        with open_warehouse(settings.warehouse_path, read_only=True) as con:
            last = last_processed_day(con)
    return decide_run_date(
        run_date,
        last_processed=last,
        backfill=run.backfill,
        force=run.force,
        scheduled=run.run_date is None,
        today=today_in_berlin(),
    )


def _refuse(decision: DateDecision) -> None:
    if not decision.allowed:
        raise RunRefusedError(f"Run refused: {decision.reason}.")


def undelivered(report: DispatchReport) -> str | None:
    """Why a dispatch did not get every email out (counts only), or None."""
    parts = []
    if report.left_pending:
        parts.append(
            f"{report.left_pending} emails left pending (the mail server kept deferring "
            "them; `votum dispatch` tries again)"
        )
    if report.failed:
        parts.append(
            f"{report.failed} emails failed (refused for good; `votum status` shows the "
            "server's replies)"
        )
    if report.uncertain:
        parts.append(
            f"{report.uncertain} emails of unknown outcome (no reply after the end of the "
            "message; resent at most once, later)"
        )
    if report.expired:
        parts.append(f"{report.expired} emails expired (pending too long, not sent late)")
    return "; ".join(parts) or None


def _note_undelivered(record: RunRecord, report: DispatchReport) -> None:
    reason = undelivered(report)
    if reason:
        record.degrade(reason)


@flow(name="votum-daily-run", persist_result=False, validate_parameters=True)
def daily_run(run: DailyRunParameters = DEFAULT_DAILY) -> DaySummary | None:
    """One business day: the drop ``inbox/<run_date>/`` to the clients' inboxes.

    ``send=False`` stops after planning: the emails wait in the ledger for
    ``votum dispatch`` (to build early and send at a set hour). ``backfill=True``
    loads and builds a past day (older than the last one) and plans and sends nothing.
    Returns None when a scheduled run finds no business day to run."""
    logger = get_run_logger()
    settings = get_settings()
    checked_target(settings)
    if not run.backfill:
        check_sending_settings(settings, smtp=run.send and not run.dry_run)
    run_date = run.resolved_date()
    inbox = run.inbox or settings.inbox_dir
    with run_lock(settings.run_lock_path, f"votum daily run {run_date}"):
        decision = _refuse_or_skip(run, run_date)
        if decision.skip:
            logger.info("skipped: %s", decision.reason)
            return None
        with _one_run("daily-run", f"votum daily run {run_date}", run_date=run_date) as record:
            # A refusal is a run of its own: recorded (refused) and alerted.
            record.stage("check_date", lambda: _refuse(decision))
            return _daily_stages(record, run, run_date, inbox)


def _preload_build_libraries(*, gates: bool = True) -> None:
    """The quality gates and dbt started in side processes (or imported here on a
    thread) while the drop loads; the first validation and dbt call wait for them.
    ``gates=False``: the gates run here (an intraday batch's own checks)."""
    start_build_processes(get_settings(), gates=gates)


def _daily_stages(
    record: RunRecord, run: DailyRunParameters, run_date: date, inbox: Path
) -> DaySummary:
    logger = get_run_logger()
    _preload_build_libraries()
    seconds = record.stage_seconds
    load = record.stage(
        "ingest", lambda: ingest_drop(run_date, inbox, scheduled=run.run_date is None)
    )
    record.count({f"rows_loaded_{f.file_kind}": f.rows_loaded for f in load.files})
    logger.info(
        "ingest: %s in %.1fs",
        ", ".join(f"{f.file_kind} {f.rows_loaded} rows" for f in load.files),
        seconds["ingest"],
    )

    raw_quality = record.stage(
        "quality_raw", lambda: check_drop_quality(load, backfill=run.backfill)
    )
    record.count({f"rows_quarantined_{k}": v for k, v in raw_quality.quarantined.items()})
    logger.info(
        "quality (raw): %d rules, %d quarantined rows, %d warnings in %.1fs; Data Docs %s",
        len(raw_quality.outcomes),
        sum(raw_quality.quarantined.values()),
        len(raw_quality.warnings),
        seconds["quality_raw"],
        raw_quality.data_docs,
    )

    nodes = record.stage(
        "dbt_build", lambda: build_marts_for_day(run_date, full_refresh=run.full_refresh)
    )
    logger.info("dbt build: %d nodes passed in %.1fs", nodes, seconds["dbt_build"])
    if get_settings().dbt_target != "duckdb":
        mirrored = record.stage("mirror_marts", mirror_built_marts)
        record.count({"rows_mirrored": mirrored})
        logger.info(
            "marts mirrored into DuckDB: %d rows in %.1fs", mirrored, seconds["mirror_marts"]
        )

    mart_quality = record.stage("quality_marts", lambda: check_mart_quality(run_date))
    done_with_build_processes()
    logger.info(
        "quality (marts): %d rules in %.1fs", len(mart_quality.outcomes), seconds["quality_marts"]
    )
    holds = [*raw_quality.hold_reasons, *mart_quality.hold_reasons]
    if run.backfill:
        summary = replace(
            record.stage("summary", lambda: summarize(load)),
            stage_seconds=dict(seconds),
            quarantined=raw_quality.quarantined,
            quarantine_reasons=raw_quality.quarantine_reasons,
            quality_warnings=raw_quality.warnings,
            data_docs=str(raw_quality.data_docs),
            backfill=True,
        )
        record.count(_day_counts(summary))
        logger.info("backfill: built, nothing planned or sent\n%s", format_summary(summary))
        return summary

    plan = record.stage("plan", lambda: plan_emails(run_date, hold_reason="; ".join(holds) or None))
    record.count({"digests_planned": plan.digests, "worklists_planned": plan.worklists})
    logger.info(
        "plan: %d client digests, %d worklists in %.1fs%s",
        plan.digests,
        plan.worklists,
        seconds["plan"],
        f"; HELD: {plan.held_reason}" if plan.held_reason else "",
    )
    if plan.held_reason:
        record.hold(plan.held_reason)
        record.count({"emails_held": plan.digests + plan.worklists})

    report = DispatchReport()
    previews = 0
    if run.dry_run:
        folder = run.preview_dir or get_settings().home_dir / "preview" / run_date.isoformat()
        previews = record.stage("preview", lambda: preview_emails(run_date, folder))
        logger.info("dry run: %d emails written to %s, nothing sent", previews, folder)
    elif run.send:
        report = record.stage("dispatch", dispatch_emails)
        logger.info(
            "dispatch: %d sent, %d failed, %d suppressed, %d left pending in %.1fs",
            report.sent,
            report.failed,
            report.suppressed,
            report.left_pending,
            seconds["dispatch"],
        )
        _note_undelivered(record, report)

    summary = record.stage("summary", lambda: summarize(load))
    summary = replace(
        summary,
        stage_seconds=dict(seconds),
        digests_planned=plan.digests,
        worklists_planned=plan.worklists,
        held_reason=plan.held_reason,
        emails_sent=report.sent,
        digests_sent=report.digests_sent,
        worklists_sent=report.worklists_sent,
        emails_failed=report.failed,
        emails_suppressed=report.suppressed,
        emails_pending=report.left_pending,
        emails_uncertain=report.uncertain,
        emails_withdrawn=report.withdrawn,
        emails_expired=report.expired,
        emails_previewed=previews,
        unsendable=tuple(sorted(plan.unusable.values())),
        quarantined=raw_quality.quarantined,
        quarantine_reasons=raw_quality.quarantine_reasons,
        quality_warnings=raw_quality.warnings,
        data_docs=str(raw_quality.data_docs),
    )
    record.count(_day_counts(summary))
    logger.info("summary:\n%s", format_summary(summary))
    return summary


def _day_counts(summary: DaySummary) -> dict[str, int]:
    return {
        "rating_changes": summary.changes,
        "initiations": summary.initiations,
        "affected_clients": summary.affected_clients,
        "affected_positions": summary.affected_positions,
        "eligible_clients": summary.eligible_clients,
        "emails_sent": summary.emails_sent,
        "emails_failed": summary.emails_failed,
        "emails_suppressed": summary.emails_suppressed,
        "emails_pending": summary.emails_pending,
        "emails_uncertain": summary.emails_uncertain,
        "emails_withdrawn": summary.emails_withdrawn,
        "emails_expired": summary.emails_expired,
        "emails_previewed": summary.emails_previewed,
    }


@dataclass(frozen=True)
class IntradaySummary:
    business_day: date
    batches_processed: tuple[str, ...] = ()
    client_emails_planned: int = 0
    worklists_planned: int = 0
    clients_waiting: int = 0  # beyond the daily limit: in the next morning's digest
    held_reason: str | None = None
    dispatch: DispatchReport = field(default_factory=DispatchReport)
    skipped_reason: str | None = None  # a scheduled call that found the run lock taken


@task(name="pending-batches", cache_policy=NO_CACHE)
def pending_batches(day: date, inbox: Path) -> list[Batch]:
    """The day's batches not processed yet, in delivery order (the morning run first)."""
    delivered = find_batches(inbox, day)
    if not delivered:
        return []  # a poll before any batch came needs nothing, not even the morning run
    with open_warehouse(get_settings().warehouse_path) as con:
        done = processed_batches(con, day)
        pending = [b for b in delivered if b.batch_id not in done]
        if pending:
            require_morning_run(con, day)
    return pending


@task(name="ingest-batch", cache_policy=NO_CACHE)
def ingest_batch(batch: Batch) -> tuple[SourceFile, FileLoad]:
    settings = get_settings()
    check_drop_ready(batch.folder, settings.drop_ready_marker)
    with open_warehouse(settings.warehouse_path) as con:
        source = batch_source(con, batch)
        load = load_batch(con, batch, source)
        set_run_date(con, batch.day, settings.sla_business_days)
        with open_journal(settings.journal_path) as journal:
            sync_suppressions(con, journal)
    return source, load


@task(name="check-batch-quality", cache_policy=NO_CACHE)
def check_batch_quality(batch: Batch, source: SourceFile, load: FileLoad) -> int:
    return check_batch(get_settings(), batch, source, load).quarantined


@task(name="build-batch-marts", cache_policy=NO_CACHE)
def build_batch_marts(day: date) -> int:
    """dbt builds what a batch changes: the rating history, the day's changes and the
    change-by-client rows of the day (raw.run_context), and the notification lines.
    On PostgreSQL or Spark the day is built whole, as its morning run does: publishing
    the raw layer there can drop views of the project over a table that changed, and
    only a whole build makes them again."""
    settings = get_settings()
    if settings.dbt_target != "duckdb":
        return len(build_day(settings, day).nodes)
    return len(build_selected(settings, list(INTRADAY_MODELS)).nodes)


@task(name="check-batch-mart-quality", cache_policy=NO_CACHE)
def check_batch_mart_quality(batch: Batch) -> QualityReport:
    """The mart suite on the batch's rows (where the marts were built), recorded under
    the batch: the morning's results stay."""
    settings = get_settings()
    remote = settings.dbt_target != "duckdb"
    return check_batch_marts(settings, batch, mart_rule_outcomes(settings) if remote else None)


@task(name="plan-batch-emails", cache_policy=NO_CACHE)
def plan_batch_emails(batch: Batch, load: FileLoad, hold_reason: str | None) -> IntradayBatchPlan:
    settings = get_settings()
    with (
        open_warehouse(settings.warehouse_path) as con,
        open_journal(settings.journal_path) as journal,
    ):
        plan = plan_batch(
            con,
            journal,
            batch.day,
            batch.batch_id,
            max_per_client=settings.max_intraday_emails_per_client,
            max_change_share=settings.max_change_share,
            min_changed_isins=settings.min_changed_isins,
            advisor_language=settings.advisor_language,
            mail_domain=settings.mail_domain,
            hold_reason=hold_reason,
        )
        mark_processed(con, batch, load, "held" if plan.held_reason else "planned")
    return plan


@flow(name="votum-intraday-run", persist_result=False, validate_parameters=True)
def intraday_run(run: IntradayRunParameters = DEFAULT_INTRADAY) -> IntradaySummary:
    """The day's intraday batches not processed yet, one after the other in delivery
    order, each through the daily run's stages: ingest, raw gate, dbt build of the day,
    mart gate, plan; then dispatch. A batch that fails stops the call there: later
    batches wait for it (their changes are sequenced after it). ``scheduled`` (the
    deployment's polls): a call that finds the run lock taken, or a day that is not a
    business day, returns quietly (the next poll tries)."""
    settings = get_settings()
    checked_target(settings)
    check_sending_settings(settings)
    day = run.resolved_date()
    folder = run.inbox or settings.inbox_dir
    scheduled = run.scheduled
    if scheduled and not is_business_day(day):
        reason = f"{day} is not a business day"
        get_run_logger().info("skipped: %s", reason)
        return IntradaySummary(day, skipped_reason=reason)
    try:
        with _one_run("intraday", f"votum intraday {day}", run_date=day) as record:
            return _intraday_stages(record, day, folder)
    except RunInProgressError as exc:
        if not scheduled:
            raise
        get_run_logger().info("skipped, the next poll tries again: %s", exc)
        return IntradaySummary(day, skipped_reason=str(exc))


def _intraday_batch(record: RunRecord, batch: Batch) -> IntradayBatchPlan:
    """One batch through the stages; the run ledger names the batch in each stage."""
    prefix = f"batch_{batch.batch_id}"
    source, load = record.stage(f"{prefix}_ingest", lambda: ingest_batch(batch))
    quarantined = record.stage(
        f"{prefix}_quality_raw", lambda: check_batch_quality(batch, source, load)
    )
    record.stage(f"{prefix}_dbt_build", lambda: build_batch_marts(batch.day))
    if get_settings().dbt_target != "duckdb":
        # Planning reads the DuckDB file: the marts the engine built come back first.
        record.stage(f"{prefix}_mirror_marts", mirror_built_marts)
    marts = record.stage(f"{prefix}_quality_marts", lambda: check_batch_mart_quality(batch))
    hold = "; ".join(marts.hold_reasons) or None
    plan = record.stage(f"{prefix}_plan", lambda: plan_batch_emails(batch, load, hold))
    get_run_logger().info(
        "batch %s: %d rows, %d quarantined, %d client emails, %d worklists, %d clients "
        "waiting for the morning%s",
        batch.label,
        load.rows_loaded,
        quarantined,
        plan.client_emails,
        plan.worklists,
        plan.waiting_clients,
        f"; HELD: {plan.held_reason}" if plan.held_reason else "",
    )
    return plan


def _intraday_stages(record: RunRecord, day: date, inbox: Path) -> IntradaySummary:
    batches = record.stage("find_batches", lambda: pending_batches(day, inbox))
    if batches:
        _preload_build_libraries(gates=False)
    done: list[str] = []
    emails = worklists = waiting = 0
    held: str | None = None
    stopped: VotumError | None = None
    for batch in batches:
        try:
            plan = _intraday_batch(record, batch)
        except VotumError as exc:
            # The faulty batch stops here (later ones wait for it); the batches before it
            # still go out, then the run fails with the batch's error.
            stopped = exc
            break
        done.append(batch.batch_id)
        emails += plan.client_emails
        worklists += plan.worklists
        waiting += plan.waiting_clients
        held = held or plan.held_reason
    if held:
        record.hold(held)
    report = record.stage("dispatch", dispatch_emails)
    record.count(
        {
            "batches_processed": len(done),
            "intraday_emails_planned": emails,
            "intraday_worklists_planned": worklists,
            "clients_waiting_for_digest": waiting,
        }
        | _dispatch_counts(report)
    )
    _note_undelivered(record, report)
    if stopped is not None:
        raise stopped
    return IntradaySummary(
        business_day=day,
        batches_processed=tuple(done),
        client_emails_planned=emails,
        worklists_planned=worklists,
        clients_waiting=waiting,
        held_reason=held,
        dispatch=report,
    )


@task(name="release-held-day", cache_policy=NO_CACHE)
def release_held(business_day: date, note: str | None) -> int:
    with open_warehouse(get_settings().warehouse_path) as con:
        refuse_contrary_decision(con, business_day, RELEASED)
        return release_day(con, business_day, note)


@flow(name="votum-release-day", persist_result=False, validate_parameters=True)
def release_run(business_day: date, note: str | None = None) -> tuple[int, DispatchReport]:
    """A person looked at a held day and lets its emails go: held rows become pending
    and are sent now, exactly once."""
    check_sending_settings(get_settings())
    with _one_run("release", f"votum release {business_day}", run_date=business_day) as record:
        released = record.stage("release", lambda: release_held(business_day, note))
        report = record.stage("dispatch", dispatch_emails)
        record.count(_dispatch_counts(report) | {"emails_released": released})
        _note_undelivered(record, report)
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
    check_sending_settings(get_settings())
    with _one_run("dispatch", "votum dispatch") as record:
        report = record.stage("dispatch", dispatch_emails)
        record.count(_dispatch_counts(report))
        _note_undelivered(record, report)
    get_run_logger().info(
        "dispatch: %d sent, %d failed, %d suppressed, %d left pending",
        report.sent,
        report.failed,
        report.suppressed,
        report.left_pending,
    )
    return report


def _dispatch_counts(report: DispatchReport) -> dict[str, int]:
    return {
        "emails_sent": report.sent,
        "emails_failed": report.failed,
        "emails_suppressed": report.suppressed,
        "emails_pending": report.left_pending,
        "emails_uncertain": report.uncertain,
        "emails_withdrawn": report.withdrawn,
        "emails_expired": report.expired,
    }


@dataclass(frozen=True)
class ReportSummary:
    week: str
    branches: int
    folder: Path
    emails_planned: int
    emails_sent: int
    emails_failed: int
    emails_pending: int = 0
    emails_uncertain: int = 0
    emails_expired: int = 0


@task(name="build-adoption-marts", cache_policy=NO_CACHE)
def build_adoption_marts() -> int:
    """The adoption models again: the worklists' send times are in the ledger now. On a
    remote target they are built there and mirrored back."""
    settings = get_settings()
    # The advisors' latest worklist clicks count too (votum serve writes them any time).
    with (
        open_warehouse(settings.warehouse_path) as con,
        open_activity_store(settings.worklist_activities_path) as store,
    ):
        sync_worklist_activities(con, store)
        # And the clients' opt-outs, counted per branch in the report.
        with open_journal(settings.journal_path) as journal:
            sync_client_opt_outs(con, journal)
    result = build_selected(settings, list(REPORT_BUILD_SELECT))
    mirror_marts(settings)
    return len(result.nodes)


@task(name="collect-report-figures", cache_policy=NO_CACHE)
def collect_report_figures(monday: date) -> tuple[list[BranchReport], BankReport]:
    settings = get_settings()
    options = {
        "language": settings.report_language,
        "target_adoption_rate": settings.adoption_target,
        "sla_business_days": settings.sla_business_days,
        "fee_rate": settings.fee_rate,
        "min_baseline_clients": settings.min_baseline_clients,
    }
    with open_warehouse(settings.warehouse_path, read_only=True) as con:
        branches = [
            branch_report(con, branch, monday, **options)  # type: ignore[arg-type]
            for branch in branches_of_week(con, monday)
        ]
        bank = bank_report(
            con,
            monday,
            **options,  # type: ignore[arg-type]
            goal_informed_share=settings.goal_informed_share,
            goal_fee_eur_weekly=settings.goal_fee_eur_weekly,
        )
    return branches, bank


@task(name="write-report-files", cache_policy=NO_CACHE)
def write_reports(branches: list[BranchReport], bank: BankReport) -> Path:
    # The report's rendering imports matplotlib (0.3 s): only the weekly flow needs it.
    from flows.report.files import write_report_files

    written = write_report_files(get_settings().home_dir / "reports", branches, bank)
    return written["bank"].parent.parent


@task(name="plan-report-emails", cache_policy=NO_CACHE)
def plan_report_emails(branches: list[BranchReport], bank: BankReport) -> int:
    from flows.report.deliver import plan_reports  # matplotlib, as write_reports

    settings = get_settings()
    with open_warehouse(settings.warehouse_path) as con:
        return plan_reports(
            con,
            branches,
            bank,
            summary_to=settings.report_summary_to,
            mail_domain=settings.mail_domain,
            advisor_language=settings.advisor_language if settings.advisor_weekly else None,
        )


def last_complete_week(today: date) -> date:
    """Monday of the last ISO week that has ended before ``today``."""
    return today - timedelta(days=today.weekday() + 7)


@flow(name="votum-weekly-report", persist_result=False, validate_parameters=True)
def weekly_report(report: WeeklyReportParameters = DEFAULT_WEEKLY) -> ReportSummary:
    """The adoption report of an ISO week (default: the last complete one): files under
    ``VOTUM_HOME/reports/<week>/``, one email per branch manager, the bank summary."""
    logger = get_run_logger()
    checked_target(get_settings())
    check_sending_settings(get_settings(), smtp=report.send)
    today = report.today or today_in_berlin()
    monday = parse_week(report.week)[1] if report.week else last_complete_week(today)
    label = week_label(monday)
    with _one_run("weekly-report", f"votum report {label}", run_date=monday, week=label) as record:
        record.stage("dbt_build", build_adoption_marts)
        branches, bank = record.stage("figures", lambda: collect_report_figures(monday))
        folder = record.stage("files", lambda: write_reports(branches, bank))
        logger.info("report %s: %d branches, files in %s", label, len(branches), folder)
        planned = record.stage("plan", lambda: plan_report_emails(branches, bank))
        sent = record.stage("dispatch", dispatch_emails) if report.send else DispatchReport()
        record.count({"branches": len(branches), "emails_planned": planned})
        record.count(_dispatch_counts(sent))
        _note_undelivered(record, sent)
    return ReportSummary(
        week=label,
        branches=len(branches),
        folder=folder,
        emails_planned=planned,
        emails_sent=sent.sent,
        emails_failed=sent.failed,
        emails_pending=sent.left_pending,
        emails_uncertain=sent.uncertain,
        emails_expired=sent.expired,
    )
