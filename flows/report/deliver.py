"""The weekly reports into the delivery ledger: one email per branch manager and week,
and the bank-wide summary to ``VOTUM_REPORT_SUMMARY_TO``, exactly once like every other
email (planning the week again plans nothing new)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from flows.notify.addresses import address_problem
from flows.notify.ledger import ADOPTION_REPORT, ADOPTION_SUMMARY, FAILED, PENDING, upsert_planned
from flows.notify.plan import planned_message
from flows.report.files import branch_folder_names
from flows.report.model import BankReport, BranchReport
from flows.report.serialize import to_json


def plan_reports(
    con: duckdb.DuckDBPyConnection,
    branches: Sequence[BranchReport],
    bank: BankReport,
    *,
    summary_to: str | None,
    mail_domain: str,
) -> int:
    """Ledger rows for the week's reports; returns how many are new."""
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
    return upsert_planned(con, messages)
