"""The flows' parameters as typed models: what a deployment, the CLI and the tests pass.

Prefect builds each deployment's parameter schema from these models
(``enforce_parameter_schema`` in ``prefect.yaml`` rejects a run with a wrong type before
a worker picks it up). Defaults resolve at run time, not at deploy time: a scheduled run
without a date runs today's business day in Europe/Berlin.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

BANK_TIMEZONE = ZoneInfo("Europe/Berlin")
_ISO_WEEK = re.compile(r"^\d{4}-W\d{2}$")


def today_in_berlin() -> date:
    return datetime.now(BANK_TIMEZONE).date()


class DailyRunParameters(BaseModel):
    """One business day's run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_date: date | None = Field(
        default=None, description="Business day to run (default: today in Europe/Berlin)."
    )
    inbox: Path | None = Field(
        default=None,
        description="Folder holding the drops <inbox>/<YYYY-MM-DD>/ (default VOTUM_INBOX).",
    )
    full_refresh: bool = Field(default=False, description="Rebuild incremental models.")
    dry_run: bool = Field(
        default=False, description="Write the planned emails as .eml files, send nothing."
    )
    preview_dir: Path | None = Field(default=None, description="Where a dry run writes.")
    send: bool = Field(default=True, description="False: plan, leave for `votum dispatch`.")
    backfill: bool = Field(
        default=False,
        description="Load and build a day older than the last processed one; send nothing.",
    )
    force: bool = Field(default=False, description="Run a day that is not a business day.")

    def resolved_date(self) -> date:
        return self.run_date or today_in_berlin()


class IntradayRunParameters(BaseModel):
    """One call of the intraday path: the day's batches not processed yet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_date: date | None = Field(
        default=None, description="Business day of the batches (default: today, Berlin)."
    )
    inbox: Path | None = Field(
        default=None,
        description=(
            "Folder holding <inbox>/<YYYY-MM-DD>/intraday/<HHMMSS>/ (default VOTUM_INBOX)."
        ),
    )
    scheduled: bool = Field(
        default=False,
        description=(
            "A poll of the deployment: the run lock taken (the daily run is going) or a "
            "day that is not a business day ends the call quietly; the next poll tries."
        ),
    )

    def resolved_date(self) -> date:
        return self.run_date or today_in_berlin()


class WeeklyReportParameters(BaseModel):
    """The adoption report of one ISO week."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    week: str | None = Field(
        default=None,
        description="ISO week YYYY-Www (default: the last complete week, Europe/Berlin).",
    )
    today: date | None = Field(
        default=None, description="The day the report is made for (default: today, Berlin)."
    )
    send: bool = Field(default=True, description="False: write files and plan, send nothing.")

    @field_validator("week")
    @classmethod
    def _iso_week(cls, value: str | None) -> str | None:
        if value is not None and not _ISO_WEEK.match(value):
            raise ValueError(f"not an ISO week YYYY-Www: {value!r}")
        return value


# The flows' defaults (frozen models, safe to share): every field takes its default.
DEFAULT_DAILY = DailyRunParameters()
DEFAULT_INTRADAY = IntradayRunParameters()
DEFAULT_WEEKLY = WeeklyReportParameters()
