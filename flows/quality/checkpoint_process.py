"""The quality gates in a side process of the run (see :mod:`flows.side_process`).

The child imports Great Expectations (about 2.5 s of Python) while the run starts and
loads the drop, then runs each checkpoint the run asks for
(``gates.run_checkpoint``): the same validations, results, Data Docs and errors as
in-process; the run decides what the outcomes mean. Its own log is
``VOTUM_HOME/logs/quality-process.log``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from flows.quality.gates import (
    CHECKPOINT_PROCESS,
    QualityError,
    checkpoint_process_settings,
    run_checkpoint,
)
from flows.quality.gx_project import import_great_expectations
from flows.settings import Settings, get_settings
from flows.side_process import (
    end_side_process,
    log_line,
    reply_channel,
    requests,
    start_side_process,
)


def start_checkpoint_process(settings: Settings) -> bool:
    """Start the gates' side process for ``settings``; whether it runs. Not for a
    warehouse on another engine, and not where Great Expectations is loaded in this
    process already (a long-lived process that has validated before gains nothing)."""
    key = checkpoint_process_settings(settings)
    if key is None or "great_expectations" in sys.modules:
        return False
    settings.ensure_home()
    start_side_process(CHECKPOINT_PROCESS, key, key, {}, settings.logs_dir / "quality-process.log")
    return True


def serve(overrides: dict[str, object]) -> None:
    """The child: import Great Expectations, then run each requested checkpoint."""
    # Its start-up yields to Prefect's server booting beside it (the run waits for the
    # server first; the gate is needed only after the ingest), but not as far as dbt's
    # process (niced 10), which is needed after the gate. Measured on the small day:
    # about 0.7 s sooner than at the same priority as the server.
    os.nice(5)
    replies = reply_channel()
    import_great_expectations()
    settings = get_settings().model_copy(
        update={
            "home": Path(str(overrides["home"])),
            "expectations_dir": Path(str(overrides["expectations_dir"])),
            "quality_results_kept": overrides["quality_results_kept"],
        }
    )
    for request in requests(replies):
        name = str(request["checkpoint"])
        started = time.monotonic()
        try:
            outcomes = run_checkpoint(settings, name)
        except QualityError as exc:
            reply: dict[str, object] = {"quality_error": str(exc)}
            log_line(f"checkpoint {name}: could not run")
        else:
            reply = {"outcomes": [asdict(o) for o in outcomes]}
            log_line(
                f"checkpoint {name}: {len(outcomes)} rules in {time.monotonic() - started:.1f} s"
            )
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
    end_side_process()
