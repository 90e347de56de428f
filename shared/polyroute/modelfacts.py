"""How a catalog entry is completed from the bundled data: its model's facts where it is silent, and its
source keys (`"anthropic-models"`) replaced by the `[sources.<key>]` tables they name.

Kept apart from `catalog` so the Deployment model and the Catalog stay one concept each; both the
bundled catalog and user `[[deployments]]` go through these two steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from polyroute.errors import ConfigError

MODEL_FACTS = ("context_window", "max_output_tokens", "max_input_tokens", "capabilities", "quality",
               "quality_by_task", "latency_prior_ms", "bedrock_api", "accepts_temperature")  # fmt: skip


def inherit_model_facts(entry: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The entry with its model's facts filled in where it is silent; model sources come first."""
    merged = dict(entry)
    facts = models.get(str(entry.get("model")))
    if facts is None:
        return merged
    for key in MODEL_FACTS:
        if key in facts:
            merged.setdefault(key, facts[key])
    merged["sources"] = [*facts.get("sources", ()), *entry.get("sources", ())]
    return merged


def resolve_sources(entry: dict[str, Any], sources: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Source keys (`"anthropic-models"`) → the `[sources.<key>]` tables they name."""
    resolved: list[Any] = []
    for source in entry.get("sources", ()):
        if isinstance(source, str):
            if source not in sources:
                raise ConfigError(
                    f"{where}: deployment {entry.get('id', '?')!r}: sources: unknown key {source!r}"
                )
            source = sources[source]
        resolved.append(source)
    return {**entry, "sources": resolved}
