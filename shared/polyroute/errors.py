"""Polyroute's one exception tree.

    PolyrouteError
     ├── ConfigError          a config or policy file is malformed, a setting is missing
     ├── UnknownDeployment    a catalog id that does not exist
     ├── PolicyDenied         residency policy refuses the request (carries the Verdict)
     ├── NoRoute              no compliant candidate left (carries every exclusion)
     ├── BudgetExceeded       a budget would be overspent
     ├── QuotaExceeded        a requests-per-minute quota is used up (says when to retry)
     └── ProviderError        a provider call failed
          ├── ProviderHTTPError   the provider answered with an error status
          └── ProviderTimeout     no answer in time, or the connection broke

Messages are written for a person: what was wrong and what is allowed. They never hold a secret.
"""

from __future__ import annotations

from typing import Any


class PolyrouteError(Exception):
    """Base of every error Polyroute raises on purpose."""


class ConfigError(PolyrouteError):
    """A configuration, policy or catalog file is wrong, or a required setting is missing."""


class UnknownDeployment(PolyrouteError):
    """A deployment id that is not in the catalog."""

    def __init__(self, deployment: str, *, known: list[str] | None = None) -> None:
        hint = ""
        if known:
            close = [k for k in known if deployment.split("-")[0] in k][:5]
            hint = f" (e.g. {', '.join(close or known[:5])}; `polyroute catalog list` shows all)"
        super().__init__(f"unknown deployment {deployment!r}{hint}")
        self.deployment = deployment


class PolicyDenied(PolyrouteError):
    """The residency policy refuses to send this request to this deployment."""

    def __init__(self, message: str, *, verdict: Any = None) -> None:
        super().__init__(message)
        self.verdict = verdict


class NoRoute(PolyrouteError):
    """No deployment is left that may take the request; `exclusions` says why for each."""

    def __init__(self, message: str, *, exclusions: list[Any] | None = None) -> None:
        super().__init__(message)
        self.exclusions = exclusions or []


class BudgetExceeded(PolyrouteError):
    """The call's maximum cost would take a budget over its limit."""


class QuotaExceeded(PolyrouteError):
    """A principal's or team's requests-per-minute quota is used up: no call was made.

    `scope` is the quota's (`principal:…` or `team:…`), `retry_after_s` whole seconds to wait (at least 1)
    and `retry_at` the Unix time from which a call is admitted again (unless others take the slot first).
    """

    def __init__(self, message: str, *, scope: str, limit: int, retry_after_s: int, retry_at: float) -> None:
        super().__init__(message)
        self.scope = scope
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.retry_at = retry_at


class ProviderError(PolyrouteError):
    """A provider call failed. `retryable` says whether trying again may help."""

    def __init__(
        self,
        message: str,
        *,
        deployment: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.deployment = deployment
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.code = code
        self.attempts: list[Any] = []  # list[Attempt], set by the retry policy when it gives up


class ProviderHTTPError(ProviderError):
    """The provider answered with an error status (`status`, and its error `code` when it gave one)."""


class ProviderTimeout(ProviderError):
    """The provider did not answer in time, or the connection was reset."""


__all__ = [
    "BudgetExceeded",
    "ConfigError",
    "NoRoute",
    "PolicyDenied",
    "PolyrouteError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderTimeout",
    "QuotaExceeded",
    "UnknownDeployment",
]
