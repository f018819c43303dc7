"""The Great Expectations results kept: the newest per suite, with their Data Docs pages."""

from __future__ import annotations

from pathlib import Path

from flows.quality.results_retention import prune_results


def _result(quality: Path, suite: str, run_time: str) -> tuple[Path, Path]:
    result = quality / "validations" / suite / "__none__" / run_time / f"warehouse-{suite}.json"
    page = quality / "data_docs" / "validations" / suite / "__none__" / run_time
    page = page / f"warehouse-{suite}.html"
    for path in (result, page):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}", encoding="utf-8")
    return result, page


def test_the_newest_results_of_each_suite_are_kept_with_their_pages(tmp_path: Path) -> None:
    times = [f"2026110{d}T063000.000000Z" for d in range(1, 6)]
    holdings = [_result(tmp_path, "raw_holdings", t) for t in reversed(times)]
    ratings = [_result(tmp_path, "raw_ratings", t) for t in times[:2]]
    (tmp_path / "validations" / ".ge_store_backend_id").write_text("x", encoding="utf-8")

    assert prune_results(tmp_path, keep=2) == 3
    kept = [r for r, p in holdings if r.exists() and p.exists()]
    gone = [r for r, p in holdings if not r.exists() and not p.exists()]
    assert sorted(r.parent.name for r in kept) == times[3:]
    assert sorted(r.parent.name for r in gone) == times[:3]
    assert all(r.exists() and p.exists() for r, p in ratings)  # within the limit
    assert (tmp_path / "validations" / ".ge_store_backend_id").exists()
    assert prune_results(tmp_path, keep=2) == 0


def test_no_results_yet(tmp_path: Path) -> None:
    assert prune_results(tmp_path / "quality", keep=5) == 0
