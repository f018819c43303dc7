"""The renderers of notify's own kinds (flows/message_kinds.py): a client's digest (daily
or intraday) with its signed opt-out links, an advisor's worklist (daily or intraday)
with each line's signed action links and whether each client was emailed."""

from __future__ import annotations

from flows.links import unsubscribe_links, worklist_action_links
from flows.notify.kinds import MessageContent, SendContext
from flows.notify.payloads import client_digest_from_json, worklist_from_json
from flows.notify.render import render_client_digest, render_worklist


def render_client_digest_message(payload: str, context: SendContext) -> MessageContent:
    digest = client_digest_from_json(payload)
    unsubscribe = unsubscribe_links(
        context.settings, digest.client_id, context.business_day, digest.language
    )
    rendered = render_client_digest(digest, unsubscribe, bank_name=context.settings.bank_name)
    return MessageContent(rendered, unsubscribe=unsubscribe)


def render_worklist_message(payload: str, context: SendContext) -> MessageContent:
    worklist = worklist_from_json(payload)
    # Each line's signed action links for votum serve; they expire counted from today.
    actions = worklist_action_links(
        context.settings,
        worklist.advisor_id,
        worklist.business_day,
        context.sent_at.date(),
        worklist.language,
    )
    return MessageContent(render_worklist(worklist, context.delivery, actions))
