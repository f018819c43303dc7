"""What a warm process of `votum worker` checks before it takes a flow run
(flows.worker.warm_process): the run's environment and the project's code."""

from __future__ import annotations

import os
from pathlib import Path

from flows.worker.handoff import SOCKET_VARIABLE
from flows.worker.warm_process import code_fingerprint, environment_differences, why_not_warm


def test_prefect_s_per_run_variables_and_the_socket_are_not_differences() -> None:
    warmed_in = {"VOTUM_HOME": "/srv/votum", "PATH": "/usr/bin", SOCKET_VARIABLE: "/tmp/a"}
    run = {
        **warmed_in,
        "PREFECT__FLOW_RUN_ID": "3a0e",
        "PREFECT__CONTROL_PORT": "4711",
        SOCKET_VARIABLE: "/tmp/b",
    }
    assert environment_differences(warmed_in, run) == []


def test_a_changed_added_or_removed_variable_is_named_without_its_value() -> None:
    warmed_in = {"VOTUM_HOME": "/srv/votum", "VOTUM_SMTP_PASSWORD": "old", "LANG": "C"}
    run = {"VOTUM_HOME": "/srv/other", "VOTUM_SMTP_PASSWORD": "new", "TZ": "UTC"}
    assert environment_differences(warmed_in, run) == [
        "LANG",
        "TZ",
        "VOTUM_HOME",
        "VOTUM_SMTP_PASSWORD",
    ]
    reason = why_not_warm(warmed_in, run, frozenset(), frozenset())
    assert reason is not None
    assert "VOTUM_SMTP_PASSWORD" in reason
    assert "new" not in reason and "old" not in reason and "/srv" not in reason


def _project(root: Path) -> None:
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "pipeline.py").write_text("x = 1\n")
    (root / "flows" / "__pycache__").mkdir()
    (root / "dbt_project" / "models").mkdir(parents=True)
    (root / "dbt_project" / "models" / "fct.sql").write_text("select 1\n")
    (root / "dbt_project" / "target").mkdir()
    (root / "expectations").mkdir()


def test_the_project_s_code_changed_since_warm_up_is_a_reason_to_start_new(
    tmp_path: Path,
) -> None:
    _project(tmp_path)
    warm = code_fingerprint(tmp_path)
    # What runs write under the code folders is not code.
    (tmp_path / "flows" / "__pycache__" / "pipeline.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "dbt_project" / "target" / "manifest.json").write_text("{}")
    assert code_fingerprint(tmp_path) == warm
    assert why_not_warm({}, {}, warm, code_fingerprint(tmp_path)) is None

    model = tmp_path / "dbt_project" / "models" / "fct.sql"
    model.write_text("select 2\n")
    os.utime(model, ns=(1, 1))  # even with an old modification time: the size changed
    reason = why_not_warm({}, {}, warm, code_fingerprint(tmp_path))
    assert reason == f"the project's code changed since the warm process started: {model}"

    warm = code_fingerprint(tmp_path)
    added = tmp_path / "expectations" / "holdings.json"
    added.write_text("{}")
    reason = why_not_warm({}, {}, warm, code_fingerprint(tmp_path))
    assert reason == f"the project's code changed since the warm process started: {added}"
