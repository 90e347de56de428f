"""redaction: every form of a key a provider may echo is scrubbed; ordinary text is left alone."""

from __future__ import annotations

import pytest
from canary_forms import echoes, leaks
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from polyroute.redaction import redact

KEY = "sk-proj-01234567CANARYcanary+/=x9Zq77aa"


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
