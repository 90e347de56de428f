"""Bearer tokens for the HTTP transport: who is calling (the principal) and what it may do (scopes).

Tokens come from `POLYROUTE_HTTP_TOKENS` (`principal=token[:scope,scope]`, entries separated by `;`)
and from the config's `[[http.tokens]]` tables (principal, sha256 of the token, scopes). Only SHA-256
digests are kept in memory; a presented token is hashed and compared with every grant in constant
time, so neither the token nor the timing of a mismatch tells an attacker anything.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from polyroute.errors import ConfigError
from polyroute.settings import Settings

ROUTE, GOVERNANCE_READ, AUDIT_READ, AUDIT_WRITE, ALL = (
    "route",
    "governance:read",
    "audit:read",
    "audit:write",
    "*",
)
SCOPES: tuple[str, ...] = (ROUTE, GOVERNANCE_READ, AUDIT_READ, AUDIT_WRITE, ALL)
ENV_VAR = "POLYROUTE_HTTP_TOKENS"


@dataclass(frozen=True)
class Grant:
    """One token's rights: the principal it acts as and its scopes (the token itself only as a digest)."""

    principal: str
    sha256: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return ALL in self.scopes or scope in self.scopes

    @property
    def caller(self) -> str:
        """The principal as audit events and budgets name it: `http:<principal>`, never mistakable for a
        local user (`local:<user>`)."""
        return self.principal if self.principal.startswith("http:") else f"http:{self.principal}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _scopes(raw: Iterable[str], *, where: str) -> frozenset[str]:
    scopes = frozenset(scope.strip() for scope in raw if scope.strip())
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        raise ConfigError(f"{where}: unknown scope(s) {', '.join(unknown)}; allowed: {', '.join(SCOPES)}")
    if not scopes:  # an empty list granting everything would fail open
        raise ConfigError(f"{where}: no scopes listed; name them ({', '.join(SCOPES)}), '*' for all")
    return scopes


def parse_env_tokens(text: str) -> list[Grant]:
    """`principal=token[:scope,scope];...` → grants. Errors name the entry by position, never the token."""
    grants: list[Grant] = []
    for number, entry in enumerate((part.strip() for part in text.split(";")), 1):
        if not entry:
            continue
        where = f"{ENV_VAR} entry {number}"
        principal, equals, rest = entry.partition("=")
        token, colon, scopes = rest.partition(":")
        if not equals or not principal.strip() or not token.strip():
            raise ConfigError(f"{where}: want principal=token[:scope,scope]")
        granted = _scopes(scopes.split(","), where=where) if colon else frozenset({ALL})
        grants.append(Grant(principal.strip(), digest(token.strip()), granted))
    return grants


def load_grants(settings: Settings, env: Mapping[str, str]) -> list[Grant]:
    """Every configured token: config `[[http.tokens]]` first, then the environment variable."""
    grants: list[Grant] = []
    for index, token in enumerate(settings.http.tokens):
        where = f"http.tokens[{index}]"
        if not token.principal.strip():
            raise ConfigError(f"{where}: principal is empty; name who uses this token")
        grants.append(
            Grant(token.principal.strip(), token.sha256.lower(), _scopes(token.scopes, where=where))
        )
    grants += parse_env_tokens(env.get(ENV_VAR, ""))
    if len({grant.sha256 for grant in grants}) < len(grants):
        raise ConfigError("two HTTP tokens are the same; give every principal its own token")
    return grants


def find_grant(grants: Iterable[Grant], token: str) -> Grant | None:
    """The grant whose digest matches, comparing against every grant so timing reveals nothing."""
    presented = digest(token)
    found: Grant | None = None
    for grant in grants:
        if hmac.compare_digest(grant.sha256, presented):
            found = grant
    return found
