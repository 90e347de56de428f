"""The deployment catalog: every way to reach a model, with where it may process and store data.

Bundled deployments come from `data/deployments.toml` (each fact with its source and date); users add
their own (sovereign or on-prem endpoints, Azure, custom base URLs) as `[[deployments]]` tables in the
config file — see docs/configuration.md. Ids are slugs and are never parsed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from polyroute import locations
from polyroute.errors import ConfigError, UnknownDeployment

ProviderKind = Literal["anthropic", "openai", "bedrock", "azure_openai", "openai_compatible"]
Capability = Literal["vision", "json", "reasoning", "arabic", "long_context", "tools"]
CAPABILITIES: tuple[str, ...] = ("vision", "json", "reasoning", "arabic", "long_context", "tools")


class Source(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    fact: str
    url: str
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")


class Price(BaseModel):
    """USD per million tokens; an explicit price overrides the price library."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    input_per_mtok: Decimal = Field(ge=0)
    output_per_mtok: Decimal = Field(ge=0)
    cache_read_per_mtok: Decimal | None = Field(default=None, ge=0)
    cache_write_per_mtok: Decimal | None = Field(default=None, ge=0)
    batch_discount: Decimal = Field(default=Decimal("0"), ge=0, le=1)


class PriceRef(BaseModel):
    """Where the price library (genai-prices) finds this deployment, and the regional uplift."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    model_ref: str
    provider_id: str
    uplift: Decimal = Field(default=Decimal("1"), ge=1, description="e.g. 1.1 for regional endpoints")


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)


class Deployment(BaseModel):
    """One way to reach one model, with the countries where it may process and store data."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    provider: ProviderKind
    model: str = Field(description="canonical model name, e.g. claude-sonnet-4-6")
    api_model: str = Field(description="the model or profile id sent on the wire")
    endpoint_region: str | None = Field(default=None, description="e.g. aws:eu-central-1, openai:eu")
    inference_geo: str | None = None  # Anthropic API
    data_residency: str | None = None  # OpenAI
    aws_region: str | None = None  # Bedrock: the region the runtime endpoint is in
    api_version: str | None = None  # Azure OpenAI
    base_url: str | None = None
    api_key_env: str | None = None
    processing_locations: tuple[str, ...] = Field(description="ISO countries, or ('ANY',)")
    storage_locations: tuple[str, ...]
    retention_days: int | None = Field(default=None, ge=0, description="0 = zero data retention; None = unknown")
    trains_on_inputs: bool | None = None
    capabilities: frozenset[Capability] = frozenset()
    context_window: int = Field(ge=1)
    max_output_tokens: int = Field(ge=1)
    price_ref: PriceRef | None = None
    price: Price | None = None
    quality: int = Field(default=5, ge=1, le=10)
    quality_by_task: dict[str, int] = Field(default_factory=dict[str, int])
    latency_prior_ms: float = Field(default=1500, gt=0)
    limits: Limits = Field(default_factory=Limits)
    sources: tuple[Source, ...] = ()
    origin: Literal["bundled", "user"] = "bundled"
    notes: str | None = None

    @field_validator("processing_locations", "storage_locations")
    @classmethod
    def _countries_or_any(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must name at least one location (ISO country, region, group or ANY)")
        resolved, unknown = locations.expand(value)
        if unknown:
            raise ValueError(f"unknown location(s) {', '.join(unknown)}")
        return (locations.ANY,) if locations.ANY in resolved else tuple(sorted(resolved))

    @property
    def anywhere(self) -> bool:
        return locations.ANY in self.processing_locations or locations.ANY in self.storage_locations

    def quality_for(self, task: str | None) -> int:
        return self.quality_by_task.get(task, self.quality) if task else self.quality


class Catalog:
    """An immutable set of deployments, looked up by id or by model name."""

    def __init__(self, deployments: Iterable[Deployment]) -> None:
        self._by_id: dict[str, Deployment] = {}
        for deployment in deployments:
            self._by_id[deployment.id] = deployment  # a user entry replaces a bundled one of the same id

    def __iter__(self) -> Iterator[Deployment]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, deployment_id: object) -> bool:
        return deployment_id in self._by_id

    def ids(self) -> list[str]:
        return list(self._by_id)

    def get(self, deployment_id: str) -> Deployment:
        try:
            return self._by_id[deployment_id]
        except KeyError:
            raise UnknownDeployment(deployment_id, known=self.ids()) from None

    def find(self, deployment_id: str) -> Deployment | None:
        return self._by_id.get(deployment_id)

    def of_model(self, model: str) -> list[Deployment]:
        """Deployments of a model name (canonical or wire id)."""
        return [d for d in self if model in (d.model, d.api_model)]


def parse_deployment(raw: Mapping[str, Any], *, origin: Literal["bundled", "user"], where: str) -> Deployment:
    """One `[[deployments]]` table → Deployment. `location = "SA"` is shorthand for both location lists."""
    entry = dict(raw)
    if "location" in entry:
        location = entry.pop("location")
        where_list = [location] if isinstance(location, str) else list(location)
        entry.setdefault("processing_locations", where_list)
        entry.setdefault("storage_locations", where_list)
    entry.setdefault("api_model", entry.get("model"))
    entry["origin"] = origin
    try:
        return Deployment.model_validate(entry)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        name = entry.get("id", "?")
        raise ConfigError(f"{where}: deployment {name!r}: {field}: {first['msg']}") from None


@functools.cache
def bundled_deployments() -> tuple[Deployment, ...]:
    import tomllib

    text = resources.files("polyroute").joinpath("data/deployments.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return tuple(
        parse_deployment(entry, origin="bundled", where="bundled catalog") for entry in data.get("deployments", [])
    )


def load_catalog(user_deployments: Iterable[Mapping[str, Any]] = (), *, bundled: bool = True) -> Catalog:
    """The bundled catalog plus the user's deployments (which win on equal ids)."""
    user = [parse_deployment(entry, origin="user", where="config file") for entry in user_deployments]
    return Catalog([*(bundled_deployments() if bundled else ()), *user])
