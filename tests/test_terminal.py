"""What the votum command prints: keys never cut, every argument explained, JSON."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from flows.cli import build_parser
from flows.notify.dispatch import DispatchReport
from flows.terminal import as_json, keep_whole

KEY = "client_digest/2026-10-05/C0000024"
LONG_REASON = (
    "dbt build failed: test not_null_fct_client_rating_changes_advisor_id failed with "
    "three rows in the run of the day, see the log for the details"
)


def _render(table: Table, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, highlight=False, color_system=None).print(table)
    return out.getvalue()


def test_on_an_80_column_terminal_keys_stay_whole_and_text_wraps() -> None:
    table = Table("started", "day", "ledger key", "reason")
    table.add_row("2026-10-05 06:30:02", "2026-10-05", KEY, LONG_REASON)
    plain = _render(table, 80)
    assert "…" in plain  # rich cuts cells with an ellipsis when nothing is kept whole
    whole = _render(keep_whole(table, "started", "day", "ledger key"), 80)
    for value in ("2026-10-05 06:30:02", "2026-10-05", KEY):
        assert value in whole, whole
    assert "…" not in whole
    # The reason wrapped onto more lines instead of being cut: all its letters are there.
    letters = "".join(
        line.rsplit("│", 2)[-2] for line in whole.splitlines() if line.count("│") == 5
    )
    assert "".join(letters.split()) == "".join(LONG_REASON.split())


def test_every_argument_of_every_command_is_explained() -> None:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    unexplained = []
    for name, sub in commands.choices.items():
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        parsers = [(name, sub)] + [
            (f"{name} {n}", p) for action in nested for n, p in action.choices.items()
        ]
        for label, command in parsers:
            for action in command._actions:
                if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                    continue
                if not action.help:
                    unexplained.append(f"{label} {action.dest}")
    assert unexplained == []
    assert "exit codes" in parser.format_help() and "12" in parser.format_help()


def test_version_and_json_for_scripts() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.startswith("votum ")
    parser = build_parser()
    for command in ("dispatch", "release 2026-10-05", "report", "explain", "run", "status"):
        args = parser.parse_args([*command.split(), "--json"])
        assert args.json is True
    report = json.loads(as_json(DispatchReport(sent=3, failed=1)))
    assert (report["sent"], report["failed"], report["left_pending"]) == (3, 1, 0)
    assert json.loads(as_json({"day": date(2026, 10, 5), "folder": Path("/x")})) == {
        "day": "2026-10-05",
        "folder": "/x",
    }
