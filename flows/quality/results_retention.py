"""Keeping the Great Expectations results (and their Data Docs pages) of the latest runs.

Every checkpoint run stores one result per suite under ``VOTUM_HOME/quality/validations``
and a page per result in the Data Docs site; the site's index is rebuilt from every
stored result on each run. Unpruned, a year of daily runs leaves some four thousand
results and an index that takes seconds longer every month. The newest
``VOTUM_QUALITY_RESULTS_KEPT`` results of each suite are kept, with their pages; older
ones are deleted before the index is rebuilt. (The outcome of every rule of every run
stays in ``ops.quality_results`` in the warehouse.)

Layout, as Great Expectations writes it: ``validations/<suite>/<run name>/<run time>/
<batch>.json`` and ``data_docs/validations/<same path>.html``; run times sort as text.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def prune_results(quality_dir: Path, keep: int) -> int:
    """Delete all but the newest ``keep`` results of each suite (and their pages);
    returns how many results were deleted."""
    results = quality_dir / "validations"
    pages = quality_dir / "data_docs" / "validations"
    if not results.is_dir():
        return 0
    deleted = 0
    for suite in sorted(p for p in results.iterdir() if p.is_dir()):
        runs = sorted(
            (run_time for run_name in suite.iterdir() if run_name.is_dir()
             for run_time in run_name.iterdir() if run_time.is_dir()),
            key=lambda path: path.name,
        )  # fmt: skip
        for old in runs[: max(len(runs) - keep, 0)]:
            relative = old.relative_to(results)
            shutil.rmtree(old)
            shutil.rmtree(pages / relative, ignore_errors=True)
            deleted += 1
    return deleted
