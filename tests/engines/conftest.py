"""A real PostgreSQL server, one per test session, for the engine tests."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from tests.engines.postgres_server import PostgresServer, find_binaries

# pytest imports every test module, even one whose marker `make test` deselects. The engine
# groups need the extras that `make test-engines` installs (`make install` does not):
# without them, their modules are not collected at all.
_NEEDS_EXTRA = {
    "test_postgres_marts.py": "psycopg2",
    "test_spark_marts.py": "pyspark",
    "test_pipeline_on_engines.py": "psycopg2",
}
collect_ignore = [
    module for module, package in _NEEDS_EXTRA.items() if importlib.util.find_spec(package) is None
]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    binaries = find_binaries()
    if binaries is None:
        pytest.skip(
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql): "
            "install the Debian package postgresql, as .ci/run does"
        )
    with PostgresServer(binaries) as server:
        yield server
