"""A hand-made Easter week whose adoption figures are worked out by hand (SLA: two
business days; Good Friday 2026-04-03 and Easter Monday 2026-04-06 are holidays).

Tue 2026-03-31, SAP buy -> sell: C1 (advisor A1, Köln) and C2 (A2, Köln).
  A1 calls C1 on Wed 04-01: followed up (deadline Thu 04-02).
  A2 calls C2 on Fri 04-03: too late, missed.
Thu 2026-04-02, Siemens neutral -> buy: C3 (A1, Köln), C4 and C5 (A3, Bonn).
  Deadline: Fri and Mon are holidays, so Tue 04-07 and Wed 04-08 count: Wed 04-08.
  A1 calls C3 on Tue 04-07: followed up (the holiday window).
  A1 (not C4's advisor) calls C4 on Tue 04-07: does not count; C4 missed.
  A3 noted C5 on Wed 04-01, before the alert: does not count; C5 missed.
  C5 buys Siemens on Fri 04-10 (day 8): a follow-up trade. C4 sells Allianz: another
  security, none.

Week 2026-W14 (Mon 03-30): A1 2 alerts, 2 followed up, rate 100 %, 1 activity;
A2 1 alert, missed, rate 0 %, 1 activity; A3 2 alerts, both missed, 0 %, 1 follow-up
trade, 1 activity. Köln: 3 alerts, 2 followed up, rate 2/3. Bonn: 2 alerts, 0 %.
Week 2026-W15: no alerts; A1 logged 2 activities.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.drops import ALLIANZ, SAP, SIEMENS, write_csv, write_drop

DAYS = [
    date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 2),
    date(2026, 4, 7), date(2026, 4, 8), date(2026, 4, 9), date(2026, 4, 10),
]  # fmt: skip
ADVISORS = [
    ["A1", "Anna Adler", "anna.adler@bank.example", "Filiale Köln", "koeln@bank.example"],
    ["A2", "Bernd Berg", "bernd.berg@bank.example", "Filiale Köln", "koeln@bank.example"],
    [
        "A3",
        "Carla <script>Cramer</script>",
        "carla.cramer@bank.example",
        "Filiale Bonn",
        "bonn@bank.example",
    ],
]
CLIENTS = [
    ["C1", "Clara", "Eins", "c1@example.com", "de", "A1", "ja"],
    ["C2", "Carl", "Zwei", "c2@example.com", "de", "A2", "ja"],
    ["C3", "Cora", "Drei", "c3@example.com", "en", "A1", "ja"],
    ["C4", "Cem", "Vier", "c4@example.com", "de", "A3", "ja"],
    ["C5", "Cleo", "Fünf", "c5@example.com", "de", "A3", "ja"],
]
HOLDINGS = [
    ["C1", SAP, 10, "1000.00"],
    ["C2", SAP, 5, "500.00"],
    ["C3", SIEMENS, 3, "300.00"],
    ["C4", SIEMENS, 2, "200.00"],
    ["C4", ALLIANZ, 1, "100.00"],
    ["C5", SIEMENS, 1, "100.00"],
    ["C6", ALLIANZ, 1, "50.00"],
]
RATINGS = {
    date(2026, 3, 30): [
        [SAP, "SAP SE", "buy", "2026-03-30 07:00"],
        [SIEMENS, "Siemens AG", "neutral", "2026-03-30 07:00"],
        [ALLIANZ, "Allianz SE", "hold", "2026-03-30 07:00"],
    ],
    date(2026, 3, 31): [[SAP, "SAP SE", "sell", "2026-03-31 07:00"]],
    date(2026, 4, 2): [[SIEMENS, "Siemens AG", "buy", "2026-04-02 07:00"]],
}
ACTIVITIES = {
    date(2026, 4, 1): [
        ["ACT1", "A1", "C1", "call", "2026-04-01 10:00:00", SAP],
        ["ACT2", "A3", "C5", "note", "2026-04-01 11:00:00", ""],
    ],
    date(2026, 4, 7): [
        ["ACT3", "A2", "C2", "call", "2026-04-03 09:00:00", SAP],
        ["ACT4", "A1", "C3", "meeting", "2026-04-07 14:00:00", SIEMENS],
        ["ACT5", "A1", "C4", "call", "2026-04-07 15:00:00", SIEMENS],
    ],
}
TRADES = {
    date(2026, 4, 10): [
        ["T1", "C5", SIEMENS, "buy", 1, "101.00", "2026-04-10 10:00:00"],
        ["T2", "C4", ALLIANZ, "sell", 1, "95.00", "2026-04-10 11:00:00"],
    ],
}
ACTIVITY_COLUMNS = (
    "activity_id",
    "advisor_id",
    "client_id",
    "activity_type",
    "occurred_at",
    "isin",
)
TRADE_COLUMNS = (
    "transaction_id",
    "client_id",
    "isin",
    "side",
    "quantity",
    "price_eur",
    "executed_at",
)


def write_scenario(inbox: Path) -> None:
    for day in DAYS:
        folder = write_drop(
            inbox,
            day,
            ratings=RATINGS.get(day, []),
            holdings=HOLDINGS,
            clients=CLIENTS if day == DAYS[0] else None,
            advisors=ADVISORS if day == DAYS[0] else None,
        )
        write_csv(folder / "crm_activities.csv", ACTIVITY_COLUMNS, ACTIVITIES.get(day, []))
        write_csv(folder / "transactions.csv", TRADE_COLUMNS, TRADES.get(day, []))
