"""INTERFACE STUB — owned by the cost work; replace the bodies, keep the names.

Token counting and quotes (min / expected / max USD), and actual cost from usage.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from polyroute.catalog import Deployment
from polyroute.types import CompletionRequest, Money, Usage


class TokenCount(BaseModel):
    tokens: int
    method: Literal["exact", "provider_api", "heuristic"]
    tokenizer: str
    error_band: float  # relative, e.g. 0.15 = ±15 %; 0 when exact


class Quote(BaseModel):
    deployment: str
    input_tokens: int
    input_method: str
    error_band: float
    expected_output_tokens: int
    max_output_tokens: int
    min_usd: Money
    expected_usd: Money
    max_usd: Money
    fits_context: bool
    context_window: int
    notes: list[str]


def count_tokens(text: str, deployment: Deployment) -> TokenCount:
    raise NotImplementedError


def quote(deployment: Deployment, tokens: TokenCount, *, max_tokens: int, expected_output_tokens: int | None = None) -> Quote:
    raise NotImplementedError


def quote_request(deployment: Deployment, request: CompletionRequest) -> Quote:
    raise NotImplementedError


def cost_of(deployment: Deployment, usage: Usage) -> Money:
    raise NotImplementedError
