"""A real PostgreSQL server, one per test session, for the engine tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engines.postgres_server import PostgresServer, find_binaries


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
