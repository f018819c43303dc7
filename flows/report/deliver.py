"""The weekly reports into the delivery ledger: one email per branch manager and week,
and the bank-wide summary to ``VOTUM_REPORT_SUMMARY_TO``, exactly once like every other
email (planning the week again plans nothing new)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from flows.notify.addresses import address_problem
from flows.notify.ledger import (
    ADOPTION_REPORT,
    ADOPTION_SUMMARY,
    ADVISOR_WEEKLY,
    FAILED,
    PENDING,
    upsert_planned,
)
from flows.notify.plan import planned_message
from flows.report import advisor_week
from flows.report.extract import advisor_summaries
from flows.report.files import branch_folder_names
from flows.report.model import BankReport, BranchReport, Language
from flows.report.serialize import to_json


def plan_reports(
    con: duckdb.DuckDBPyConnection,
    branches: Sequence[BranchReport],
    bank: BankReport,
    *,
    summary_to: str | None,
    mail_domain: str,
    advisor_language: Language | None = None,
) -> int:
    """Ledger rows for the week's reports: one per branch manager, the bank summary when
    ``summary_to`` is set, and, unless ``advisor_language`` is None (VOTUM_ADVISOR_WEEKLY
    off), each advisor's own week. Returns how many emails the week has in all (planning
    again adds nothing)."""
    messages = []
    keys = branch_folder_names(report.branch for report in branches)
    for report in branches:
        problem = address_problem(report.manager_email)
        messages.append(
            planned_message(
                ADOPTION_REPORT,
                report.week_start,
                keys[report.branch],
                f"Filialleitung {report.branch}",
                report.manager_email,
                report.language,
                [report.week, report.branch],
                to_json(report),
                FAILED if problem else PENDING,
                f"branch {report.branch}: manager {problem}" if problem else None,
                mail_domain,
            )
        )
    if summary_to:
        problem = address_problem(summary_to)
        messages.append(
            planned_message(
                ADOPTION_SUMMARY,
                bank.week_start,
                "bank",
                None,
                summary_to,
                bank.language,
                [bank.week],
                to_json(bank),
                FAILED if problem else PENDING,
                f"VOTUM_REPORT_SUMMARY_TO: {problem}" if problem else None,
                mail_domain,
            )
        )
    if advisor_language is not None:
        for report in branches:
            for summary in advisor_summaries(con, report, language=advisor_language):
                problem = address_problem(summary.email)
                messages.append(
                    planned_message(
                        ADVISOR_WEEKLY,
                        summary.week_start,
                        summary.advisor_id,
                        summary.advisor_name,
                        summary.email,
                        summary.language,
                        [summary.week, summary.advisor_id],
                        advisor_week.to_json(summary),
                        FAILED if problem else PENDING,
                        f"advisor {summary.advisor_id}: {problem}" if problem else None,
                        mail_domain,
                    )
                )
    upsert_planned(con, messages)
    return len(messages)
