"""Every kind of email the ledger holds has a renderer, found in a fresh process that has
imported nothing but the sending side (as a Dask worker of the fan-out has), and notify
imports neither report, runs nor web to find it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flows.message_kinds import RENDERERS
from flows.notify.dispatch import KINDS_IN_ORDER
from flows.notify.kinds import renderer_for
from flows.notify.message import UnsafeMessageError

FRESH_PROCESS = """
import json, sys
from flows.notify.dispatch import KINDS_IN_ORDER
from flows.notify.kinds import renderer_for
before = sorted(m for m in sys.modules if m.startswith(("flows.report", "flows.runs", "flows.web")))
found = {kind: f"{renderer_for(kind).__module__}:{renderer_for(kind).__name__}" for kind in KINDS_IN_ORDER}
print(json.dumps({"before": before, "found": found}))
"""


def test_every_kind_the_ledger_holds_has_a_renderer_in_a_fresh_process() -> None:
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS], capture_output=True, text=True, check=True
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["before"] == []  # dispatching imports no module of report, runs or web
    assert seen["found"] == {kind: RENDERERS[kind] for kind in KINDS_IN_ORDER}


def test_the_table_names_exactly_the_kinds_dispatch_sends() -> None:
    assert set(RENDERERS) == set(KINDS_IN_ORDER)


def test_a_kind_without_a_renderer_is_refused() -> None:
    with pytest.raises(UnsafeMessageError, match="unknown kind of message 'fax'"):
        renderer_for("fax")
