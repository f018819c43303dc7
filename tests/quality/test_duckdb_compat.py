"""The compatibility layer that makes Great Expectations count right on DuckDB. If a GE
release changes what it relies on, these observed counts change: the test fails loudly
(a result that only says success=False cannot tell a broken engine from bad data)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.quality.duckdb_compat import install


@pytest.fixture(scope="module")
def known_bad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gx") / "known_bad.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            """
            CREATE TABLE positions AS
            SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE 'C' || i END AS client_id,
                   CASE WHEN i % 25 = 0 THEN 'not-an-isin' ELSE 'DE0007164600' END AS isin,
                   CAST(i % 7 - 1 AS DECIMAL(18, 4)) AS quantity
            FROM range(1000) AS t(i)
            """
        )
    return path


def test_expectations_report_observed_counts_on_duckdb(known_bad: Path) -> None:
    install()
    import great_expectations as gx
    from great_expectations.expectations.core.unexpected_rows_expectation import (
        UnexpectedRowsExpectation,
    )

    context = gx.get_context(mode="file", project_root_dir=str(known_bad.parent))
    source = context.data_sources.add_sql("known_bad", connection_string=f"duckdb:///{known_bad}")
    batch = source.add_table_asset(
        "positions", table_name="positions"
    ).add_batch_definition_whole_table("all")
    suite = context.suites.add(gx.ExpectationSuite(name="known_bad"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="client_id"))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToMatchRegex(
            column="isin", regex="^[A-Z]{2}[A-Z0-9]{9}[0-9]$"
        )
    )
    suite.add_expectation(
        UnexpectedRowsExpectation(unexpected_rows_query="SELECT * FROM {batch} WHERE quantity < 0")
    )
    suite.add_expectation(gx.expectations.ExpectTableRowCountToEqual(value=1000))
    result = context.validation_definitions.add(
        gx.ValidationDefinition(name="known_bad", data=batch, suite=suite)
    ).run(result_format={"result_format": "SUMMARY", "partial_unexpected_count": 0})

    by_type = {r.expectation_config.type: r for r in result.results}
    # Without the fix every one of these is success=False with an empty result.
    assert by_type["expect_column_values_to_not_be_null"].result["unexpected_count"] == 100
    assert by_type["expect_column_values_to_match_regex"].result["unexpected_count"] == 40
    assert by_type["unexpected_rows_expectation"].result["observed_value"] == 143
    assert by_type["expect_table_row_count_to_equal"].success is True
    assert by_type["expect_table_row_count_to_equal"].result["observed_value"] == 1000
