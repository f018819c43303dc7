"""Running dbt: ``dbt build`` of the models for one business day, and reading back what
it did.

dbt runs in this process (``dbtRunner``): after the first call it costs a few tenths of
a second instead of seconds for a new process. dbt-duckdb keeps its DuckDB connection
open after ``invoke()`` returns, which would lock the warehouse against every other
process, so it is closed after each call (``dbt_process.run_dbt``); a run may
also send its commands to a dbt process of its own (``flows.dbt_process``).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flows.dbt_process import (
    DbtOutcome,
    invoke_in_dbt_process,
    run_dbt,
    start_dbt_process,
)
from flows.dbt_results import NodeResult
from flows.errors import TransformError
from flows.preload import wait_for_preload
from flows.settings import Settings
from flows.warehouse import (
    built_views_fingerprint,
    let_go_of_warehouse,
    loaded_seeds_fingerprint,
    open_warehouse,
    record_seeds_fingerprint,
    record_views_fingerprint,
    set_run_date,
    table_exists,
)

# Unit tests check the change rules on fixed inputs; they run in the test suite
# (`votum`'s tests call `dbt test --select test_type:unit`), not in every daily build.
DAILY_BUILD_EXCLUDES = ("--exclude-resource-type", "unit_test")

# The weekly report's build: the adoption models again (the worklists' send times and
# the advisors' clicks are newer than the daily build) and the baseline of the follow-up
# trades (tag `baseline`), which reads every kept holdings snapshot and which only the
# weekly report shows: the daily build leaves it alone once it exists.
REPORT_BUILD_SELECT = ("fct_alerts+", "int_activities_weekly+", "tag:baseline+")
BASELINE_TABLE = ("intermediate", "int_baseline_weekly")


@dataclass(frozen=True)
class DbtResult:
    command: tuple[str, ...]
    nodes: tuple[NodeResult, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> tuple[NodeResult, ...]:
        return tuple(n for n in self.nodes if n.status in {"error", "fail", "runtime error"})

    @property
    def warned(self) -> tuple[NodeResult, ...]:
        return tuple(n for n in self.nodes if n.status == "warn")


def dbt_environment(settings: Settings) -> dict[str, str]:
    """The variables ``profiles.yml`` reads.

    For the PostgreSQL target, the connection settings too; the password goes into a
    ``DBT_ENV_SECRET_`` variable, whose value dbt scrubs from every log line and error.
    """
    environment = {
        "DBT_VOTUM_DUCKDB_PATH": str(settings.warehouse_path),
        "DBT_VOTUM_THREADS": str(settings.dbt_threads),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if settings.dbt_target == "postgres":
        password = settings.pg_password
        environment |= {
            "DBT_VOTUM_PG_HOST": settings.pg_host,
            "DBT_VOTUM_PG_PORT": str(settings.pg_port),
            "DBT_VOTUM_PG_DATABASE": settings.pg_database,
            "DBT_VOTUM_PG_USER": settings.pg_user,
            "DBT_VOTUM_PG_SCHEMA": settings.pg_schema,
            "DBT_ENV_SECRET_VOTUM_PG_PASSWORD": (
                password.get_secret_value() if password is not None else ""
            ),
        }
    if settings.dbt_target == "spark":
        # dbt-spark's `session` method starts Spark inside this process: its tables, its
        # Derby metastore and its scratch space under VOTUM_HOME/spark (never the working
        # directory), and it listens on the loopback interface only.
        environment |= {
            "DBT_VOTUM_SPARK_SCHEMA": settings.spark_schema,
            "DBT_VOTUM_SPARK_MASTER": settings.spark_master,
            "DBT_VOTUM_SPARK_DRIVER_MEMORY": settings.spark_driver_memory,
            "DBT_VOTUM_SPARK_SHUFFLE_PARTITIONS": str(settings.spark_shuffle_partitions),
            "DBT_VOTUM_SPARK_DIR": str(settings.spark_dir),
            "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        }
    return environment


def import_dbt() -> None:
    """Import dbt's runner and the target's adapter (about 1.5 s) ahead of the first
    build (the CLI does it while Prefect's server starts)."""
    import dbt.adapters.duckdb
    import dbt.cli.main  # noqa: F401


def _common_args(settings: Settings, target_path: Path | None) -> tuple[str, ...]:
    project_dir = str(settings.dbt_project_dir)
    return (
        "--project-dir",
        project_dir,
        "--profiles-dir",
        project_dir,
        "--target",
        settings.dbt_target,
        "--target-path",
        str(target_path or settings.dbt_target_path),
        "--log-path",
        str(settings.dbt_log_path),
        # Errors come back in our own exception; dbt's full log is in --log-path.
        "--log-level",
        "none",
    )


def start_dbt_beside_the_run(settings: Settings) -> bool:
    """Start dbt's own process for this run's DuckDB builds (``flows.dbt_process``): it
    imports dbt and parses the project on the other core while the run loads and checks
    the drop. Returns whether dbt runs there.

    Not for the remote targets (they run dbt in this process, as before), and not where
    dbt is loaded in this process already (a long-lived process that has run dbt before
    gains nothing from a second one)."""
    if settings.dbt_target != "duckdb" or "dbt.cli.main" in sys.modules:
        return False
    settings.ensure_home()
    start_dbt_process(
        _common_args(settings, None),
        dbt_environment(settings),
        settings.logs_dir / "dbt-process.log",
    )
    return True


def _invoke_here(command: Sequence[str]) -> DbtOutcome:
    wait_for_preload()
    from dbt.cli.main import dbtRunner

    return run_dbt(dbtRunner(), list(command))


def invoke_dbt(
    settings: Settings, args: Sequence[str], *, target_path: Path | None = None
) -> DbtResult:
    """Run one dbt command against the configured target; raise if anything failed.
    ``target_path`` overrides where dbt writes its artifacts (default VOTUM_HOME/dbt/target,
    where the daily build keeps its partial-parse state). The command runs in the dbt
    process started for this run when there is one for the same arguments
    (:func:`start_dbt_beside_the_run`), otherwise in this process."""
    settings.ensure_home()
    environment = dbt_environment(settings)
    os.environ.update(environment)
    common = _common_args(settings, target_path)
    # dbt opens the DuckDB file with settings of its own: a held warehouse lets go.
    with let_go_of_warehouse(settings.warehouse_path):
        outcome = invoke_in_dbt_process(args, common, environment) or _invoke_here([*args, *common])
    result = DbtResult(command=tuple(args), nodes=outcome.nodes)
    # A failing test gives success=False with no exception: read the nodes.
    if outcome.exception is not None:
        raise TransformError(f"dbt {' '.join(args)} could not run: {outcome.exception}")
    if not outcome.success or result.failed:
        details = "; ".join(
            f"{n.resource_type.split('.')[-1]} {n.name}: {n.status}"
            + (f" ({n.message})" if n.message else "")
            for n in result.failed
        )
        raise TransformError(
            f"dbt {args[0]} failed: {details or 'see ' + str(settings.dbt_log_path)}"
        )
    return result


def _seeds_fingerprint(settings: Settings) -> str:
    digest = hashlib.sha256()
    for path in sorted((settings.dbt_project_dir / "seeds").iterdir()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


# What dbt writes into the project folder; not part of what a view is created from.
_GENERATED_FOLDERS = frozenset({"target", "logs", "dbt_packages"})


def views_fingerprint(settings: Settings) -> str:
    """Everything a view's definition can depend on: every file of the dbt project
    (models, macros, seeds, configuration), the versions of dbt and its DuckDB adapter,
    and the warehouse file (a view names the file's catalogue)."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    digest.update(f"{version('dbt-core')} {version('dbt-duckdb')}".encode())
    digest.update(str(settings.warehouse_path.resolve()).encode())
    root = settings.dbt_project_dir
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or relative.parts[0] in _GENERATED_FOLDERS:
            continue
        digest.update(str(relative).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def daily_build_args(
    *, seeds_current: bool, views_current: bool, baseline_built: bool
) -> list[str]:
    """The daily ``dbt build``'s arguments: every model and data test, without what is
    known to be current.

    Tests are selected for themselves (``--indirect-selection empty``): leaving out a
    view, a seed or the baseline never leaves out a test of the data built from them
    (a view's tests, and the marts' relationships to the rating scale, run every day).
    - seeds (the rating scale) and their own tests: only when the seed files changed;
    - views: only when the project (or dbt) changed since they were last created; a view
      is a stored query, so it shows each day's rows without being created again;
    - the baseline of the follow-up trades (tag ``baseline``): only when it does not
      exist yet (``REPORT_BUILD_SELECT`` refreshes it for the weekly report).
    """
    # dbt writes manifest.json and run_results.json for other tools; nothing here reads
    # them after a DuckDB build (the remote targets do), and writing them costs 0.3 s.
    args = ["build", *DAILY_BUILD_EXCLUDES, "--no-write-json", "--indirect-selection", "empty"]
    excluded = [
        *(["path:seeds"] if seeds_current else []),
        *(["config.materialized:view"] if views_current else []),
        *(["tag:baseline"] if baseline_built else []),
    ]
    if excluded:
        args += ["--exclude", *excluded]
    return args


def build_marts(settings: Settings, run_date: date, *, full_refresh: bool = False) -> DbtResult:
    """``dbt build`` of every model and data test for business day ``run_date``, leaving
    out the seeds, views and baseline that are known to be current
    (:func:`daily_build_args`): reloading static tables and re-creating unchanged views
    every morning costs about a second and proves nothing new.
    """
    seeds = _seeds_fingerprint(settings)
    project = views_fingerprint(settings)
    with open_warehouse(settings.warehouse_path) as con:
        set_run_date(con, run_date, settings.sla_business_days)
        seeds_current = not full_refresh and loaded_seeds_fingerprint(con) == seeds
        views_current = not full_refresh and built_views_fingerprint(con) == project
        baseline_built = not full_refresh and table_exists(con, *BASELINE_TABLE)
        if not views_current:
            record_views_fingerprint(con, None)
    args = daily_build_args(
        seeds_current=seeds_current, views_current=views_current, baseline_built=baseline_built
    )
    if full_refresh:
        args.append("--full-refresh")
    result = invoke_dbt(settings, args)
    if not (seeds_current and views_current):
        with open_warehouse(settings.warehouse_path) as con:
            if not seeds_current:
                record_seeds_fingerprint(con, seeds)
            if not views_current:
                record_views_fingerprint(con, project)
    return result


def generate_docs(settings: Settings) -> Path:
    """``dbt docs generate --static`` into ``VOTUM_HOME/dbt/docs``: one self-contained
    ``static_index.html`` (lineage from the drop's files to the three exposures, every
    model's description, columns and tests, and the warehouse's catalog) that opens in a
    browser without a server. Returns the page's path."""
    folder = settings.dbt_docs_path
    invoke_dbt(settings, ["docs", "generate", "--static"], target_path=folder)
    page = folder / "static_index.html"
    if not page.is_file():
        raise TransformError(f"dbt docs generate wrote no {page.name} into {folder}")
    return page
