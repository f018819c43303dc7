"""``make demo``'s pipeline, timed: ``votum demo`` in a fresh ``VOTUM_HOME`` (15 business
days of synthetic drops for 3,000 clients, the daily runs, two intraday batches, the
advisors' clicks, real emails into the local mailbox, four weekly reports). The demo
prints how long its daily pipeline and its weekly reports took; the whole process is
timed from outside. Writes ``var/bench/demo-figures.json``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "var" / "bench"
VOTUM = str(Path(sys.executable).parent / "votum")
TARGET_SECONDS = 60.0
_TOOK = re.compile(
    r"the daily pipeline took ([0-9.]+) s for (\d+) days.*?the weekly reports ([0-9.]+) s", re.S
)


def main() -> None:
    home = BENCH / "demo-home"
    shutil.rmtree(home, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOTUM_", "PREFECT_"))}
    env.update(VOTUM_HOME=str(home), COLUMNS="200")
    started = time.perf_counter()
    done = subprocess.run(
        [VOTUM, "demo"], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    whole = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"votum demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
    found = _TOOK.search(done.stdout)
    if found is None:
        raise SystemExit("votum demo did not say how long its pipeline took")
    pipeline, days, reports = float(found.group(1)), int(found.group(2)), float(found.group(3))
    figures = {"pipeline_seconds": pipeline, "days": days, "reports_seconds": reports,
               "whole_seconds": whole}  # fmt: skip
    BENCH.mkdir(parents=True, exist_ok=True)
    (BENCH / "demo-figures.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    verdict = "met" if pipeline <= TARGET_SECONDS else "NOT met"
    print(
        f"votum demo: daily pipeline {pipeline:.1f} s for {days} days "
        f"(target <= {TARGET_SECONDS:g} s: {verdict}), weekly reports {reports:.1f} s, "
        f"the whole command {whole:.1f} s"
    )


if __name__ == "__main__":
    main()
