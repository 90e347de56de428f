"""The JWT checks one by one, on tokens signed here with a fresh key (the HTTP-level behaviour against a
real authorization server is in tests/servers/oauth/). The key cache is replaced by its known keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from polyroute.oauthconfig import OAuthSettings
from polyroute_servers.jwks import KeyCache
from polyroute_servers.oauth import JwtVerifier, TokenRejected

pytestmark = pytest.mark.anyio
ISSUER, RESOURCE = "https://idp.example.com", "https://polyroute.example.com/mcp"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


class KnownKeys(KeyCache):
    """The cache with its keys already in hand (what a fetch would have produced)."""

    def __init__(self, keys: dict[str, dict[str, Any]]) -> None:
        super().__init__(ISSUER)
        self.known = keys

    async def key(self, kid: str | None) -> dict[str, Any] | None:
        return self.known.get(kid or "")


def public_jwks() -> dict[str, dict[str, Any]]:
    rsa_jwk: dict[str, Any] = RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True)
    ec_jwk: dict[str, Any] = ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True)
    return {"r1": {**rsa_jwk, "kid": "r1", "use": "sig"}, "e1": {**ec_jwk, "kid": "e1", "alg": "ES256"}}


def sign(claims: dict[str, Any] | None = None, *, alg: str = "RS256", kid: str = "r1", **header: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "iat": now, "exp": now + 300, "scope": "route"}
    key = RSA_KEY if alg.startswith(("RS", "PS")) else EC_KEY
    return jwt.encode(
        {**body, **(claims or {})}, key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt", **header}
    )


def verifier(**settings: Any) -> JwtVerifier:
    return JwtVerifier(OAuthSettings(issuer=ISSUER, resource=RESOURCE, **settings), KnownKeys(public_jwks()))


async def test_a_good_token_becomes_an_access_token_without_the_raw_token() -> None:
    access = await verifier(team_claim="groups").verify(sign({"groups": ["finance", "ops"]}))
    assert access.client_id == "oauth:alice" and access.subject == "alice" and access.token == ""
    assert access.scopes == ["route"] and access.resource == RESOURCE
    assert access.claims == {"iss": ISSUER, "teams": ["finance", "ops"]}


@pytest.mark.parametrize(
    "make",
    [
        lambda: sign(
            {"aud": ["https://other.example/api", RESOURCE]}
        ),  # aud as a list naming us among others
        lambda: sign(typ="JWT"),  # Entra, Keycloak
        lambda: sign(alg="ES256", kid="e1"),
        lambda: sign(alg="PS256"),
    ],
)
async def test_accepted_shapes(make: Callable[[], str]) -> None:
    assert (await verifier().verify(make())).client_id == "oauth:alice"


def broken_signature() -> str:
    return sign()[:-4] + "AAAA"


# Tokens are signed when the test runs (not at collection): times are relative to now.
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: sign({"aud": ["https://other.example/api"]}), "issued for another resource"),
        (
            lambda: sign({"iss": "https://idp.example.com/"}),
            "not issued by",
        ),  # exact: a trailing slash differs
        (lambda: sign({"exp": int(time.time()) - 61}), "expired"),
        (lambda: sign({"nbf": int(time.time()) + 120}), "not valid yet"),
        (lambda: sign({"exp": None}), "not valid"),
        (lambda: sign({"sub": ""}), "no 'sub' claim"),
        (lambda: sign(typ="id+jwt"), "not an access token"),
        (
            lambda: sign({"nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}, typ="JWT"),
            "an ID token",
        ),
        (lambda: sign(crit=["exp"]), "not one this server knows"),  # PyJWT refuses unknown crit first
        (lambda: sign(kid="r2"), "does not publish"),
        (lambda: sign(alg="ES256", kid="r1"), "cannot check a ES256 signature"),  # EC signature, RSA key
        (lambda: sign(alg="PS256", kid="e1"), "its key is for ES256"),
        (lambda: sign(alg="RS384"), "'RS384' are not accepted"),  # not on this server's allow-list
        (broken_signature, "signature does not verify"),
        (lambda: "not.a.jwt", "not one this server knows"),
    ],
)
async def test_refused_with_a_reason(make: Callable[[], str], reason: str) -> None:
    with pytest.raises(TokenRejected, match=reason):
        await verifier().verify(make())


async def test_the_sdk_protocol_answers_none_for_a_refused_token() -> None:
    assert await verifier().verify_token(sign({"aud": "https://other.example"})) is None
    assert (await verifier().verify_token(sign())) is not None


async def test_an_explicit_audience_replaces_the_resource() -> None:
    entra = verifier(audience="6f1c0d1e-client-id")
    assert (await entra.verify(sign({"aud": "6f1c0d1e-client-id"}))).client_id == "oauth:alice"
    with pytest.raises(TokenRejected, match="another resource"):
        await entra.verify(sign())
