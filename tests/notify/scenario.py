"""A small built warehouse for the email tests: three hand-made business days whose
right answers are known, ingested and built with dbt once, then copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

from flows.ingest.loader import load_drop
from flows.notify.journal import open_journal
from flows.notify.suppressions import sync_suppressions
from flows.notify.transport import SendResult, SmtpTransport
from flows.settings import Settings
from flows.transform import build_marts
from flows.warehouse import open_warehouse
from tests.drops import ALLIANZ, BASF, SAP, SIEMENS, write_drop

MON, TUE, WED = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
HOSTILE_FIRST_NAME = "<script>alert(1)</script>"
HOSTILE_LAST_NAME = 'O"Brien\r\nBcc: evil@attacker.example'
ADVISORS = [
    ["A1", "Petra Schmidt", "petra.schmidt@bank.example", "Filiale München", "chef@bank.example"],
    ["A2", "Max Mustermann", "max.mustermann@bank.example", "Filiale Hamburg", "hh@bank.example"],
]
CLIENTS = [
    ["C1", "Jürgen", "Müller", "juergen.mueller@example.com", "de", "A1", "ja"],
    ["C2", "Jane", "Smith", "jane.smith@example.org", "en", "A1", "true"],
    ["C3", "Olaf", "Opt", "olaf@example.com", "de", "A1", "nein"],
    ["C4", "Ina", "Invalid", "c4@@example", "de", "A1", "1"],
    ["C5", "Sven", "Seller", "sven@example.com", "de", "A1", "1"],
    ["C6", "Nora", "Nomail", "", "de", "A2", "ja"],
    ["C7", HOSTILE_FIRST_NAME, HOSTILE_LAST_NAME, "hostile@example.com", "de", "A2", "ja"],
]
HOLDINGS = [
    ["C1", SAP, 10, "1000.00"],
    ["C1", SIEMENS, 5, "500.00"],
    ["C2", SAP, 3, "300.00"],
    ["C3", ALLIANZ, 1, "100.00"],
    ["C4", BASF, 2, "200.00"],
    ["C5", SAP, 1, "50.00"],
    ["C6", SIEMENS, 1, "10.00"],
    ["C7", SAP, 7, "700.00"],
]
# Tuesday: SAP buy -> sell (C1, C2, C7 emailed; C5 sold on Tuesday's snapshot),
# Allianz buy -> strong buy (C3 opted out), BASF neutral -> sell (C4 invalid email).
# Wednesday: Siemens neutral -> strong sell (C1 now opted out, C6 without email); C2's
# address changes (she holds no Siemens: no email of Wednesday for her).
EXPECTED_TUESDAY_DIGESTS = {
    "juergen.mueller@example.com",
    "jane.smith@example.org",
    "hostile@example.com",
}


def write_scenario(inbox: Path) -> None:
    write_drop(
        inbox,
        MON,
        ratings=[
            [SAP, "SAP SE", "Kaufen", "2026-03-02 07:00:00", "Dr. Anna Weber", "250", "EUR"],
            [SIEMENS, "Siemens AG", "hold", "2026-03-02"],
            [ALLIANZ, "Allianz SE", " BUY ", "2026-03-02 08:00:00"],
            [BASF, "BASF SE", "Neutral", "02.03.2026 09:15"],
        ],
        holdings=HOLDINGS,
        clients=CLIENTS,
        advisors=ADVISORS,
    )
    write_drop(
        inbox,
        TUE,
        ratings=[
            [SAP, "SAP SE", "Verkaufen", "2026-03-03 07:00:00", "Dr. Anna Weber", "180", "EUR"],
            [SIEMENS, "Siemens AG", "Halten", "2026-03-03 07:00:00"],
            [ALLIANZ, "Allianz SE", "strong_buy", "2026-03-03 07:05:00"],
            [BASF, "BASF SE", "UNDERWEIGHT", "2026-03-03 07:10:00"],
        ],
        holdings=[h for h in HOLDINGS if h[0] != "C5"],
    )
    write_drop(
        inbox,
        WED,
        ratings=[[SIEMENS, "Siemens AG", "Stark Verkaufen", "2026-03-04 07:00:00"]],
        holdings=[h for h in HOLDINGS if h[0] != "C5"],
        clients=[
            ["C1", "Jürgen", "Müller", "juergen.mueller@example.com", "de", "A1", "false"],
            ["C2", "Jane", "Smith", "jane.smith@newmail.example", "en", "A1", "true"],
        ],
    )


def build_days(settings: Settings, inbox: Path, days: list[date]) -> None:
    for day in days:
        with open_warehouse(settings.warehouse_path) as con:
            load_drop(con, inbox / day.isoformat(), day)
            with open_journal(settings.journal_path) as journal:
                sync_suppressions(con, journal)
        build_marts(settings, day)


def copy_home(template: Path, target: Path) -> None:
    shutil.copytree(template, target)


def transport_acting_after_each_send(action: Callable[[], None]) -> type[SmtpTransport]:
    """A real SMTP transport that runs ``action`` after every message it sent: another
    process (``votum suppress``, ``votum serve``) objecting while a batch is going out."""

    class ActingAfterSend(SmtpTransport):
        def send(
            self,
            sender: str,
            recipient: str,
            data: bytes,
            before_end: Callable[[], None] | None = None,
        ) -> SendResult:
            result = super().send(sender, recipient, data, before_end)
            action()
            return result

    return ActingAfterSend
