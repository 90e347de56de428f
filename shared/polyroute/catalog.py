"""The deployment catalog: every way to reach a model, with where it may process and store data.

Bundled deployments come from `data/deployments.toml` (each fact with its source and date); users add
their own as `[[deployments]]` tables in the config file (docs/configuration.md). Ids are never parsed.
The bundled file states each model's facts once (`[models.<name>]`) and each source once
(`[sources.<key>]`); a deployment names its model and source keys and adds only what is its own
(endpoint, locations, price reference). A user entry of a bundled model inherits its facts. Every
problem is a ConfigError naming the deployment and the field.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from polyroute import locations
from polyroute.catalogparts import Limits, Price, PriceRef, Source
from polyroute.errors import ConfigError, UnknownDeployment
from polyroute.modelfacts import inherit_model_facts, resolve_sources
from polyroute.secrets import url_credentials

ProviderKind = Literal["anthropic", "openai", "bedrock", "azure_openai", "openai_compatible"]
Capability = Literal["vision", "json", "reasoning", "arabic", "long_context", "tools"]
CAPABILITIES: tuple[str, ...] = ("vision", "json", "reasoning", "arabic", "long_context", "tools")
INFERENCE_GEOS = ("global", "us")  # Anthropic API `inference_geo`
DATA_RESIDENCY_REGIONS = ("global", "us", "eu", "ae", "au", "in", "jp")  # openai SDK `data_residency=`


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
    base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+")
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    processing_locations: tuple[str, ...] = Field(description="ISO countries, or ('ANY',)")
    storage_locations: tuple[str, ...]
    retention_days: int | None = Field(
        default=None, ge=0, description="0 = zero data retention; None = unknown"
    )
    trains_on_inputs: bool | None = None
    capabilities: frozenset[Capability] = frozenset()
    context_window: int = Field(ge=1)
    max_output_tokens: int = Field(ge=1)
    max_input_tokens: int | None = Field(default=None, ge=1)  # a cap below the window (GPT-6.x: 922K)
    # Bedrock call path: Converse, or InvokeModel with the Anthropic Messages body. None = Converse, the
    # one AWS documents for every Bedrock chat model; bundled Claude entries name theirs, with sources.
    bedrock_api: Literal["converse", "invoke"] | None = None
    # False for models that refuse sampling parameters (Claude 5.x: a non-default `temperature` is a 400):
    # a request that sets one is not routed there, and the default is never sent (catalog sources).
    accepts_temperature: bool = True
    billing: Literal["per_token", "provisioned"] = "per_token"  # provisioned: per unit-hour (Azure PTU)
    price_ref: PriceRef | None = None
    price: Price | None = None
    quality: int = Field(default=5, ge=1, le=10)
    quality_by_task: dict[str, int] = Field(default_factory=dict[str, int])
    latency_prior_ms: float = Field(default=1500, gt=0)
    limits: Limits = Field(default_factory=Limits)
    sources: tuple[Source, ...] = ()
    origin: Literal["bundled", "user"] = "bundled"
    notes: str | None = None

    def offers(self, need: str) -> bool:
        """Whether this deployment meets one routing requirement: a capability, or `temperature` (the
        request sets a sampling temperature, which some models refuse)."""
        return self.accepts_temperature if need == "temperature" else need in self.capabilities

    def temperature_for(self, temperature: float | None) -> float | None:
        """The temperature to send: none to a model that takes no sampling parameters (routing keeps a
        request with a non-default one away from it, so only the default is dropped here)."""
        return temperature if self.accepts_temperature else None

    @field_validator("bedrock_api", mode="before")
    @classmethod
    def _messages_is_invoke(cls, value: object) -> object:
        """`messages` (the name 2026-12-04's first catalog used) is the Messages API on bedrock-runtime,
        which AWS serves through InvokeModel."""
        return "invoke" if value == "messages" else value

    @field_validator("base_url")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        """A key in the URL would be served back by `catalog list` and `polyroute://catalog`."""
        problem = None if value is None else url_credentials(value)
        if problem:
            raise ValueError(
                f"must not carry credentials, but has {problem}: keys belong in the environment variable "
                "named by api_key_env or in the OS keyring (`polyroute keys set <deployment id>`)"
            )
        return value

    @field_validator("processing_locations", "storage_locations")
    @classmethod
    def _countries_or_any(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must name at least one location (ISO country, region, group or ANY)")
        resolved, unknown = locations.expand(value)
        if unknown:
            raise ValueError(
                f"unknown location(s) {', '.join(unknown)} (use ISO countries such as SA, cloud regions such"
                " as aws:me-central-1, Bedrock profiles such as bedrock:eu, groups such as GCC, or ANY)"
            )
        return (locations.ANY,) if locations.ANY in resolved else tuple(sorted(resolved))

    @property
    def anywhere(self) -> bool:
        return locations.ANY in self.processing_locations or locations.ANY in self.storage_locations

    @property
    def input_limit(self) -> int:
        """The most input tokens a request may carry: the model's input cap, else the whole window."""
        return self.max_input_tokens or self.context_window

    def fits(self, input_tokens: int, max_tokens: int) -> bool:
        """Input under the input cap, input + output within the window, output under its cap."""
        within = input_tokens <= self.input_limit and max_tokens <= self.max_output_tokens
        return within and input_tokens + max_tokens <= self.context_window

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
            ids = self.ids()
            close = difflib.get_close_matches(deployment_id, ids, n=5, cutoff=0.6)  # typos first
            known = [*close, *(i for i in ids if i not in close)]
            raise UnknownDeployment(deployment_id, known=known) from None

    def find(self, deployment_id: str) -> Deployment | None:
        return self._by_id.get(deployment_id)

    def of_model(self, model: str) -> list[Deployment]:
        """Deployments of a model name (canonical or wire id)."""
        return [d for d in self if model in (d.model, d.api_model)]


def parse_deployment(raw: Mapping[str, Any], *, origin: Literal["bundled", "user"], where: str) -> Deployment:
    """One `[[deployments]]` table → Deployment. `location = "SA"` is shorthand for both location lists."""
    entry = dict(raw)
    shorthand = "location" in entry
    if shorthand:
        location = entry.pop("location")
        where_list = [location] if isinstance(location, str) else location
        entry.setdefault("processing_locations", where_list)
        entry.setdefault("storage_locations", where_list)
    entry.setdefault("api_model", entry.get("model"))
    entry["origin"] = origin
    try:
        deployment = Deployment.model_validate(entry)
    except ValidationError as error:
        raise ConfigError(
            f"{where}: deployment {entry.get('id', '?')!r}: {_problem(error, shorthand)}"
        ) from None
    problem = _endpoint_problem(deployment)
    if problem:
        raise ConfigError(f"{where}: deployment {deployment.id!r}: {problem}")
    return deployment


def _endpoint_problem(deployment: Deployment) -> str | None:
    """Each provider needs its own way to be reached: a half-declared config entry fails at load."""
    if deployment.provider == "openai_compatible" and not deployment.base_url:
        return "base_url: required for provider openai_compatible"
    if deployment.provider == "bedrock" and not deployment.aws_region:
        return "aws_region: required for provider bedrock"
    if deployment.inference_geo not in (None, *INFERENCE_GEOS):
        return f"inference_geo: must be one of {', '.join(INFERENCE_GEOS)}"
    if deployment.data_residency not in (None, *DATA_RESIDENCY_REGIONS):
        return f"data_residency: must be one of {', '.join(DATA_RESIDENCY_REGIONS)}"
    if deployment.max_output_tokens > deployment.context_window:
        return "max_output_tokens: larger than context_window"
    return None


def _problem(error: ValidationError, shorthand: bool) -> str:
    """The first problem as `field: message`, naming `location` when the user wrote the shorthand."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"][:1])
    message = str(first["msg"]).removeprefix("Value error, ")
    if shorthand and field in ("processing_locations", "storage_locations"):
        field = "location"
    if first["type"] == "missing":
        message = "required field is missing"
    if first["type"] == "extra_forbidden":
        from polyroute.settings import unknown_key

        return unknown_key(field, [*(k for k in Deployment.model_fields if k != "origin"), "location"])
    return f"{field}: {message}" if field else message


def _unique(deployments: Iterable[Deployment], where: str) -> tuple[Deployment, ...]:
    seen: set[str] = set()
    for deployment in deployments:
        if deployment.id in seen:
            raise ConfigError(f"{where}: deployment {deployment.id!r}: id: declared more than once")
        seen.add(deployment.id)
    return tuple(deployments)


@functools.cache
def _bundled_data() -> dict[str, Any]:
    import tomllib

    text = resources.files("polyroute").joinpath("data/deployments.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def bundled_models() -> Mapping[str, Mapping[str, Any]]:
    """The bundled `[models.<name>]` facts, with their source keys already resolved."""
    data = _bundled_data()
    sources: Mapping[str, Any] = data.get("sources", {})
    models: dict[str, Any] = data.get("models", {})
    return {name: resolve_sources(dict(facts), sources, "bundled catalog") for name, facts in models.items()}


@functools.cache
def bundled_deployments() -> tuple[Deployment, ...]:
    data = _bundled_data()
    sources: Mapping[str, Any] = data.get("sources", {})
    models = bundled_models()
    where = "bundled catalog"
    parsed = [
        parse_deployment(
            inherit_model_facts(resolve_sources(dict(raw), sources, where), models),
            origin="bundled",
            where=where,
        )
        for raw in data.get("deployments", [])
    ]
    return _unique(parsed, where)


def load_catalog(
    user_deployments: Iterable[Mapping[str, Any]] = (), *, bundled: bool = True, where: str = "config file"
) -> Catalog:
    """The bundled catalog plus the user's deployments (which win on equal ids); errors start `where`."""
    models = bundled_models()
    user = _unique(
        [
            parse_deployment(inherit_model_facts(entry, models), origin="user", where=where)
            for entry in user_deployments
        ],
        where,
    )
    return Catalog([*(bundled_deployments() if bundled else ()), *user])
