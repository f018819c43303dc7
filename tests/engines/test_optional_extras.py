"""The default install has no PostgreSQL, Spark or Dask packages: choosing one of them
without its extra is a configuration error that names the extra, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Runs in a fresh interpreter in which the named top-level packages cannot be imported,
# as in an installation without the extra.
HIDE_AND_RUN = """
import importlib.abc, sys
HIDDEN = set(sys.argv[1].split(","))
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Hide())
from flows.errors import ConfigurationError
from flows.settings import get_settings
try:
    exec(sys.argv[2])
except ConfigurationError as exc:
    print("ConfigurationError:", exc)
"""

CASES = {
    "postgres": (
        "psycopg2",
        {"VOTUM_DBT_TARGET": "postgres"},
        "from flows.engines.target import build_day; import datetime; "
        "build_day(get_settings(), datetime.date(2026, 3, 2))",
    ),
    "spark": (
        "pyspark",
        {"VOTUM_DBT_TARGET": "spark"},
        "from flows.engines.target import mirror_marts; mirror_marts(get_settings())",
    ),
    "dask": (
        "prefect_dask",
        {"VOTUM_DISPATCH_WORKERS": "2"},
        "from flows.notify.fanout import task_runner; task_runner(get_settings())",
    ),
}


@pytest.mark.parametrize("extra", sorted(CASES))
def test_a_missing_extra_is_named(extra: str, tmp_path: Path) -> None:
    hidden, env, code = CASES[extra]
    result = subprocess.run(
        [sys.executable, "-c", HIDE_AND_RUN, hidden, code],
        env={"PATH": "/usr/bin:/bin", "VOTUM_HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert f"pip install 'votum[{extra}]'" in result.stdout, result.stderr[-2000:]
    assert result.stdout.startswith("ConfigurationError:")
