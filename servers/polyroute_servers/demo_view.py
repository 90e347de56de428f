"""Pure helpers for the demo's tables: pick a showcase of deployments, read tool results leniently.

Tool results are read by the field names DESIGN §3 fixes; anything optional is shown as '-' rather
than failing the demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyroute_servers.output import usd

SHOWCASE_SIZE = 6


def choose_showcase(deployments: Sequence[dict[str, Any]], size: int = SHOWCASE_SIZE) -> list[dict[str, Any]]:
    """A few deployments with different processing footprints: in-country first, global last."""

    def rank(d: dict[str, Any]) -> tuple[int, str]:
        where = set(d.get("processing_locations") or [])
        order = (
            0
            if where == {"SA"}
            else 1
            if "AE" in where
            else 2
            if "DE" in where
            else 4
            if "ANY" in where
            else 3
        )
        return order, dep_id(d)

    chosen: list[dict[str, Any]] = []
    footprints: set[tuple[str, ...]] = set()
    for deployment in sorted(deployments, key=rank):
        footprint = tuple(deployment.get("processing_locations") or [])
        if footprint not in footprints:
            footprints.add(footprint)
            chosen.append(deployment)
    return chosen[:size]


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
    return f"{tokens}, {usd(quote.get('expected_usd'))} ({usd(quote.get('max_usd'))})"


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
