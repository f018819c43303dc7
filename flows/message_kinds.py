"""Which function turns each kind of email in the delivery ledger into a message at send
time: ``kind -> "module:function"``, a function ``(payload JSON, SendContext) ->
MessageContent`` (flows/notify/kinds.py) in the package the kind belongs to.

Each kind's package renders its own emails: notify the client digests and worklists,
report the weekly reports and the advisor's week, runs the operations alert. The sending
core (flows/notify/sending.py) imports the named module when it first sends that kind,
in whatever process sends it (a command, a flow run, a Dask worker of the fan-out): notify
never imports report or runs, and no caller has to remember to register anything. Only
names here, no imports: this table is part of the package's base, below every stage.
"""

from __future__ import annotations

from collections.abc import Mapping

_NOTIFY = "flows.notify.digest_and_worklist"
_REPORT = "flows.report.emails"

RENDERERS: Mapping[str, str] = {
    "client_digest": f"{_NOTIFY}:render_client_digest_message",
    "client_intraday": f"{_NOTIFY}:render_client_digest_message",
    "advisor_worklist": f"{_NOTIFY}:render_worklist_message",
    "advisor_intraday": f"{_NOTIFY}:render_worklist_message",
    "adoption_report": f"{_REPORT}:render_branch_report_message",
    "adoption_summary": f"{_REPORT}:render_bank_report_message",
    "advisor_weekly": f"{_REPORT}:render_advisor_week_message",
    "ops_alert": "flows.runs.ops_alert:render_ops_alert_message",
}
