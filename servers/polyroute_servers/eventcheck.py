"""What `record_event` checks before anything reaches the audit log, and how `query_events` answers stay
bounded.

The audit log is append-only: whatever it takes it keeps forever and every reader pays for. So a
caller's event is checked as far as it can be — the catalog knows the deployment, the policy knows the
jurisdiction and data class, details are JSON objects of bounded size and depth with finite numbers
and no key that would hide the `action` — and refused with a message naming the limit, never
truncated silently. An answer of `query_events` stops adding events once it reaches
`Limits.max_answer_bytes` (always at least one event) and says where the next page starts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.exceptions import ToolError

from polyroute.policy import DATA_CLASSES

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.audit.event import AuditEvent

MAX_DEPTH = 32
"""Nesting of `details`: deeper documents crash recursive readers (and say nothing a flat one cannot)."""
RESERVED = frozenset({"action"})
"""Keys of `details` set by `record_event` itself."""


def _depth_and_finite(value: Any, depth: int = 1) -> int:
    """How deep `value` nests; ToolError on a non-finite number (not JSON) or nesting past MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise ToolError(f"details nest deeper than {MAX_DEPTH} levels; flatten them")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("details hold a number that is not finite (NaN or infinity); JSON cannot carry it")
    children: Sequence[Any] = (
        list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
    )
    return max((_depth_and_finite(child, depth + 1) for child in children), default=depth)


def check_details(details: dict[str, Any], max_bytes: int) -> None:
    """ToolError unless `details` is a bounded, finite, JSON-encodable object without reserved keys."""
    taken = sorted(RESERVED & set(details))
    if taken:
        raise ToolError(f"details may not hold {', '.join(taken)}: record_event sets it from its argument")
    _depth_and_finite(details)
    size = len(json.dumps(details, ensure_ascii=False, separators=(",", ":"), default=str).encode())
    if size > max_bytes:
        raise ToolError(
            f"details are {size:,} bytes as JSON; record_event takes at most {max_bytes:,} "
            "(keep a digest or a link to large material, not the material)"
        )


def check_fields(app: App, deployment: str | None, jurisdiction: str | None, data_class: str | None) -> None:
    """ToolError for a deployment, jurisdiction or data class the catalog or policy does not know."""
    if deployment is not None:
        app.catalog.get(deployment)  # UnknownDeployment names close matches
    if jurisdiction is not None and jurisdiction not in app.policy.jurisdictions:
        from polyroute.policy import canonical_jurisdiction

        if canonical_jurisdiction(jurisdiction) not in app.policy.jurisdictions:
            known = ", ".join(app.policy.jurisdictions)
            raise ToolError(f"unknown jurisdiction {jurisdiction!r}; the policy knows {known}")
    if data_class is not None and data_class not in DATA_CLASSES:
        raise ToolError(f"unknown data class {data_class!r}; expected one of {', '.join(DATA_CLASSES)}")


def bounded_page(events: Sequence[AuditEvent], max_bytes: int) -> tuple[list[AuditEvent], bool]:
    """The newest events whose JSON fits in `max_bytes` (at least one), and whether any were left out."""
    kept: list[AuditEvent] = []
    total = 0
    for event in events:
        total += len(event.model_dump_json())
        if kept and total > max_bytes:
            return kept, True
        kept.append(event)
    return kept, False


__all__ = ["MAX_DEPTH", "bounded_page", "check_details", "check_fields"]
