"""The week's client opt-outs per branch (the branch of the client's advisor) in the
weekly report: copied from the delivery journal into the warehouse, counted by week."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flows.notify.journal import open_journal
from flows.report.extract import bank_report, branch_report
from flows.report.opt_outs import opt_outs_by_branch, sync_client_opt_outs
from flows.settings import Settings
from flows.warehouse import open_warehouse

WEEK_14 = date(2026, 3, 30)


def test_opt_outs_of_the_week_count_in_the_branch_of_the_clients_advisor(
    easter: Settings,
) -> None:
    with open_journal(easter.journal_path) as journal:
        # Köln: C1 (A1) and C3 (A1); C3 opted out the week after. Bonn: C4 (A3).
        journal.opt_out_client("C1", source="one-click", at=datetime(2026, 4, 1, 9, tzinfo=UTC))
        journal.opt_out_client("C4", source="mailto", at=datetime(2026, 4, 5, 21, tzinfo=UTC))
        journal.opt_out_client("C3", source="one-click", at=datetime(2026, 4, 6, 8, tzinfo=UTC))
        # C2 objected and re-subscribed: not an opt-out any more.
        journal.opt_out_client("C2", source="one-click", at=datetime(2026, 4, 2, 9, tzinfo=UTC))
        journal.opt_client_back_in("C2")
        with open_warehouse(easter.warehouse_path) as con:
            assert sync_client_opt_outs(con, journal) == 3
    with open_warehouse(easter.warehouse_path, read_only=True) as con:
        # Sunday 21:00 UTC is Sunday 23:00 in Berlin: still week 14.
        assert opt_outs_by_branch(con, WEEK_14) == {"Filiale Köln": 1, "Filiale Bonn": 1}
        options = {"language": "de", "target_adoption_rate": 0.8, "sla_business_days": 2}
        koeln = branch_report(con, "Filiale Köln", WEEK_14, **options)  # type: ignore[arg-type]
        bank = bank_report(con, WEEK_14, **options)  # type: ignore[arg-type]
    assert koeln.totals.opt_outs == 1
    assert bank.totals.opt_outs == 2
    assert {line.branch: line.totals.opt_outs for line in bank.branches} == {
        "Filiale Köln": 1,
        "Filiale Bonn": 1,
    }
