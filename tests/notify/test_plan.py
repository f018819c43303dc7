"""The pure parts of planning: circuit breaker, Message-IDs, eligibility, grouping."""

from __future__ import annotations

from datetime import date
from typing import Any

from flows.notify.plan import (
    build_digests,
    build_worklists,
    circuit_breaker_reason,
    decide_eligibility,
    message_id,
    message_key,
)

DAY = date(2026, 3, 3)


def line(client: str, isin: str, value: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "business_day": DAY, "client_id": client, "change_id": f"ch-{isin}", "isin": isin,
        "security_name": f"Security {isin}", "change_type": "downgrade",
        "previous_rating": "buy", "previous_label_de": "Kaufen", "previous_label_en": "Buy",
        "new_rating": "sell", "new_label_de": "Verkaufen", "new_label_en": "Sell",
        "changed_on": DAY, "rated_at": None, "previous_rated_at": None, "target_price": None,
        "currency": None, "analyst": None, "quantity": "1", "market_value_eur": value,
        "portfolio_weight": 0.5, "notify_eligible": True, "ineligible_reason": None,
        "first_name": "Anna", "last_name": client, "email": f"{client.lower()}@example.com",
        "language": "de", "advisor_id": "A1", "advisor_name": "Petra", "advisor_email": "p@bank.example",
        "branch": "Köln",
    }  # fmt: skip
    row.update(extra)
    return row


def test_circuit_breaker_thresholds() -> None:
    assert circuit_breaker_reason(25, 100, 0.25, 20) is None  # exactly 25 %: plausible
    assert circuit_breaker_reason(26, 100, 0.25, 20) is not None
    assert circuit_breaker_reason(19, 20, 0.25, 20) is None  # fewer than 20 ISINs
    assert circuit_breaker_reason(20, 0, 0.25, 20) is not None  # a first drop with history
    reason = circuit_breaker_reason(30, 100, 0.25, 20)
    assert reason is not None and "30 ISINs" in reason and "votum release" in reason


def test_message_ids_depend_on_what_is_notified() -> None:
    first = message_id("client_digest", DAY, "C1", ["x", "y"], "bank.example")
    assert first == message_id("client_digest", DAY, "C1", ["y", "x"], "bank.example")
    others = {
        message_id("client_digest", date(2026, 3, 4), "C1", ["x", "y"], "bank.example"),
        message_id("advisor_worklist", DAY, "C1", ["x", "y"], "bank.example"),
        message_id("client_digest", DAY, "C2", ["x", "y"], "bank.example"),
        message_id("client_digest", DAY, "C1", ["x"], "bank.example"),
    }
    assert first not in others and len(others) == 4
    assert first.startswith("<") and first.endswith(".client_digest@bank.example>")
    assert message_key("client_digest", DAY, "C1") == "client_digest:2026-03-03:C1"


def test_eligibility_is_tightened_by_suppressions_and_unusable_addresses() -> None:
    rows = decide_eligibility(
        [
            line("C1", "I1", "10", email="Anna@Example.com"),
            line("C2", "I1", "10", email="bad@@example.com"),
            line("C3", "I1", "10", notify_eligible=False, ineligible_reason="opted_out"),
            line("C4", "I1", "10"),
        ],
        suppressed={"anna@example.com"},
    )
    assert [(r["client_id"], r["notify_eligible"], r["ineligible_reason"]) for r in rows] == [
        ("C1", False, "suppressed"),
        ("C2", False, "invalid_email"),
        ("C3", False, "opted_out"),
        ("C4", True, None),
    ]


def test_one_digest_per_client_and_worklists_largest_first() -> None:
    lines = [
        line("C1", "I1", "100.00"),
        line("C1", "I2", "900.00"),
        line("C2", "I1", "500.00", language="en"),
        line("C3", "I1", "50.00", notify_eligible=False, ineligible_reason="opted_out"),
    ]
    digests = build_digests([r for r in lines if r["notify_eligible"]], {}, DAY)
    assert [(d.client_id, d.language, [h.isin for h in d.holdings]) for d in digests] == [
        ("C1", "de", ["I2", "I1"]),
        ("C2", "en", ["I1"]),
    ]
    assert digests[1].holdings[0].new_label == "Sell"
    (worklist,) = build_worklists(lines, {"C1", "C2"}, DAY, "de")
    assert [(x.client_id, x.market_value_eur, x.notify_eligible) for x in worklist.lines] == [
        ("C1", "900.00", True),
        ("C2", "500.00", True),
        ("C1", "100.00", True),
        ("C3", "50.00", False),
    ]
    assert worklist.lines[3].ineligible_reason == "opted_out"
    assert worklist.lines[0].digest_key == "client_digest:2026-03-03:C1"
