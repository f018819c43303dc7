"""Our one expectation type, ``expect_no_rows_to_break_rule``: Great Expectations'
``UnexpectedRowsExpectation`` with only the count.

The stock expectation computes two metrics from its query: the count of unexpected rows
and a table of the first of them. On a clean 10-million-row file both run the query to
its end, so every rule scanned the data twice; and the table holds client data we must
keep out of results and Data Docs anyway. This subclass depends on the count alone.

Importing this module registers the type with Great Expectations (it must happen before
a context loads the suites: :func:`flows.quality.gx_project.open_context` does it).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations.core.unexpected_rows_expectation import (
    UnexpectedRowsExpectation,
)


class ExpectNoRowsToBreakRule(UnexpectedRowsExpectation):
    """Fails when the rule's query finds any row; the result is how many it found."""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        count = int(metrics["unexpected_rows_query.row_count"])
        return {"success": count == 0, "result": {"observed_value": count}}
