"""The time that votum stamps on what the figures read: when an email was sent (the
journal's ``recorded_at``, the ledger's ``sent_at``, the message's ``Date``), when a
worklist link was clicked or a client opted out in ``votum serve``, and the "today" of
the expiry of unsent emails.

Real runs use the real clock. ``votum demo`` replays past business days in a few
minutes; to make its figures read like a real week it sets ``VOTUM_DEMO_CLOCK_FILE``
(demo only) to a file that holds the simulated current instant (one ISO 8601 line with
its offset) and advances it: each day's sending on that day's morning, the advisors'
clicks after it. Every process that shares the setting (the demo's flow runs and its
``votum serve``) reads the same file at each call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flows.errors import ConfigurationError

if TYPE_CHECKING:
    from flows.settings import Settings

BANK_TIMEZONE = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Clock:
    """The real clock, or (``simulated_file`` set) the instant that file holds."""

    simulated_file: Path | None = None

    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        if self.simulated_file is None:
            return datetime.now(UTC)
        return read_simulated_instant(self.simulated_file)

    def today_in_bank(self) -> date:
        """Today's date in Europe/Berlin."""
        return self.now().astimezone(BANK_TIMEZONE).date()


SYSTEM_CLOCK = Clock()


def clock_for(settings: Settings) -> Clock:
    return Clock(settings.demo_clock_file)


def read_simulated_instant(path: Path) -> datetime:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(
            f"VOTUM_DEMO_CLOCK_FILE {path} cannot be read ({exc.strerror}); it is for "
            "votum demo only: unset it for real runs."
        ) from None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ConfigurationError(
            f"VOTUM_DEMO_CLOCK_FILE {path}: expected one ISO 8601 instant with its offset "
            "(e.g. 2026-10-01T06:45:00+02:00)."
        )
    return instant.astimezone(UTC)


def set_simulated_instant(path: Path, instant: datetime) -> None:
    """Move the simulated clock (the demo); written whole, so a reader never sees half."""
    if instant.tzinfo is None:
        raise ValueError("a simulated instant needs its timezone")
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(instant.isoformat() + "\n", encoding="utf-8")
    scratch.replace(path)
