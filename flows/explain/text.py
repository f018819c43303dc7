"""An explanation in plain words (``votum explain`` without ``--json``). Pure."""

from __future__ import annotations

from flows.explain.answer import EmailOutcome, Explanation, RatingRow, SourceRow
from flows.explain.rules import ineligible_words
from flows.notify.ledger import (
    ADVISOR_WORKLIST,
    CLIENT_DIGEST,
)


def _where(source: SourceRow) -> str:
    where = f"drop {source.drop_date}, {source.file or f'no {source.file_kind} file'}"
    if source.lines:
        plural = "s" if len(source.lines) > 1 else ""
        where += f" {source.position}{plural} {', '.join(str(n) for n in source.lines)}"
    else:
        key = ", ".join(f"{k} {v}" for k, v in source.key.items() if v is not None)
        where += f" (row {key})"
    if source.note:
        where += f" [{source.note}]"
    return where


def _rating_words(row: RatingRow) -> str:
    return (
        f"{_where(row.source)}: label {row.label_as_delivered!r} "
        f"(normalised: {row.rating}), published {row.rated_at}"
    )


def _email_words(email: EmailOutcome, what: str) -> list[str]:
    lines = [f"{what}: {email.outcome}."]
    lines.append(f"  planned at {email.planned_at}; Message-ID {email.message_id}")
    if email.day_hold is not None:
        hold = email.day_hold
        held = f"  the day was held at {hold.held_at}: {hold.reason}"
        if hold.decision:
            held += f"; {hold.decision} at {hold.decided_at}"
            held += f" ({hold.note})" if hold.note else ""
        lines.append(held)
    if email.claimed:
        lines.append(f"  claimed for sending; {email.attempts} attempt(s)")
    if email.sent_at:
        lines.append(f"  sent at {email.sent_at}")
    if email.server_reply:
        lines.append(f"  the server's reply: {email.server_reply}")
    if email.unfolded_outcome:
        lines.append(
            f"  the journal holds the outcome {email.unfolded_outcome!r}, not yet in the ledger"
        )
    return lines


def as_text(explanation: Explanation) -> str:
    """The explanation in plain words."""
    out: list[str] = []
    if explanation.subject == "message" and explanation.message_id:
        out.append(f"Message-ID {explanation.message_id}")
    if explanation.client_id:
        out.append(f"Client {explanation.client_id}, business day {explanation.business_day}")
    elif explanation.advisor_id:
        out.append(
            f"Worklist of advisor {explanation.advisor_id}, business day {explanation.business_day}"
        )
    if explanation.client_id or explanation.advisor_id:
        out.append("")
        whom = "the client" if explanation.client_id else "a client of this advisor"
        if explanation.changes:
            out.append(f"Rating changes that made {whom} affected ({len(explanation.changes)}):")
        else:
            out.append(f"No rating change of this day affected {whom}.")
    for change in explanation.changes:
        who = (
            f"client {change.client_id}: "
            if explanation.advisor_id and not explanation.client_id
            else ""
        )
        previous = change.previous_rating
        out.append(
            f"- {who}{change.security_name or change.isin} ({change.isin}): {change.change_type} "
            f"{previous.rating if previous else '-'} -> {change.new_rating.rating}, "
            f"changed on {change.changed_on}"
        )
        out.append(f"    new rating:      {_rating_words(change.new_rating)}")
        if previous is not None:
            out.append(f"    previous rating: {_rating_words(previous)}")
        holding = change.holding
        out.append(
            f"    position:        {_where(holding.source)}: quantity {holding.quantity}, "
            f"value {holding.market_value_eur} EUR (holdings snapshot of {holding.snapshot_date})"
        )
        out.append(
            "    eligible to be emailed"
            if change.notify_eligible
            else f"    not emailed: {ineligible_words(change.ineligible_reason or '')}"
        )
    if explanation.not_affected:
        out.append("")
        out.append("Changes of securities the client held that did not affect the client:")
        for exclusion in explanation.not_affected:
            out.append(
                f"- {exclusion.security_name or exclusion.isin} ({exclusion.isin}): "
                f"{exclusion.change_type} on {exclusion.changed_on}: not affected "
                f"[{exclusion.rule}]: {exclusion.reason}"
            )
            for evidence in exclusion.evidence:
                if evidence.quantity is None:
                    source = evidence.source
                    out.append(
                        f"    snapshot of {evidence.snapshot_date}: drop {source.drop_date}, "
                        f"{source.file or 'no holdings file'}: no line for the client and "
                        "this security"
                    )
                else:
                    out.append(
                        f"    snapshot of {evidence.snapshot_date}: {_where(evidence.source)}: "
                        f"quantity {evidence.quantity}, value {evidence.market_value_eur} EUR"
                    )
    if explanation.eligibility is not None:
        out.append("")
        decision = {
            "eligible": "eligible (opted in, valid address, not suppressed)",
            "not_eligible": "not eligible",
            "not_affected": "nothing to decide (not affected this day)",
        }[explanation.eligibility.decision]
        out.append(f"Eligibility: {decision}.")
        for reason in explanation.eligibility.reasons:
            out.append(f"- {reason.words}")
    if explanation.email is not None:
        out.append("")
        kind = {CLIENT_DIGEST: "Client email", ADVISOR_WORKLIST: "Worklist email"}.get(
            explanation.email.kind, f"Email ({explanation.email.kind})"
        )
        out += _email_words(explanation.email, kind)
    elif explanation.client_id and explanation.changes:
        out.append("")
        out.append("Client email: none planned; the advisor's worklist says to call the client.")
    elif explanation.advisor_id and not explanation.client_id:
        out.append("")
        out.append("Worklist email: none planned for this advisor and day.")
    if explanation.worklist is not None and explanation.client_id:
        out.append("")
        out += _email_words(explanation.worklist, f"Advisor {explanation.advisor_id}'s worklist")
    if explanation.worklist_lines:
        out.append("")
        out.append(f"Worklist lines ({len(explanation.worklist_lines)}):")
        for line in explanation.worklist_lines:
            told = (
                "emailed"
                if line.notify_eligible
                else f"to call: {ineligible_words(line.ineligible_reason or '')}"
            )
            out.append(
                f"- client {line.client_id}, {line.security_name or line.isin} ({line.isin}) "
                f"{line.change_type}, value {line.market_value_eur} EUR: {told}"
            )
    if explanation.changes or explanation.not_affected:
        out.append("")
        out.append(f"Line numbers: {explanation.line_numbering}.")
    return "\n".join(out)
