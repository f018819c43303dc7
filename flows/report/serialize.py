"""A report as JSON (the delivery ledger's payload) and back. Pure."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from flows.report.model import (
    AdvisorWeek,
    BankReport,
    BranchLine,
    BranchReport,
    UnfollowedAlert,
    WeekFigures,
)


def to_json(report: BranchReport | BankReport) -> str:
    return orjson.dumps(report, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def _day(value: Any) -> date:
    return date.fromisoformat(str(value))


def _figures(data: dict[str, Any] | None) -> WeekFigures | None:
    if data is None:
        return None
    return WeekFigures(**{**data, "week_start": _day(data["week_start"])})


def _required(data: dict[str, Any]) -> WeekFigures:
    figures = _figures(data)
    if figures is None:
        raise ValueError("a report's figures are missing in its payload")
    return figures


def branch_report_from_json(text: str) -> BranchReport:
    data = orjson.loads(text)
    return BranchReport(
        **{
            **data,
            "week_start": _day(data["week_start"]),
            "week_end": _day(data["week_end"]),
            "advisors": tuple(AdvisorWeek(**a) for a in data["advisors"]),
            "totals": _required(data["totals"]),
            "previous": _figures(data["previous"]),
            "branch_trend": tuple(_required(w) for w in data["branch_trend"]),
            "bank_trend": tuple(_required(w) for w in data["bank_trend"]),
            "unfollowed": tuple(
                UnfollowedAlert(
                    **{
                        **u,
                        "business_day": _day(u["business_day"]),
                        "deadline": _day(u["deadline"]),
                    }
                )
                for u in data["unfollowed"]
            ),
        }
    )


def bank_report_from_json(text: str) -> BankReport:
    data = orjson.loads(text)
    return BankReport(
        **{
            **data,
            "week_start": _day(data["week_start"]),
            "week_end": _day(data["week_end"]),
            "branches": tuple(
                BranchLine(branch=b["branch"], totals=_required(b["totals"]))
                for b in data["branches"]
            ),
            "totals": _required(data["totals"]),
            "previous": _figures(data["previous"]),
            "bank_trend": tuple(_required(w) for w in data["bank_trend"]),
        }
    )
