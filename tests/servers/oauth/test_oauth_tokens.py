"""Tokens the resource server must refuse, each minted by a real authorization server (or forged from a
real one): wrong audience, another resource, expired, from the future, an unknown signing key, `none`
and HMAC algorithms; and the key cache: rotation picked up, unknown key ids rate limited."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

import httpx2
import pytest
from authserver import AuthServer, claims, header
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import RSAAlgorithm
from oauth_serving import make_app, serving

from polyroute.oauthconfig import OAuthSettings
from polyroute_servers.jwks import KeyCache, KeysUnavailable

pytestmark = [pytest.mark.slow]
anyio = pytest.mark.anyio
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def list_tools(base: str, token: str) -> httpx2.Response:
    headers = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {token}"}
    with httpx2.Client(trust_env=False, timeout=10) as http:
        return http.post(f"{base}/mcp", json=LIST, headers=headers)


def refusal(response: httpx2.Response) -> str:
    """The error description of a 401 invalid_token answer (asserting that is what it is)."""
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    return str(response.json()["error_description"])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_tokens_for_another_audience_or_resource_are_refused(
    served: str, authserver: AuthServer, oauth_settings: OAuthSettings
) -> None:
    ours = oauth_settings.resource
    assert list_tools(served, authserver.token(ours)).status_code == 200
    for other in (f"{ours}/", served, "https://other.example/mcp"):  # look-alikes are not us either
        token = authserver.token(other)
        assert claims(token)["aud"] == other
        assert "issued for another resource" in refusal(list_tools(served, token))


def test_expired_and_future_tokens_are_refused_beyond_a_minutes_leeway(
    served: str, authserver: AuthServer, oauth_settings: OAuthSettings
) -> None:
    lifetime = 300  # what the authorization server gives its tokens
    try:
        authserver.skew_clock(-(lifetime + 30))  # expired 30 s ago: inside the 60 s leeway
        assert list_tools(served, authserver.token(oauth_settings.resource)).status_code == 200
        authserver.skew_clock(-(lifetime + 120))
        assert (
            refusal(list_tools(served, authserver.token(oauth_settings.resource))) == "the token has expired"
        )
        authserver.skew_clock(3600)  # issued an hour from now
        assert "not valid yet" in refusal(list_tools(served, authserver.token(oauth_settings.resource)))
    finally:
        authserver.skew_clock(0)


def test_unknown_signing_keys_are_refused_and_refetch_the_keys_at_most_once_per_cooldown(
    served: str, authserver: AuthServer, oauth_settings: OAuthSettings
) -> None:
    for _ in range(3):  # keys fetched once, then cached: never per request
        assert list_tools(served, authserver.token(oauth_settings.resource)).status_code == 200
    before = authserver.jwks_hits()
    impostor = authserver.token(oauth_settings.resource, at=authserver.rogue)  # same iss, unpublished key
    assert claims(impostor)["iss"] == authserver.issuer
    assert "key the issuer does not publish" in refusal(list_tools(served, impostor))
    assert authserver.jwks_hits() == before + 1  # an unknown kid may mean rotation: look once
    for _ in range(3):
        again = authserver.token(oauth_settings.resource, at=authserver.rogue)
        assert "does not publish" in refusal(list_tools(served, again))
    assert authserver.jwks_hits() == before + 1  # ...but not again within the cooldown


def test_a_key_rotation_is_picked_up_and_old_tokens_verify_while_their_key_is_published(
    authserver: AuthServer, oauth_settings: OAuthSettings, port: int, provider_env: object
) -> None:
    keys = KeyCache(oauth_settings.issuer)
    with serving(make_app(), oauth_settings, port=port, keys=keys) as base:
        old = authserver.token(oauth_settings.resource)
        assert list_tools(base, old).status_code == 200
        new_kid = authserver.rotate()
        new = authserver.token(oauth_settings.resource)
        assert header(new)["kid"] == new_kid and header(new)["typ"] == "at+jwt"
        assert list_tools(base, new).status_code == 200
        assert list_tools(base, old).status_code == 200
    assert keys.fetches == 2  # the first use, and once for the new key id


def test_none_and_hmac_algorithms_are_refused_even_with_the_public_key_as_secret(
    served: str, authserver: AuthServer, oauth_settings: OAuthSettings
) -> None:
    genuine = authserver.token(oauth_settings.resource, "route governance:read audit:read audit:write")
    minted = header(genuine)
    payload = genuine.split(".")[1]
    unsigned = f"{b64(json.dumps({**minted, 'alg': 'none'}).encode())}.{payload}."
    assert "'none' are not accepted" in refusal(list_tools(served, unsigned))
    with httpx2.Client(trust_env=False) as http:
        jwk = next(
            k for k in http.get(f"{authserver.issuer}/jwks").json()["keys"] if k["kid"] == minted["kid"]
        )
    public = RSAAlgorithm.from_jwk(jwk).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[union-attr]
    for secret in (public, json.dumps(jwk).encode()):  # the classic algorithm-confusion forgery
        signing_input = f"{b64(json.dumps({**minted, 'alg': 'HS256'}).encode())}.{payload}"
        forged = f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
        assert "'HS256' are not accepted" in refusal(list_tools(served, forged))
    assert list_tools(served, genuine).status_code == 200  # the same claims, properly signed, pass


def test_refused_tokens_never_reach_logs_or_answers(
    served: str, authserver: AuthServer, oauth_settings: OAuthSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="polyroute")
    canary = authserver.token("https://other.example/mcp")
    answer = list_tools(served, canary)
    forged = canary[:-8] + "AAAAAAAA"  # a broken signature on a token for us
    assert answer.status_code == 401 and refusal(list_tools(served, forged))
    assert "another resource" in caplog.text  # the reason is logged...
    for text in (caplog.text, answer.text, str(answer.headers)):
        assert canary.split(".")[2] not in text and forged.split(".")[2] not in text  # ...never the token


def test_issuer_must_match_exactly_and_unreachable_keys_are_a_503_not_a_401(
    authserver: AuthServer, port: int, provider_env: object
) -> None:
    resource = f"http://127.0.0.1:{port}/mcp"
    token = authserver.token(resource)
    other_issuer = OAuthSettings(issuer=f"{authserver.issuer}/tenant", resource=resource,
                                 jwks_url=f"{authserver.issuer}/jwks")  # fmt: skip
    with serving(make_app(), other_issuer, port=port) as base:
        assert "not issued by" in refusal(list_tools(base, token))
    nowhere = OAuthSettings(issuer=authserver.issuer, resource=resource, jwks_url="http://127.0.0.1:9/jwks")
    with serving(make_app(), nowhere, port=port) as base:
        down = list_tools(base, token)
    assert down.status_code == 503 and down.headers["retry-after"] == "30"
    assert "cannot fetch the signing keys" in down.json()["error_description"]


@anyio
async def test_the_key_cache_recovers_once_the_issuer_answers_again(authserver: AuthServer) -> None:
    now = [0.0]
    keys = KeyCache(authserver.issuer, "http://127.0.0.1:9/jwks", cooldown=30, clock=lambda: now[0])
    with pytest.raises(KeysUnavailable, match="cannot fetch the signing keys"):
        await keys.key("any")
    keys.jwks_url = None  # from now on found through the issuer's metadata, which the server answers
    now[0] = 10.0
    with pytest.raises(KeysUnavailable):  # not retried before the cooldown: no hammering a sick server
        await keys.key("any")
    now[0] = 31.0
    kid = header(authserver.token("https://x.example/mcp"))["kid"]
    found = await keys.key(kid)
    assert found is not None and found["kid"] == kid and "d" not in found and keys.fetches == 1
    assert keys.jwks_url == f"{authserver.issuer}/jwks"
