"""INTERFACE STUB — owned by the residency work; replace the bodies, keep the names.

Policy engine: (jurisdiction, data class, deployment) → Verdict, failing closed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from polyroute.catalog import Deployment
from polyroute.settings import Settings

DataClass = Literal[
    "public", "internal", "confidential", "personal", "sensitive_personal",
    "financial_regulated", "health", "government_restricted", "government_secret",
]  # fmt: skip
DATA_CLASSES: tuple[str, ...] = (
    "public", "internal", "confidential", "personal", "sensitive_personal",
    "financial_regulated", "health", "government_restricted", "government_secret",
)  # fmt: skip


class Verdict(BaseModel):
    allowed: bool
    rule: str | None = Field(description="the rule that decided, e.g. 'SA/government_secret'; None if none applied")
    reasons: list[str]
    processing_locations: list[str]
    storage_locations: list[str] = Field(default_factory=list[str])
    deployment: str
    jurisdiction: str
    data_class: str
    citations: list[str] = Field(default_factory=list[str])


class Policy:
    """A loaded rule set; `version` is a hash of its canonical form (receipts cite it)."""

    version: str

    def check(self, jurisdiction: str, data_class: str, deployment: Deployment | None, *, deployment_id: str) -> Verdict:
        raise NotImplementedError


def load_policy(settings: Settings) -> Policy:
    raise NotImplementedError
