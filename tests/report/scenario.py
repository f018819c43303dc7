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

  C5 buys 3 Siemens at 101.17 (volume 303.51 EUR) with a fee of 2.50 EUR.
  C1 sells 10 SAP at 98.765 on Thu 04-02 (day 2 of Tue's alert): 987.65 EUR, no fee_eur.

Week 2026-W14 (Mon 03-30): A1 2 alerts, 2 followed up, rate 100 %, 1 follow-up trade
(987.65 EUR, fee unknown), 1 activity; A2 1 alert, missed, rate 0 %, 1 activity; A3 2
alerts, both missed, 0 %, 1 follow-up trade (303.51 EUR, fee 2.50 EUR), 1 activity.
Köln: 3 alerts, 2 followed up, rate 2/3. Bonn: 2 alerts, 0 %. Bank: 1,291.16 EUR of
volume, 2.50 EUR of fees given, 987.65 EUR of volume without a fee (at a fee rate of
0.25 %: 2.47 EUR estimated, 4.97 EUR in all).
Week 2026-W15: no alerts; A1 logged 2 activities.

Baseline: SAP (changed 03-31) and Siemens (changed 04-02) changed within ten days of
every day of the scenario; Allianz never changed. The baseline positions are the
Allianz positions: C4 (A3, Bonn), C6 (no client record: "ohne Filiale") and C7 (A1,
Köln), on the four drop days of W14 (03-30, 03-31, 04-01, 04-02). C4 sells Allianz on
Fri 04-10 11:00: within the window of 03-31, 04-01 and 04-02 (through the tenth day
after), not of 03-30. Köln: 4 positions, 1 client, 0 traded: expected 0/4 x 3 alerts =
0. Bonn: 4 positions, 1 client, 3 traded: expected 3/4 x 2 = 1.5 against 1 observed.
Bank (branches with alerts, Köln and Bonn): 8 positions, 2 clients, 3 traded: expected
3/8 x 5 = 1.875 against 2 observed, difference 0.125.
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
    ["C7", "Cosima", "Sieben", "c7@example.com", "de", "A1", "ja"],
]
HOLDINGS = [
    ["C1", SAP, 10, "1000.00"],
    ["C2", SAP, 5, "500.00"],
    ["C3", SIEMENS, 3, "300.00"],
    ["C4", SIEMENS, 2, "200.00"],
    ["C4", ALLIANZ, 1, "100.00"],
    ["C5", SIEMENS, 1, "100.00"],
    ["C6", ALLIANZ, 1, "50.00"],
    ["C7", ALLIANZ, 4, "200.00"],
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
    date(2026, 4, 2): [
        ["T3", "C1", SAP, "sell", 10, "98.765", "2026-04-02 15:00:00", ""],
    ],
    date(2026, 4, 10): [
        ["T1", "C5", SIEMENS, "buy", 3, "101.17", "2026-04-10 10:00:00", "2.50"],
        ["T2", "C4", ALLIANZ, "sell", 1, "95.00", "2026-04-10 11:00:00", "0.95"],
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
    "fee_eur",
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
