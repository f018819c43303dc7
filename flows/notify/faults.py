"""Fault injection for the test suite, and nothing else.

``VOTUM_FAULT_INJECTION=kill-after-accept:<n>`` makes the sending process kill itself
(SIGKILL, as ``kill -9`` would) right after the server accepted its n-th message and
before that acceptance is written to the journal: the one window in which an email may
have arrived without votum knowing it (see ``flows/notify/ledger.py``, ``uncertain``).
Only tests set it; without it this module does nothing.
"""

from __future__ import annotations

import os
import signal
import threading

from flows.errors import ConfigurationError
from flows.settings import Settings

_KILL_AFTER_ACCEPT = "kill-after-accept"
_lock = threading.Lock()
_accepted = 0


def kill_after_accept_count(settings: Settings) -> int | None:
    """The n of ``kill-after-accept:<n>``, or None when no fault is injected."""
    spec = settings.fault_injection
    if not spec:
        return None
    name, _, count = spec.partition(":")
    if name != _KILL_AFTER_ACCEPT or not count.isdigit() or int(count) < 1:
        raise ConfigurationError(
            "VOTUM_FAULT_INJECTION (test suite only) must be kill-after-accept:<n> with n >= 1"
        )
    return int(count)


def after_accept(settings: Settings) -> None:
    """Called after every accepted message, before its outcome is written."""
    target = kill_after_accept_count(settings)
    if target is None:
        return
    global _accepted
    with _lock:
        _accepted += 1
        reached = _accepted == target
    if reached:
        os.kill(os.getpid(), signal.SIGKILL)
