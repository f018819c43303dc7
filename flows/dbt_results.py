"""What a dbt command did, node by node, in plain values (read from dbt's own result
objects in whichever process ran dbt)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class NodeResult:
    name: str
    resource_type: str
    status: str
    message: str | None
    failures: int | None
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def node_results(result: Any) -> tuple[NodeResult, ...]:
    """The nodes of a dbtRunner result (``RunExecutionResult``); none for other commands."""
    nodes = []
    for item in getattr(result, "results", None) or ():
        node = item.node
        nodes.append(
            NodeResult(
                name=node.name,
                resource_type=str(node.resource_type),
                status=str(item.status),
                message=item.message,
                failures=item.failures,
                seconds=float(item.execution_time or 0.0),
            )
        )
    return tuple(nodes)
