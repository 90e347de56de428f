"""Exact Host and Origin checks for DNS-rebinding protection.

The SDK's check matches a wildcard port by prefix (`host.startswith("127.0.0.1:")`), so
`Host: 127.0.0.1:80@evil` or `Origin: http://localhost:1@evil.example` passed it. Here a header is
parsed by RFC 9110's grammar (`host [":" port]`, an IPv6 literal in brackets; an origin is exactly
`scheme "://" host [":" port]`) and its host compared, case-insensitively, with the allowed names.
Anything else — user info, a path, a second colon, a non-numeric or out-of-range port — is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?")  # underscores: Docker service names
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")
_PORT = re.compile(r"[0-9]{1,5}")


def parse_host(value: str) -> str | None:
    """The host name of a Host header value (lower-case, brackets and port removed), or None if malformed."""
    if value.startswith("["):
        inside, close, rest = value[1:].partition("]")
        if not close or not _IPV6.fullmatch(inside):
            return None
        name = inside
    else:
        name = value.split(":", 1)[0]
        rest = value[len(name) :]
        if not _NAME.fullmatch(name):
            return None
    if rest and not (rest.startswith(":") and _PORT.fullmatch(rest[1:]) and int(rest[1:]) <= 65535):
        return None
    return name.lower().rstrip(".")


def parse_origin(value: str) -> str | None:
    """The host name of an Origin header value (http or https only), or None if malformed."""
    scheme, sep, authority = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return None
    return parse_host(authority)


def _names(allowed: Iterable[str]) -> frozenset[str]:
    return frozenset(name.strip().strip("[]").lower().rstrip(".") for name in allowed if name.strip())


class HostCheck:
    """Which Host and Origin values a server accepts: any port, but only these names."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.names = _names(allowed)

    def host_ok(self, value: str | None) -> bool:
        return value is not None and parse_host(value) in self.names

    def origin_ok(self, value: str | None) -> bool:
        """An absent Origin is a same-origin or non-browser request: allowed, as the SDK does."""
        return value is None or parse_origin(value) in self.names


__all__ = ["HostCheck", "parse_host", "parse_origin"]
