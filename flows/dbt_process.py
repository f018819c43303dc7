"""dbt in a side process of the run (see :mod:`flows.side_process`).

The child imports dbt and its DuckDB adapter, parses the project once (partial
parsing, as in-process) and runs each dbt command the run sends it
(``transform.invoke_dbt``) with that manifest: the results, dbt's log (``--log-path``),
the partial-parse state and the warehouse are the same as in-process. Its own log is
``VOTUM_HOME/logs/dbt-process.log``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.dbt_results import NodeResult, node_results
from flows.errors import TransformError
from flows.side_process import (
    SideProcessEndedError,
    end_side_process,
    log_line,
    reply_channel,
    requests,
    side_process_for,
    start_side_process,
)

MODULE = "flows.dbt_process"


@dataclass(frozen=True)
class DbtOutcome:
    """One command's outcome, wherever dbt ran."""

    success: bool
    exception: str | None
    nodes: tuple[NodeResult, ...]


def _key(common_args: Sequence[str], environment: Mapping[str, str]) -> object:
    return (tuple(common_args), tuple(sorted(environment.items())))


def start_dbt_process(
    common_args: Sequence[str], environment: Mapping[str, str], log_path: Path
) -> None:
    """Start dbt's process for commands run with ``common_args`` (project, profiles,
    target, target and log paths) in ``environment`` (what ``profiles.yml`` reads)."""
    start_side_process(
        MODULE, _key(common_args, environment), list(common_args), environment, log_path
    )


def invoke_in_dbt_process(
    args: Sequence[str], common_args: Sequence[str], environment: Mapping[str, str]
) -> DbtOutcome | None:
    """Run ``dbt args common_args`` in dbt's process if one was started for exactly
    these arguments and environment; None if there is none (run it here)."""
    process = side_process_for(MODULE, _key(common_args, environment))
    if process is None:
        return None
    try:
        reply = process.request({"args": [*args, *common_args]})
    except SideProcessEndedError as ended:
        raise TransformError(
            f"dbt's process ended before it answered dbt {args[0]} ({ended})."
        ) from None
    return DbtOutcome(
        success=bool(reply["success"]),
        exception=reply["exception"],
        nodes=tuple(NodeResult(**node) for node in reply["nodes"]),
    )


def release_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB connection open after ``invoke()``, which would lock
    the warehouse against every other process: close it after each command."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()  # type: ignore[no-untyped-call]


def run_dbt(runner: Any, args: list[str]) -> DbtOutcome:
    """One command with a ``dbtRunner``, in whichever process this is."""
    try:
        outcome = runner.invoke(args)
    finally:
        release_duckdb()
    return DbtOutcome(
        success=bool(outcome.success),
        exception=None if outcome.exception is None else str(outcome.exception),
        nodes=node_results(outcome.result),
    )


def serve(common_args: list[str]) -> None:
    """The child: parse the project once, then run each requested command with it."""
    # Its start-up yields the cores to the run and to Prefect's server booting beside it.
    os.nice(10)
    replies = reply_channel()
    import dbt.adapters.duckdb  # noqa: F401
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest

    parsed = dbtRunner().invoke(["parse", *common_args, "--no-write-json"])
    release_duckdb()
    # A project that does not parse is reported by each command, as dbt would in-process.
    manifest = parsed.result if parsed.success and isinstance(parsed.result, Manifest) else None
    for request in requests(replies):
        args = list(request["args"])
        started = time.monotonic()
        outcome = run_dbt(dbtRunner(manifest=manifest), args)
        replies.write(
            json.dumps(
                {
                    "success": outcome.success,
                    "exception": outcome.exception,
                    "nodes": [node.as_json() for node in outcome.nodes],
                }
            )
            + "\n"
        )
        replies.flush()
        log_line(
            f"dbt {args[0]}: {len(outcome.nodes)} nodes, "
            f"{'succeeded' if outcome.success else 'failed'} in {time.monotonic() - started:.1f} s"
        )


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
    end_side_process()
