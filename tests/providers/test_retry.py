"""The retry policy's arithmetic: retry-after parsing and the capped pause."""

from __future__ import annotations

import email.utils
import time

from hypothesis import given
from hypothesis import strategies as st

from polyroute.errors import ProviderError
from polyroute.providers import ProviderOptions, pause_before_retry
from polyroute.providers.base import parse_retry_after


def test_retry_after_ms_beats_seconds_and_dates_are_understood() -> None:
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8 <= (parse_retry_after({"retry-after": in_ten}) or 0) <= 10
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-3"}) == 0
    assert parse_retry_after({}) is None and parse_retry_after(None) is None


@given(
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
    retry=st.integers(min_value=0, max_value=10),
    cap=st.floats(min_value=0.01, max_value=60),
)
def test_pause_is_the_providers_word_or_backoff_and_never_above_the_cap(
    retry_after: float | None, retry: int, cap: float
) -> None:
    options = ProviderOptions(retry_after_cap=cap, backoff=0.5)
    pause = pause_before_retry(ProviderError("x", retryable=True, retry_after=retry_after), retry, options)
    assert 0 <= pause <= cap
    if retry_after is not None:
        assert pause == min(retry_after, cap)
    else:
        assert pause >= min(0.25 * 2**retry, cap)
