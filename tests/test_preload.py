"""Importing a run's heavy libraries on a thread: waited for, failures handed over."""

from __future__ import annotations

import threading

import pytest

from flows import preload as preload_module
from flows.preload import preload, wait_for_preload


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preload_module, "_thread", None)
    monkeypatch.setattr(preload_module, "_failure", None)


def test_the_loaders_run_once_on_another_thread_and_are_waited_for() -> None:
    ran: list[str] = []
    gate = threading.Event()

    def first() -> None:
        gate.wait(5)
        ran.append(threading.current_thread().name)

    preload([first, lambda: ran.append("second")])
    preload([lambda: ran.append("never")])  # once per process
    gate.set()
    wait_for_preload()
    assert ran == ["votum-preload", "second"]


def test_a_failed_import_is_raised_where_the_library_is_needed() -> None:
    def broken() -> None:
        raise ImportError("no module named great_expectations")

    preload([broken])
    with pytest.raises(ImportError, match="great_expectations"):
        wait_for_preload()


def test_without_a_preload_waiting_returns_at_once() -> None:
    wait_for_preload()
