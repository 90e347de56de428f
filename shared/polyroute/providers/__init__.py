"""Provider adapters on the vendors' own SDKs, behind one `Provider` protocol.

`Providers(settings).for_deployment(d)` hands out the adapter for a deployment, building one per
endpoint (kind, base URL, key) on first use and reusing it, so connections are pooled. Vendor SDKs
are imported only then: importing `polyroute.providers` loads none of them. `call_with_retries` is
the one retry policy.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable

from polyroute import secrets
from polyroute.catalog import Deployment
from polyroute.providers.base import Provider, ProviderOptions
from polyroute.providers.retry import call_with_retries, pause_before_retry
from polyroute.settings import Settings

EndpointKey = tuple[str, ...]


class Providers:
    """The adapters of one App: one per endpoint, built lazily, closed together."""

    def __init__(self, settings: Settings, *, options: ProviderOptions | None = None) -> None:
        self.settings = settings
        self.options = options or ProviderOptions.from_env(os.environ)
        self._by_deployment: dict[str, Provider] = {}
        self._by_endpoint: dict[EndpointKey, Provider] = {}
        self._loop: object | None = None
        self._stale: list[Provider] = []

    def for_deployment(self, deployment: Deployment) -> Provider:
        """The adapter for `deployment`; raises ConfigError when its key or endpoint is missing."""
        loop = _running_loop()
        if loop is not self._loop:  # SDK clients pool connections bound to the loop that opened them
            # Kept, not closed or dropped: closing needs their (finished) loop, and dropping them lets
            # the SDK's __del__ schedule a close on the new loop that fails noisily.
            self._stale += self._by_endpoint.values()
            self._by_deployment, self._by_endpoint, self._loop = {}, {}, loop
        provider = self._by_deployment.get(deployment.id)
        if provider is None:
            endpoint, build = self._plan(deployment)
            provider = self._by_endpoint.get(endpoint)
            if provider is None:
                provider = self._by_endpoint[endpoint] = build()
            self._by_deployment[deployment.id] = provider
        return provider

    def _plan(self, deployment: Deployment) -> tuple[EndpointKey, Callable[[], Provider]]:
        """The endpoint's identity (the key only as a fingerprint) and how to build its adapter."""
        kind, options = deployment.provider, self.options
        if kind == "bedrock":
            from polyroute.providers.bedrock import BedrockProvider, endpoint_url

            region, url = deployment.aws_region, endpoint_url(deployment)
            return (kind, region or "", url or ""), lambda: BedrockProvider(
                region=region, url=url, options=options
            )
        key = secrets.api_key(deployment, self.settings)
        fingerprint = hashlib.sha256((key or "").encode()).hexdigest()[:16]
        if kind == "anthropic":
            from polyroute.providers.anthropic import AnthropicProvider

            url = deployment.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
            anthropic_key = key or ""  # never empty: secrets.api_key raises for a missing Anthropic key
            return (kind, url or "", fingerprint), lambda: AnthropicProvider(
                api_key=anthropic_key, base_url=url, options=options
            )
        from polyroute.providers.openai import OpenAIProvider, base_url

        url, version = base_url(deployment), deployment.api_version
        return (kind, url or "", version or "", fingerprint), lambda: OpenAIProvider(
            kind=kind, api_key=key, url=url, api_version=version, options=options
        )

    async def aclose(self) -> None:
        """Close every adapter built so far (their HTTP pools)."""
        providers, self._by_endpoint, self._by_deployment = list(self._by_endpoint.values()), {}, {}
        for provider in providers:
            await provider.aclose()


def _running_loop() -> object | None:
    """The running asyncio loop, if any: a CLI may run several `anyio.run`s over one App."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


__all__ = ["Provider", "ProviderOptions", "Providers", "call_with_retries", "pause_before_retry"]
