"""The committed Great Expectations project is what the rules in code produce: the
suites cannot drift from flows/quality/rules.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from flows.quality.gx_project import EXPECTATIONS_DIR, write_project
from flows.quality.rules import ALL_RULES
from flows.settings import get_settings


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in {"id", "data_context_id"}}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def _project(root: Path) -> dict[str, Any]:
    gx = root / "gx"
    files = {
        str(p.relative_to(gx)): _without_ids(json.loads(p.read_text(encoding="utf-8")))
        for folder in ("expectations", "validation_definitions", "checkpoints")
        for p in sorted((gx / folder).glob("*.json"))
    }
    config = yaml.safe_load((gx / "great_expectations.yml").read_text(encoding="utf-8"))
    files["great_expectations.yml"] = _without_ids(config)
    return files


def test_committed_project_equals_what_the_rules_generate(votum_home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, copy, ignore=shutil.ignore_patterns("uncommitted"))
    (copy / "gx" / "expectations").mkdir(exist_ok=True)
    for stale in (copy / "gx" / "expectations").glob("*.json"):
        stale.unlink()  # regenerate the suites from scratch
    write_project(get_settings(), copy)
    assert _project(copy) == _project(EXPECTATIONS_DIR), (
        "expectations/gx differs from flows/quality/rules.py: run `votum quality export` "
        "and commit the result"
    )


def test_every_rule_is_an_expectation_of_its_suite() -> None:
    committed = _project(EXPECTATIONS_DIR)
    for rule in ALL_RULES:
        suite = committed[f"expectations/{rule.suite}.json"]
        metas = [e["meta"]["votum_rule"] for e in suite["expectations"]]
        assert rule.name in metas, (rule.suite, rule.name)
        assert metas.count(rule.name) == 1


def test_the_gates_duckdb_connection_has_the_memory_limit(
    votum_home: Path, monkeypatch: Any
) -> None:
    import sqlalchemy

    from flows.quality.gx_project import warehouse_url

    monkeypatch.setenv("VOTUM_QUALITY_MEMORY_LIMIT", "300MB")
    settings = get_settings()
    settings.ensure_home()
    engine = sqlalchemy.create_engine(warehouse_url(settings))
    try:
        with engine.connect() as con:
            limit = con.execute(sqlalchemy.text("SELECT current_setting('memory_limit')")).scalar()
    finally:
        engine.dispose()
    assert str(limit).replace(" ", "") in {"286.1MiB", "300.0MB"}
