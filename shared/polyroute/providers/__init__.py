"""INTERFACE STUB — owned by the provider-adapter work; replace the bodies, keep the names.

`Providers` hands out one adapter per provider kind (vendor SDKs imported lazily);
`call_with_retries` is the one retry policy.
"""

from __future__ import annotations

from typing import Protocol

from polyroute.catalog import Deployment
from polyroute.settings import Settings
from polyroute.types import Attempt, Completion, CompletionRequest


class Provider(Protocol):
    async def complete(self, deployment: Deployment, request: CompletionRequest) -> Completion:
        """One attempt, no retries; raises ProviderHTTPError / ProviderTimeout."""
        ...

    async def aclose(self) -> None: ...


class Providers:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def for_deployment(self, deployment: Deployment) -> Provider:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


async def call_with_retries(
    providers: Providers, deployment: Deployment, request: CompletionRequest, *, max_retries: int = 2
) -> tuple[Completion, list[Attempt]]:
    """Raises ProviderError with `.attempts` (list[Attempt]) set when every try failed."""
    raise NotImplementedError
