"""`[http.oauth]`: accept OAuth 2.1 access tokens (JWTs) from one authorization server, beside static tokens.

Kept apart from `settings.py` because it is one concept with its own rules: which issuer to trust, which
resource this server is (RFC 8707 audience), where the signing keys are, and how the identity provider's
claims map onto Polyroute's principal, team and scopes. Every field is checked at load so a typo fails
the start, not every request.
"""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

POLYROUTE_SCOPES = ("route", "governance:read", "audit:read", "audit:write", "*")
# Asymmetric signatures only: an HS* token would be checked with a secret the server does not have, and
# "verifying" it with the public key as the HMAC secret is the classic algorithm-confusion forgery.
ASYMMETRIC_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _url(value: str, *, what: str) -> str:
    """An absolute http(s) URL; plain http only on loopback (tokens and keys must not cross a network)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an absolute https:// URL, got {value!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{what} must use https:// (plain http only on loopback), got {value!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{what} must not have a query or fragment, got {value!r}")
    return value


class OAuthSettings(BaseModel):
    """One trusted authorization server and how its tokens map onto Polyroute's principals and scopes."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(description="the `iss` tokens carry, exactly (also where metadata is discovered)")
    resource: str = Field(description="this server's public URL ending in /mcp (RFC 8707/9728)")
    jwks_url: str | None = Field(default=None, description="else from the issuer's metadata")
    audience: str | None = Field(default=None, description="the `aud` required; default: resource")
    principal_claim: str = "sub"
    team_claim: str | None = None
    scope_claims: list[str] = Field(default_factory=lambda: ["scope", "scp"], min_length=1)
    scope_map: dict[str, str] = Field(default_factory=dict[str, str])
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "PS256", "ES256", "EdDSA"], min_length=1)
    leeway_seconds: int = Field(default=60, ge=0, le=300)

    @field_validator("issuer", "jwks_url")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _url(value, what=str(info.field_name))

    @field_validator("resource")
    @classmethod
    def _resource(cls, value: str) -> str:
        _url(value, what="resource")
        if not urlsplit(value).path.endswith("/mcp"):
            raise ValueError(f"resource must be this server's public URL ending in /mcp, got {value!r}")
        return value

    @field_validator("scope_map")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted({target for target in value.values() if target not in POLYROUTE_SCOPES})
        if unknown:
            raise ValueError(f"scope_map maps to unknown scope(s) {', '.join(unknown)}; allowed: "
                             f"{', '.join(POLYROUTE_SCOPES)}")  # fmt: skip
        return value

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, value: list[str]) -> list[str]:
        refused = sorted(set(value) - set(ASYMMETRIC_ALGORITHMS))
        if refused:
            raise ValueError(f"algorithm(s) {', '.join(refused)} not allowed; use asymmetric ones: "
                             f"{', '.join(ASYMMETRIC_ALGORITHMS)}")  # fmt: skip
        return value

    @model_validator(mode="after")
    def _claims_named(self) -> OAuthSettings:
        if not self.principal_claim.strip() or (self.team_claim is not None and not self.team_claim.strip()):
            raise ValueError("principal_claim and team_claim must name a claim")
        return self

    @property
    def required_audience(self) -> str:
        return self.audience or self.resource
