"""Pure helpers for the demo's tables: pick a showcase of deployments, read tool results leniently.

Tool results are read by the field names DESIGN §3 fixes; anything optional is shown as '-' rather
than failing the demo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from polyroute_servers.output import usd

SHOWCASE_SIZE = 6
PREFERRED_MODEL = "claude-sonnet-4-6"  # one model across footprints keeps the cost table comparable


def footprint_kind(deployment: dict[str, Any]) -> int | None:
    """Which kind of footprint a deployment shows off, in the order the demo tells the story."""
    where = set(deployment.get("processing_locations") or [])
    kinds = [
        where == {"SA"},  # in-Kingdom (the user-declared sovereign endpoint)
        where == {"AE"},  # in the UAE
        where == {"DE"},  # one EU country
        "DE" in where and len(where) > 1 and "ANY" not in where,  # a European multi-region profile
        where == {"US"},  # the US only
        "ANY" in where,  # anywhere
    ]
    return kinds.index(True) if any(kinds) else None


def choose_showcase(deployments: Sequence[dict[str, Any]], size: int = SHOWCASE_SIZE) -> list[dict[str, Any]]:
    """One deployment per footprint kind (in-country first, global last), of the preferred model if any."""
    best: dict[int, dict[str, Any]] = {}
    for deployment in sorted(deployments, key=lambda d: (d.get("model") != PREFERRED_MODEL, dep_id(d))):
        kind = footprint_kind(deployment)
        if kind is not None and kind not in best:
            best[kind] = deployment
    return [best[kind] for kind in sorted(best)][:size]


def reason_text(verdict: dict[str, Any], deployment: str) -> str:
    """The verdict's first reason, without the deployment id the table already shows."""
    reason = str((verdict.get("reasons") or ["(no reason given)"])[0])
    return reason.removeprefix(f"{deployment}: ")


def plan_summary(plan: dict[str, Any]) -> str:
    """'1 compliant candidate, 38 excluded (residency 37, capability 1)' from a route_request plan."""
    candidates = plan.get("candidates") or []
    exclusions = plan.get("exclusions") or []
    stages: dict[str, int] = {}
    for exclusion in exclusions:
        stage = str(exclusion.get("stage", "?"))
        stages[stage] = stages.get(stage, 0) + 1
    by_stage = ", ".join(f"{stage} {count}" for stage, count in sorted(stages.items(), key=lambda kv: -kv[1]))
    plural = "" if len(candidates) == 1 else "s"
    return f"{len(candidates)} compliant candidate{plural}, {len(exclusions)} excluded ({by_stage or 'none'})"


def live_failure_of(
    answer: dict[str, Any], provider_of: Mapping[str, str], live: AbstractSet[str]
) -> str | None:
    """Why a live provider failed this `complete` call, if one did (the call may have fallen back to a
    stand-in, whose echo must then not be shown as the answer); an `error` answer is a failure too."""
    if "error" in answer:
        return shorten(str(answer["error"]), 120)
    failed = [
        a for a in answer.get("attempts", [])
        if not a.get("ok") and provider_of.get(str(a.get("deployment"))) in live
    ]  # fmt: skip
    if not failed:
        return None
    first = failed[0]
    status = f" HTTP {first['status']}" if first.get("status") else ""
    return shorten(f"{first.get('deployment')}{status}: {first.get('error') or 'error'}", 120)


def deployments_of(listing: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("deployments", "models", "result"):
        if isinstance(listing.get(key), list):
            return list(listing[key])
    return []


def quotes_of(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("quotes", "comparison", "result"):
        if isinstance(comparison.get(key), list):
            return list(comparison[key])
    return []


def dep_id(deployment: dict[str, Any]) -> str:
    return str(deployment.get("id") or deployment.get("deployment"))


def footprint(item: dict[str, Any]) -> str:
    where = list(item.get("processing_locations") or [])
    return (
        "anywhere (ANY)"
        if "ANY" in where
        else ",".join(where)
        if len(where) <= 6
        else f"{len(where)} countries"
    )


def quote_cell(quote: dict[str, Any] | None) -> str:
    if quote is None:
        return "-"
    band = float(quote.get("error_band") or 0)
    tokens = f"{quote.get('input_tokens')}" + (f" ±{band:.0%}" if band else " exact")
    caveat = " *indicative (PTU)" if quote.get("price_caveat") else ""
    return f"{tokens}, {usd(quote.get('expected_usd'))} ({usd(quote.get('max_usd'))}){caveat}"


def usage_of(answer: dict[str, Any], key: str) -> Any:
    return (answer.get("usage") or {}).get(key, "?")


def count_of(details: dict[str, Any], key: str) -> int:
    value = details.get(key)
    return len(value) if isinstance(value, list) else 0  # pyright: ignore[reportUnknownArgumentType]


def allowed_cell(value: Any) -> str:
    return "-" if value is None else "yes" if value else "no"


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
