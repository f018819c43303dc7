"""The renderers of the report's kinds of email at send time (flows/message_kinds.py): a
branch manager's weekly report, the board's bank summary (both with their charts as
inline images) and an advisor's own week with the worklist's action links, signed when
the email goes out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flows.links import worklist_action_links
from flows.notify.kinds import MessageContent, SendContext
from flows.notify.render import Rendered
from flows.report.advisor_week import advisor_summary_from_json, render_advisor_summary
from flows.report.render import RenderedReport, render_bank_report, render_branch_report
from flows.report.serialize import bank_report_from_json, branch_report_from_json


def _report_message(report: RenderedReport) -> MessageContent:
    rendered = Rendered(subject=report.subject, text=report.text, html=report.html_email)
    return MessageContent(rendered, images=report.images)


def render_branch_report_message(payload: str, context: SendContext) -> MessageContent:
    return _report_message(render_branch_report(branch_report_from_json(payload)))


def render_bank_report_message(payload: str, context: SendContext) -> MessageContent:
    return _report_message(render_bank_report(bank_report_from_json(payload)))


def render_advisor_week_message(payload: str, context: SendContext) -> MessageContent:
    summary = advisor_summary_from_json(payload)

    def links(day: date, client_id: str, isin: str) -> Mapping[str, str]:
        # Signed now: they expire counted from the day the email goes out.
        return worklist_action_links(
            context.settings,
            summary.advisor_id,
            day.isoformat(),
            context.sent_at.date(),
            summary.language,
        )(client_id, isin)

    page = render_advisor_summary(summary, links)
    return MessageContent(Rendered(subject=page.subject, text=page.text, html=page.html))
