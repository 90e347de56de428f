"""A scenario: one policy, catalog and price sheet to replay past calls against, and its digests.

Today's configuration is one scenario (the baseline); a proposal — a policy file, a catalog file, a
price file — is another. Each decides a call from its recorded facts alone (`planning.choose`, no
health, capacity or budget: those belonged to the moment of the call), caching the static screen per
(classification, capabilities, pin), so a replay costs a price lookup and a ranking per call.

A catalog file holds `[[deployments]]` tables as in the config (if any, they replace the config's), and may
drop deployments with `exclude_deployments = [ids]` or `exclude_providers = [kinds]`, and the bundled
catalog with `bundled = false`. A price file holds `[prices."<deployment id or model name>"]` tables
with `input_per_mtok` and `output_per_mtok` (USD per million tokens; an id wins over a model name).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from polyroute.app import App
from polyroute.catalog import Catalog, Deployment, Price, load_catalog
from polyroute.cost import default_expected_output
from polyroute.errors import ConfigError, UnknownDeployment
from polyroute.fingerprint import catalog_digest, prices_digest
from polyroute.planning import PlanFacts, choose, pool
from polyroute.pricebook import PriceBook
from polyroute.residency import Policy
from polyroute.screen import Screen, Screener
from polyroute.settings import Settings, read_toml

_CATALOG_KEYS = {"deployments", "bundled", "exclude_deployments", "exclude_providers", "description"}


class Decision(NamedTuple):
    """Where a scenario sends a call (`deployment`), or why it refuses it (`rule`, `reason`)."""

    deployment: str | None
    rule: str | None = None
    reason: str | None = None


class Scenario:
    """A policy, a catalog (prices applied) and the caches that make deciding a past call cheap."""

    def __init__(self, settings: Settings, policy: Policy, catalog: Catalog) -> None:
        self.policy = policy
        self.catalog = catalog
        self.deployments = list(catalog)
        view = App(settings, principal="simulation")
        view.policy = policy
        view.catalog = catalog
        self.screener = Screener(view)
        self.prices = PriceBook()
        self._screens: dict[tuple[str | None, str, str, tuple[str, ...]], Screen | Decision] = {}
        self._refused: dict[int, tuple[Screen, Decision]] = {}
        self.catalog_digest = catalog_digest(catalog)
        self.prices_digest = prices_digest(catalog)

    def screen(self, facts: PlanFacts) -> Screen | Decision:
        """The static screen of the call's classification (a Decision when its pin no longer exists)."""
        key = (facts.pinned, facts.jurisdiction, facts.data_class, facts.required)
        found = self._screens.get(key)
        if found is None and facts.pinned is None:
            found = self._screens[key] = self.screener.screen(
                self.deployments, whole_catalog=True, jurisdiction=facts.jurisdiction,
                data_class=facts.data_class, required=facts.required,
            )  # fmt: skip
        elif found is None:
            try:
                deployments = pool(self.catalog, facts.pinned)
            except UnknownDeployment:
                found = Decision(None, None, f"pinned {facts.pinned} is not in the catalog")
            else:
                found = self.screener.screen(
                    deployments, whole_catalog=False, jurisdiction=facts.jurisdiction,
                    data_class=facts.data_class, required=facts.required,
                )  # fmt: skip
            self._screens[key] = found
        return found

    def decide(self, facts: PlanFacts) -> Decision:
        screen = self.screen(facts)
        if isinstance(screen, Decision):
            return screen
        if not screen.passed:  # refused whatever the call's size: the reason is worked out once
            found = self._refused.get(id(screen))
            if found is None or found[0] is not screen:
                found = self._refused[id(screen)] = (screen, self._refusal(facts, screen))
            return found[1]
        winner = self.prices.lineup(screen).winner(facts, default_expected_output(facts.max_tokens))
        return Decision(winner) if winner is not None else self._refusal(facts, screen)

    def _refusal(self, facts: PlanFacts, screen: Screen) -> Decision:
        """Why no deployment is left: the exclusions counted by stage, and the residency rule if any."""
        choice = choose(facts, screen, self.prices, None, 1)
        stages: dict[str, int] = {}
        for exclusion in choice.exclusions:
            stages[exclusion.stage] = stages.get(exclusion.stage, 0) + 1
        rule = next((e.rule for e in choice.exclusions if e.stage == "residency" and e.rule), None)
        excluded = ", ".join(f"{stage} {n}" for stage, n in sorted(stages.items())) or "empty catalog"
        return Decision(None, rule, f"no deployment left (excluded by {excluded})")

    def deployment(self, deployment_id: str) -> Deployment | None:
        return self.catalog.find(deployment_id)


