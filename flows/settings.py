"""The one settings object. Every knob of votum is a ``VOTUM_*`` environment variable
(a ``.env`` file in the working directory is read too); nothing else reads the
environment for configuration.

Everything a run writes lives under ``VOTUM_HOME`` (default ``./var``): the DuckDB
warehouse, Prefect's home, dbt's target and logs, reports and the demo mailbox.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, StringConstraints, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A memory size as DuckDB's memory_limit takes it (512MB, 1GB, 1.5 GiB), kept without
# spaces so that it can ride on a connection URL as it is.
DuckDBMemorySize = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|KiB|MiB|GiB)$"),
    AfterValidator(lambda size: size.replace(" ", "")),
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VOTUM_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    home: Path = Field(default=Path("./var"), description="Working folder of every run.")

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    mail_from: str = "research-alerts@bank.example"
    mail_from_name: str = "Research-Information"
    bank_name: str = "Ihre Bank"
    smtp_ca_file: Path | None = Field(
        default=None, description="Extra CA certificate(s) to trust, e.g. a bank-internal CA."
    )
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_pool_size: int = Field(default=1, ge=1, le=16, description="Parallel SMTP connections.")
    smtp_max_per_second: float = Field(default=0.0, ge=0, description="Throttle; 0 = none.")
    smtp_retry_attempts: int = Field(default=4, ge=1, le=20)
    smtp_retry_backoff_seconds: float = Field(default=1.0, ge=0)
    smtp_retry_backoff_max_seconds: float = Field(
        default=60.0, ge=0, description="Upper bound of the doubling retry backoff."
    )
    resend_uncertain: Literal["once", "never"] = Field(
        default="once",
        description=(
            "An email whose outcome is unknown (no reply after its end was written) goes "
            "once more in a later dispatch, same Message-ID; never: it stays uncertain."
        ),
    )
    max_pending_business_days: int = Field(
        default=2,
        ge=0,
        le=30,
        description="A digest or worklist not sent within this many business days expires.",
    )
    fault_injection: str | None = Field(
        default=None,
        description=(
            "For the test suite only (flows/notify/faults.py): kill-after-accept:<n> kills "
            "the sending process right after the n-th accepted message."
        ),
    )
    dispatch_batch_size: int = Field(default=500, ge=1)
    dispatch_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Worker processes that send in parallel batches (flows/notify/fanout.py); "
            "1 = send in the dispatching process."
        ),
    )
    dask_address: str | None = Field(
        default=None,
        description=(
            "Scheduler of an existing Dask cluster for the dispatch fan-out (none: a local "
            "cluster of VOTUM_DISPATCH_WORKERS processes, started per dispatch)."
        ),
    )
    unsubscribe_url: str = "https://bank.example/research-alerts/unsubscribe"
    unsubscribe_address: str | None = Field(
        default=None,
        description="mailto: target for opt-outs; default unsubscribe@<sender domain>.",
    )
    advisor_language: Literal["de", "en"] = "de"
    report_language: Literal["de", "en"] = "de"
    report_summary_to: str | None = Field(
        default=None, description="Where the bank-wide weekly summary goes (none: not sent)."
    )
    adoption_target: float = Field(
        default=0.80, gt=0, le=1, description="The target line of the adoption charts."
    )
    # The CRM goals in the board summary (flows/report).
    goal_informed_share: float = Field(
        default=0.95, gt=0, le=1, description="Target share of alerted clients informed in a day."
    )
    goal_fee_eur_weekly: float | None = Field(
        default=None, ge=0, description="Target fee income (EUR) of follow-up trades per week."
    )
    fee_rate: float | None = Field(
        default=None,
        ge=0,
        lt=1,
        description="Fee as a share of volume, to estimate it where fee_eur is missing.",
    )
    min_baseline_clients: int = Field(
        default=200, ge=1, description="Fewer baseline clients: 'not enough data'."
    )
    advisor_weekly: bool = Field(
        default=True, description="Send each advisor a personal weekly summary on Monday."
    )
    unsubscribe_secret: SecretStr | None = Field(
        default=None,
        description="Key for the tokens in opt-out links; set it in production.",
    )
    # `votum serve` (flows/web): the opt-out pages and the worklist's action links.
    action_url: str | None = Field(
        default=None,
        description=(
            "Public address of the worklist action page (default: the origin of "
            "VOTUM_UNSUBSCRIBE_URL + /worklist/action)."
        ),
    )
    worklist_link_days: int = Field(
        default=14, ge=1, le=365, description="Days a worklist action link stays valid."
    )
    serve_rate_per_minute: int = Field(
        default=30, ge=1, description="Requests per minute and source address for votum serve."
    )
    serve_trusted_proxy: str | None = Field(
        default=None,
        description=(
            "Address of the reverse proxy whose X-Forwarded-For votum serve believes "
            "(comma-separated for several); none: the peer address is the source."
        ),
    )

    demo_clock_file: Path | None = Field(
        default=None,
        description=(
            "For votum demo only (flows/clock.py): a file holding the simulated current "
            "instant that sending, clicks and expiry stamp; unset, the real clock."
        ),
    )

    sla_business_days: int = Field(default=2, ge=0, le=30)
    max_change_share: float = Field(default=0.25, gt=0, le=1)
    min_changed_isins: int = Field(
        default=20, ge=0, description="The circuit breaker trips only from this many changes."
    )
    max_intraday_emails_per_client: int = Field(
        default=2,
        ge=0,
        description=(
            "Intraday emails one client gets at most per day; further changes of the day's "
            "batches wait for the next morning's digest."
        ),
    )

    dbt_target: str = "duckdb"
    dbt_project_dir: Path = PROJECT_ROOT / "dbt_project"
    expectations_dir: Path = Field(
        default=PROJECT_ROOT / "expectations",
        description=(
            "The Great Expectations project of the quality gates (a copy with a bank's own "
            "changes may live elsewhere; `votum quality export` writes the shipped one)."
        ),
    )
    dbt_threads: int = Field(default=2, ge=1, le=64)
    # The PostgreSQL warehouse of VOTUM_DBT_TARGET=postgres (flows/engines/postgres.py).
    # dbt reads them from DBT_VOTUM_PG_* variables that flows/transform.py sets (the
    # password from DBT_ENV_SECRET_VOTUM_PG_PASSWORD, which dbt scrubs from its logs).
    pg_host: str = "localhost"
    pg_port: int = Field(default=5432, ge=1, le=65535)
    pg_database: str = "votum"
    pg_user: str = "votum"
    pg_password: SecretStr | None = None
    pg_schema: str = Field(
        default="public", description="Schema of the public marts on PostgreSQL."
    )
    # The Spark warehouse of VOTUM_DBT_TARGET=spark (flows/engines/spark.py): dbt-spark's
    # `session` method, a Spark inside this process; its tables (Parquet) and its Derby
    # metastore live under VOTUM_HOME/spark. dbt reads them from DBT_VOTUM_SPARK_*.
    spark_schema: str = Field(
        default="votum", description="Schema (database) of the public marts on Spark."
    )
    spark_master: str = Field(default="local[2]", description="Spark master URL.")
    spark_driver_memory: str = Field(default="2g", description="Memory of the Spark driver.")
    spark_shuffle_partitions: int = Field(
        default=4, ge=1, description="Partitions of a Spark shuffle (joins, aggregations)."
    )

    max_quarantine_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description=(
            "A file with a larger share of faulty rows is a file fault (when at least "
            "VOTUM_MIN_QUARANTINE_ROWS of them are faulty)."
        ),
    )
    warehouse_memory_limit: DuckDBMemorySize = Field(
        default="1GB",
        description=(
            "DuckDB's memory limit for a run's own work in the warehouse (loading the "
            "drop, planning the emails): above it DuckDB drops cached pages of the "
            "warehouse file or spills to temporary files beside it instead of keeping "
            "everything it has read in memory. A run that stops with an out-of-memory "
            "error says so and names this setting."
        ),
    )
    quality_memory_limit: DuckDBMemorySize = Field(
        default="512MB",
        description=(
            "DuckDB's memory limit for the quality gates' queries (counts over the day's "
            "rows): above it DuckDB drops cached pages of the warehouse file or spills to "
            "disk instead of holding the whole snapshot in memory."
        ),
    )
    quality_results_kept: int = Field(
        default=60,
        ge=1,
        description=(
            "Great Expectations results (and Data Docs pages) kept per suite: the newest "
            "ones; every rule's outcome of every run stays in ops.quality_results."
        ),
    )
    min_quarantine_rows: int = Field(
        default=10,
        ge=1,
        description=(
            "Faulty rows a file needs at least before its share makes a file fault; fewer "
            "are quarantined and the day goes on."
        ),
    )
    max_holdings_change: float = Field(
        default=0.20,
        gt=0,
        description="Holdings snapshot size change against the previous drop that holds the day.",
    )
    inbox: Path | None = Field(
        default=None,
        description="Folder holding the drops <inbox>/<YYYY-MM-DD>/ (default VOTUM_HOME/inbox).",
    )
    drop_ready_marker: str | None = Field(
        default=None,
        pattern=r"^[^/\\]+$",
        description=(
            "File the sender writes into a drop folder last (e.g. _SUCCESS); a name ending "
            "in .sha256 (e.g. MANIFEST.sha256) is a manifest in sha256sum format whose "
            "checksums are verified. Unset: a drop is loaded as found."
        ),
    )
    drop_wait_minutes: float = Field(
        default=60.0,
        ge=0,
        le=24 * 60,
        description=(
            "How long a scheduled daily run waits for the drop's completion marker "
            "(a run started by hand does not wait)."
        ),
    )
    ops_alert_to: str | None = Field(
        default=None,
        description="Operations address told of every failed or held run (none: no alert).",
    )
    holdings_retention_drops: int = Field(
        default=30,
        ge=2,
        description="Holdings snapshots kept in the raw layer (older drops are pruned).",
    )

    @property
    def home_dir(self) -> Path:
        # Not cached: a copy with another home (``model_copy``) must not keep this one's.
        return self.home.expanduser().resolve()

    @property
    def inbox_dir(self) -> Path:
        return (self.inbox or self.home_dir / "inbox").expanduser().resolve()

    @property
    def logs_dir(self) -> Path:
        return self.home_dir / "logs"

    @property
    def run_lock_path(self) -> Path:
        return self.home_dir / "run.lock"

    @property
    def warehouse_path(self) -> Path:
        return self.home_dir / "warehouse.duckdb"

    @property
    def journal_path(self) -> Path:
        return self.home_dir / "delivery.sqlite"

    @property
    def mail_domain(self) -> str:
        return self.mail_from.rpartition("@")[2] or "localhost"

    @property
    def opt_out_address(self) -> str:
        return self.unsubscribe_address or f"unsubscribe@{self.mail_domain}"

    @property
    def worklist_action_url(self) -> str:
        """VOTUM_ACTION_URL, else ``<origin of VOTUM_UNSUBSCRIBE_URL>/worklist/action``."""
        if self.action_url:
            return self.action_url
        scheme, _, rest = self.unsubscribe_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/worklist/action"

    @property
    def worklist_activities_path(self) -> Path:
        """The SQLite file of the advisors' clicks on worklist action links."""
        return self.home_dir / "worklist_activities.sqlite"

    @property
    def prefect_home(self) -> Path:
        return self.home_dir / "prefect"

    @property
    def dbt_target_path(self) -> Path:
        return self.home_dir / "dbt" / "target"

    @property
    def dbt_docs_path(self) -> Path:
        return self.home_dir / "dbt" / "docs"

    @property
    def dbt_log_path(self) -> Path:
        return self.home_dir / "dbt" / "logs"

    @property
    def spark_dir(self) -> Path:
        """Spark's tables (``warehouse/``), its Derby metastore and scratch space."""
        return self.home_dir / "spark"

    def ensure_home(self) -> Path:
        self.home_dir.mkdir(parents=True, exist_ok=True)
        return self.home_dir

    def apply_runtime_environment(self) -> None:
        """Point Prefect at our working folder before Prefect is imported.

        Prefect reads its settings when it is first imported, so the CLI calls this
        before it imports the flows. Without a ``PREFECT_API_URL`` Prefect starts a
        temporary local server for the process (SQLite under ``PREFECT_HOME``);
        analytics stay off (otherwise telemetry errors appear on a closed network).
        Values a user set explicitly are left alone.
        """
        self.ensure_home()
        os.environ.setdefault("PREFECT_HOME", str(self.prefect_home))
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        # The temporary server needs 5 s here, 15 s on its first start (database
        # migrations) and more on a busy machine; Prefect's default of 20 s is too tight.
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        os.environ.setdefault("DO_NOT_TRACK", "1")
        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def get_settings() -> Settings:
    """A fresh settings object from the current environment (and ``.env``)."""
    try:
        return Settings()
    except ValidationError as exc:
        # Name the variable and the rule, never the value: it may be a secret.
        problems = "; ".join(
            f"VOTUM_{'_'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigurationError(f"Invalid configuration: {problems}") from None
