"""INTERFACE STUB — owned by the router work; replace the bodies, keep the names.

filter → rank → plan with fallbacks inside the policy; health; budgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from polyroute.types import Attempt, CompletionRequest, Money, Usage

if TYPE_CHECKING:
    from polyroute.app import App

Strategy = Literal["cheapest", "fastest", "best", "balanced"]


class RouteRequest(BaseModel):
    request: CompletionRequest
    model: str | None = None
    jurisdiction: str | None = None
    data_class: str | None = None
    strategy: Strategy | None = None
    require: list[str] = Field(default_factory=list[str])
    principal: str


class Candidate(BaseModel):
    deployment: str
    provider: str
    model: str
    processing_locations: list[str]
    expected_cost_usd: Money
    max_cost_usd: Money
    score: float


class Exclusion(BaseModel):
    deployment: str
    stage: str  # pin | capability | context | residency | budget | health | capacity | failed
    reason: str


class RoutePlan(BaseModel):
    jurisdiction: str
    data_class: str
    classification_defaulted: bool
    strategy: Strategy
    input_tokens: int
    policy_version: str
    candidates: list[Candidate]
    exclusions: list[Exclusion]


class RoutedCompletion(BaseModel):
    text: str
    deployment: str
    provider: str
    model: str
    processing_locations: list[str]
    usage: Usage
    estimated_cost_usd: Money
    cost_usd: Money
    latency_ms: float
    attempts: list[Attempt]
    receipt_id: str
    inference_geo: str | None = None
    residency_mismatch: bool = False
    classification_defaulted: bool = False


class Router:
    def __init__(self, app: App) -> None:
        self.app = app

    def plan(self, request: RouteRequest) -> RoutePlan:
        raise NotImplementedError

    async def complete(self, request: RouteRequest) -> RoutedCompletion:
        raise NotImplementedError
