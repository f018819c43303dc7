"""Writing the emails a day would send as ``.eml`` files, without any connection:
``votum run --dry-run`` and ``votum preview DATE``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

from flows.notify.ledger import ClaimedMessage, ensure_ledger, statuses
from flows.notify.message import UnsafeMessageError
from flows.notify.render import RenderError
from flows.notify.sending import digest_keys, render_claimed
from flows.settings import Settings
from flows.warehouse import open_warehouse

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def write_previews(settings: Settings, business_day: date, out_dir: Path) -> list[Path]:
    """Every not-yet-sent email of the day (pending or held) as a file; returns them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open_warehouse(settings.warehouse_path) as con:
        ensure_ledger(con)
        rows = con.execute(
            """
            SELECT message_key, kind, business_day, recipient_name, recipient_email, language,
                   message_id, payload, attempts
            FROM ops.delivery_ledger
            WHERE business_day = ? AND status IN ('pending', 'held')
              AND recipient_email IS NOT NULL
            ORDER BY kind, message_key
            """,
            [business_day],
        ).fetchall()
        messages = [ClaimedMessage(*row) for row in rows]
        delivery = statuses(con, digest_keys([m for m in messages if m.kind != "client_digest"]))
    written = []
    now = datetime.now(UTC)
    for message in messages:
        try:
            data = render_claimed(message, settings, delivery, now)
        except (UnsafeMessageError, RenderError):
            continue  # dispatch reports it as failed; a preview shows what would go out
        name = _UNSAFE_FILE_CHARS.sub("_", message.message_key.replace(":", "_"))
        path = out_dir / f"{name}.eml"
        path.write_bytes(data)
        written.append(path)
    return written
