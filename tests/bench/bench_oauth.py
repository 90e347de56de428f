"""Benchmark what OAuth adds per HTTP request: checking a JWT access token (signature, claims, scope
mapping) against finding a static bearer token, measured interleaved in the same run.

No target is set by the issue; the figure says what an OAuth request costs on top of the ~1.9 ms HTTP
tool round trip (FACTS.md baseline). The key cache is filled first, as after the first request: keys
are never fetched per request. Prints medians of 2,000 checks per kind; a few seconds.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from polyroute.oauthconfig import OAuthSettings
from polyroute_servers.auth import Grant, digest, find_grant
from polyroute_servers.jwks import KeyCache
from polyroute_servers.oauth import JwtVerifier

ISSUER, RESOURCE = "https://idp.example.com", "https://polyroute.example.com/mcp"
ROUNDS = 2000


def signed(alg: str, key: Any, kid: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": RESOURCE, "sub": "alice", "iat": now, "exp": now + 3600, "scope": "route"}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})


def verifier() -> tuple[JwtVerifier, dict[str, str]]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    keys = KeyCache(ISSUER)
    keys._keys = {  # pyright: ignore[reportPrivateUsage] (as after the first fetch)
        "r": {**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "r"},
        "e": {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "e"},
        "o": {**OKPAlgorithm.to_jwk(ed_key.public_key(), as_dict=True), "kid": "o"},
    }
    keys._fetched_at = keys.clock()  # pyright: ignore[reportPrivateUsage]
    tokens = {"RS256": signed("RS256", rsa_key, "r"), "ES256": signed("ES256", ec_key, "e"),
              "EdDSA": signed("EdDSA", ed_key, "o")}  # fmt: skip
    return JwtVerifier(OAuthSettings(issuer=ISSUER, resource=RESOURCE), keys), tokens


async def main() -> None:
    check, tokens = verifier()
    grants = [Grant(f"agent{i}", digest(f"static-token-{i}"), frozenset({"*"})) for i in range(10)]
    timings: dict[str, list[float]] = {name: [] for name in ["static (10 tokens)", *tokens]}
    for _ in range(ROUNDS):  # interleaved: machine load hits every kind alike
        started = time.perf_counter()
        assert find_grant(grants, "static-token-7") is not None
        timings["static (10 tokens)"].append(time.perf_counter() - started)
        for alg, token in tokens.items():
            started = time.perf_counter()
            await check.verify(token)
            timings[alg].append(time.perf_counter() - started)
    base = statistics.median(timings["static (10 tokens)"])
    for name, samples in timings.items():
        median = statistics.median(samples)
        print(f"{name:>20}: {median * 1e6:8.1f} µs per request  ({median / base:5.1f}× static; "
              f"{median / 1.94e-3 * 100:4.1f} % of a 1.94 ms HTTP round trip)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