def same_screen(one: Screen | Decision, other: Screen | Decision) -> bool:
    """True when two scenarios screen a classification to the same deployments (prices included, as
    deployment facts), so they decide every call of it alike."""
    if isinstance(one, Decision) or isinstance(other, Decision):
        return one == other
    ours = [(p.deployment, p.counting_key) for p in one.passed]
    return ours == [(p.deployment, p.counting_key) for p in other.passed]


def proposed_policy(settings: Settings, path: Path | None) -> Policy | None:
    """The policy `path` makes, read as the config's own policy file would be (same mode)."""
    from polyroute.policydiff import policy_file

    return None if path is None else policy_file(settings, path)


def proposed_catalog(settings: Settings, path: Path | None, base: Catalog) -> Catalog:
    """The catalog a catalog file describes (see the module docstring); `base` when there is none."""
    if path is None:
        return base
    where = f"catalog file {path}"
    data = read_toml(path, what="catalog file")
    unknown = sorted(set(data) - _CATALOG_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_CATALOG_KEYS))}"
        )
    bundled = data.get("bundled", True)
    entries = data.get("deployments", settings.deployments)  # none given: keep the config's own
    if not isinstance(bundled, bool) or not isinstance(entries, list):
        raise ConfigError(f"{where}: `bundled` must be true or false and `deployments` a list of tables")
    catalog = load_catalog(entries, bundled=bundled, where=where)  # pyright: ignore[reportUnknownArgumentType]
    ids = set(_names(data, "exclude_deployments", where))
    kinds = set(_names(data, "exclude_providers", where))
    missing = sorted(ids - set(catalog.ids()))
    if missing:
        raise ConfigError(f"{where}: exclude_deployments names unknown deployment(s): {', '.join(missing)}")
    return Catalog(d for d in catalog if d.id not in ids and d.provider not in kinds)


def _names(data: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):  # pyright: ignore[reportUnknownVariableType]
        raise ConfigError(f"{where}: `{key}` must be a list of strings")
    return list(value)  # pyright: ignore[reportUnknownArgumentType]


def with_prices(catalog: Catalog, path: Path | None) -> Catalog:
    """`catalog` with the explicit prices a price file sets (by deployment id, else by model name)."""
    if path is None:
        return catalog
    where = f"price file {path}"
    tables = read_toml(path, what="price file")
    unknown_top = sorted(set(tables) - {"prices", "description"})
    raw = tables.get("prices")
    if unknown_top or not isinstance(raw, dict) or not raw:
        raise ConfigError(f'{where}: expected [prices."<deployment id or model name>"] tables only')
    prices: dict[str, Price] = {}
    for name, value in raw.items():  # pyright: ignore[reportUnknownVariableType]
        try:
            prices[str(name)] = Price.model_validate(value)  # pyright: ignore[reportUnknownArgumentType]
        except ValidationError as error:
            problem = error.errors()[0]
            field = ".".join(str(p) for p in problem["loc"])
            raise ConfigError(f"{where}: prices.{name}: {field}: {problem['msg']}") from None
    known = {d.id for d in catalog} | {d.model for d in catalog}
    stray = sorted(set(prices) - known)
    if stray:
        raise ConfigError(f"{where}: no deployment or model named {', '.join(stray)} in the catalog")
    return Catalog(_priced(d, prices) for d in catalog)


def _priced(deployment: Deployment, prices: Mapping[str, Price]) -> Deployment:
    price = prices.get(deployment.id) or prices.get(deployment.model)
    return deployment if price is None else deployment.model_copy(update={"price": price})
