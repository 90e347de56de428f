"""The small value types a catalog entry is made of: where a fact comes from, a price, a price-library
reference and capacity limits. Kept apart from `catalog` (the Deployment and the Catalog) so each module
stays one concept; `catalog` re-exports them.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from polyroute.types import Money


class Source(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    fact: str
    url: str
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")


class Price(BaseModel):
    """USD per million tokens; an explicit price overrides the price library. Numbers in JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    input_per_mtok: Money = Field(ge=0)
    output_per_mtok: Money = Field(ge=0)
    cache_read_per_mtok: Money | None = Field(default=None, ge=0)
    cache_write_per_mtok: Money | None = Field(default=None, ge=0)
    batch_discount: Money = Field(default=Decimal("0"), ge=0, le=1)


class PriceRef(BaseModel):
    """Where the price library (genai-prices) finds this deployment, and the regional uplift."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    model_ref: str
    provider_id: str
    uplift: Money = Field(default=Decimal("1"), ge=1, description="e.g. 1.1 for regional endpoints")


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
