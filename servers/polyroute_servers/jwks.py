"""The authorization server's signing keys: discovered once, cached, refreshed only when they must be.

Keys are fetched on first use (from `jwks_url`, else from the `jwks_uri` in the issuer's RFC 8414 or
OpenID Connect metadata), kept for `max_age`, and fetched again early only when a token names a key id
(`kid`) the cache does not hold, which is how an authorization server's key rotation shows up. Those
early fetches are rate limited (`cooldown`): a stream of tokens with made-up key ids must not turn this
server into a cannon pointed at the identity provider. Concurrent requests share one fetch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2

log = logging.getLogger("polyroute.oauth")
FETCH_TIMEOUT = 10.0


class KeysUnavailable(Exception):
    """The signing keys could not be fetched and none are cached: tokens cannot be checked right now."""


def metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may live, in the order the MCP authorization spec tries them: RFC 8414
    (well-known inserted before the issuer's path), then OpenID Connect inserted and appended."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")

    def at(well_known: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, well_known, "", ""))

    urls = [at(f"/.well-known/oauth-authorization-server{path}")]
    if path:
        urls.append(at(f"/.well-known/openid-configuration{path}"))
    urls.append(at(f"{path}/.well-known/openid-configuration"))
    return urls


class KeyCache:
    """The issuer's JSON Web Keys by `kid`, fetched rarely and never per request."""

    def __init__(
        self,
        issuer: str,
        jwks_url: str | None = None,
        *,
        max_age: float = 3600.0,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.max_age = max_age
        self.cooldown = cooldown
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._forced_at: float | None = None  # the last fetch an unknown key id caused
        self._problem = "not fetched yet"
        self._lock = anyio.Lock()

    async def key(self, kid: str | None) -> dict[str, Any] | None:
        """The JWK for `kid` (the only key when the token names none and the set holds one), or None.

        Raises KeysUnavailable while no key set has ever been fetched (the issuer is unreachable).
        """
        async with self._lock:
            if self._due():
                await self._refresh()
            found = self._pick(kid)
            now = self.clock()
            if (
                found is None
                and self._keys
                and (self._forced_at is None or now - self._forced_at >= self.cooldown)
            ):
                self._forced_at = now
                log.info("token signed with unknown key id %r: fetching the issuer's keys again", kid)
                await self._refresh()
                found = self._pick(kid)
            if not self._keys:
                raise KeysUnavailable(f"cannot fetch the signing keys of {self.issuer}: {self._problem}")
            return found

    def _due(self) -> bool:
        """Never fetched, older than `max_age`, or (with no keys yet) the last failure `cooldown` ago."""
        if self._fetched_at is None:
            return True
        waited = self.clock() - self._fetched_at
        return waited >= self.max_age or (not self._keys and waited >= self.cooldown)

    def _pick(self, kid: str | None) -> dict[str, Any] | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        """Fetch the key set; on failure keep the keys we have (a brief outage must not lock users out)."""
        self._fetched_at = self.clock()  # a failure counts too: retries are rate limited like fetches
        try:
            async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as http:
                url = self.jwks_url or await self._discover(http)
                keys = _signing_keys(await _get_json(http, url))
        except (httpx2.HTTPError, ValueError) as error:
            self._problem = str(error) or type(error).__name__
            log.warning("cannot fetch the signing keys of %s: %s", self.issuer, self._problem)
            return
        self.fetches += 1
        self._keys = keys
        self._problem = "" if keys else f"{url} lists no signing keys"

    async def _discover(self, http: httpx2.AsyncClient) -> str:
        """`jwks_uri` from the issuer's metadata, whose `issuer` must be ours exactly (RFC 8414 §3.3)."""
        problems: list[str] = []
        for url in metadata_urls(self.issuer):
            try:
                metadata = await _get_json(http, url)
            except (httpx2.HTTPError, ValueError) as error:
                problems.append(f"{url}: {error}")
                continue
            if metadata.get("issuer") != self.issuer:
                raise ValueError(f"{url} names issuer {metadata.get('issuer')!r}, not {self.issuer!r}")
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri:
                raise ValueError(f"{url} has no jwks_uri; set jwks_url in [http.oauth]")
            self.jwks_url = jwks_uri
            return jwks_uri
        raise ValueError("no authorization server metadata found (" + "; ".join(problems) + ")")


async def _get_json(http: httpx2.AsyncClient, url: str) -> dict[str, Any]:
    response = await http.get(url, headers={"Accept": "application/json"})
    if response.status_code != 200:
        raise ValueError(f"{url} answered HTTP {response.status_code}")
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not return a JSON object")
    return document  # pyright: ignore[reportUnknownVariableType]


def _signing_keys(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Public signing keys by `kid` (keys marked for encryption and symmetric keys are left out)."""
    keys: dict[str, dict[str, Any]] = {}
    raw: object = document.get("keys")
    if not isinstance(raw, list):
        raise ValueError("the JWKS document has no 'keys' list")
    for index, item in enumerate(raw):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        if not isinstance(item, dict) or item.get("use", "sig") != "sig" or item.get("kty") == "oct":
            continue
        jwk: dict[str, Any] = dict(item)  # pyright: ignore[reportUnknownArgumentType]
        keys[str(jwk.get("kid", f"#{index}"))] = jwk
    return keys
