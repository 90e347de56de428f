"""redaction: every form of a key a provider may echo is scrubbed; ordinary text is left alone."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from polyroute.redaction import GRAM, forms, redact

KEY = "sk-proj-01234567CANARYcanary+/=x9Zq77aa"


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


@pytest.mark.parametrize("kind", list(echoes(KEY)))
def test_each_echoed_form_is_scrubbed(kind: str) -> None:
    text = echoes(KEY)[kind]
    shown = redact(text, KEY)
    assert "[redacted]" in shown and not leaks(shown, KEY), shown
    assert KEY[-4:] not in shown and KEY[:8].lower() not in shown.lower()


def test_masked_keys_go_even_when_the_key_is_not_known() -> None:
    assert redact("key 01234567**********77aa was refused") == "key [redacted] was refused"
    assert redact("sk-ant-****wxyz, AKIAABCDEFGHIJKLMNOP") == "[redacted], [redacted]"


@pytest.mark.parametrize(
    "text",
    [
        "Rate limit reached for requests. Please try again in 20s.",
        "Loading... the model is overloaded; retry later.",
        "max_tokens: 4096 > 2048, which is the maximum allowed",
        "**Note**: this model is deprecated",
        "https://platform.openai.com/account/api-keys",
    ],
)
def test_ordinary_provider_messages_are_left_alone(text: str) -> None:
    assert redact(text, KEY) == text


def test_a_long_body_is_scrubbed_in_linear_time() -> None:
    body = ("padding " * 2000 + KEY.upper() + " ") * 5
    shown = redact(body, KEY)
    assert shown.count("[redacted]") == 5 and not leaks(shown, KEY)


_key_chars = st.characters(min_codepoint=33, max_codepoint=126)


@hypothesis_settings(max_examples=150, deadline=None)
@given(
    key=st.text(_key_chars, min_size=16, max_size=80),
    before=st.text(st.sampled_from("abc xyz.:,\n"), max_size=30),
    kind=st.sampled_from(sorted(echoes("x" * 16))),
)
def test_no_run_of_any_form_of_any_key_survives(key: str, before: str, kind: str) -> None:
    shown = redact(before + echoes(key)[kind], key)
    assert not leaks(shown, key), (kind, shown)
