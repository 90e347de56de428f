"""The forms in which providers echo API keys back, and a check that none of them survived (shared by the
secrets, provider and server tests)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from polyroute.redaction import GRAM, forms


def echoes(key: str) -> dict[str, str]:
    """The ways the outside review saw keys come back in provider error bodies, and a few more."""
    raw = key.encode()
    return {
        "whole": f"Incorrect API key provided: {key}.",
        "masked": f"Incorrect API key provided: {key[:8]}{'*' * 10}{key[-4:]}. You can find your key at …",
        "masked with bullets": f"key {key[:6]}••••••{key[-4:]} is revoked",
        "masked with dots": f"key {key[:5]}...{key[-5:]} is revoked",
        "upper-cased": f"INVALID KEY {key.upper()}",
        "lower-cased": f"invalid key {key.lower()}",
        "prefix fragment": f"the key starting {key[:12]} is unknown",
        "suffix fragment": f"the key ending {key[-10:]} is unknown",
        "bearer base64": f"bad header {base64.b64encode(b'Bearer ' + raw).decode()}",
        "basic base64": f"bad header Basic {base64.b64encode(b'user:' + raw).decode()}",
        "urlsafe base64": f"token={base64.urlsafe_b64encode(raw).decode().rstrip('=')}",
        "percent-encoded": f"GET /v1?api_key={quote(key, safe='')} denied",
        "json escaped": 'key "' + "".join(f"\\u{ord(c):04x}" for c in key) + '" unknown',
        "hex": f"digest input {raw.hex().upper()}",
        "quoted in json": json.dumps({"error": {"message": f"api key {key!r} invalid"}}),
    }


def leaks(text: str, key: str) -> list[str]:
    """Every run of GRAM characters of any form of `key` still in `text` (ignoring case)."""
    lowered = text.lower()
    runs = {form.lower()[i : i + GRAM] for form in forms(key) for i in range(len(form) - GRAM + 1)}
    return sorted(run for run in runs if run in lowered)
