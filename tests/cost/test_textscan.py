"""One scan of a text serves every tokenizer family, and gives the counts the per-family estimate gave.

`tests/cost/data/heuristic_reference.json` holds `heuristic.estimate` and `heuristic.ranges` as they
were before the scan was shared (each family split and measured the text itself): English, Arabic,
CJK, code, JSON, empty text, every unusual sample and seeded random mixtures of scripts, marks,
digits and punctuation. The counts must be the same numbers, not close ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.cost.conftest import deployment
from tests.cost.samples import ALL, ARABIC, CODE, ENGLISH
from tests.cost.unusual_samples import unusual

from polyroute import heuristic, textmemo, textscan
from polyroute.tokencount import counting_key, counts_by_key, request_tokens
from polyroute.types import CompletionRequest, Message

REFERENCE = json.loads((Path(__file__).parent / "data" / "heuristic_reference.json").read_text())
UNUSUAL = unusual(1)
CJK = "这是一个用于测试的中文句子，包含标点符号。" * 5


def _text(row: dict[str, Any]) -> str:
    if "sample" in row:
        return ALL[row["sample"]]
    if "unusual" in row:
        return UNUSUAL[row["unusual"]][:3000]
    return cast(str, row["text"])


@pytest.mark.parametrize("row", REFERENCE["rows"], ids=[row["name"] for row in REFERENCE["rows"]])
def test_estimates_equal_those_made_before_the_scan_was_shared(row: dict[str, Any]) -> None:
    text = _text(row)
    for family, (tokens, band, script, share, ranges) in row["families"].items():
        found = heuristic.estimate(text, family)
        assert (found.tokens, found.band, found.script, found.unusual_share) == (tokens, band, script, share)
        if text:
            ordinary, odd, ordinary_script, odd_bytes = heuristic.ranges(text, family)
            got = [[ordinary.low, ordinary.high, ordinary.mid], [odd.low, odd.high, odd.mid]]
            assert [*got, ordinary_script, odd_bytes] == ranges


def test_the_reference_covers_the_scripts_it_claims() -> None:
    names = {row["name"] for row in REFERENCE["rows"]}
    assert {"english", "arabic", "code", "json", "cjk", "empty"} <= names
    assert {f"unusual_{name}" for name in UNUSUAL} <= names


FAMILY_MODELS = {  # one deployment per counting key the router meets
    "o200k_base": {"provider": "openai", "model": "gpt-4o"},
    "cl100k_base": {"provider": "openai", "model": "gpt-4-turbo"},
    "openai-unmapped": {"provider": "openai", "model": "gpt-7-preview"},
    "claude-v3": {"provider": "anthropic", "model": "claude-sonnet-4-6"},
    "claude-v4.8": {"provider": "anthropic", "model": "claude-opus-5-2"},
    "claude-any": {"provider": "anthropic", "model": "claude-mythos"},
    "unknown": {"provider": "openai_compatible", "model": "jais-2", "base_url": "http://127.0.0.1:9/v1"},
}
DEPLOYMENTS = [deployment(key, price={"input_per_mtok": "1", "output_per_mtok": "1"}, **fields)
               for key, fields in FAMILY_MODELS.items()]  # fmt: skip


def _request(text: str, system: str | None, more: list[str]) -> CompletionRequest:
    messages = [Message(role="user", content=text)]
    for i, extra in enumerate(more):
        messages.append(Message(role="assistant" if i % 2 == 0 else "user", content=extra))
    return CompletionRequest(messages=messages, system=system, max_tokens=100)


def _one_by_one(request: CompletionRequest) -> dict[str, Any]:
    return {counting_key(d): request_tokens(d, request) for d in DEPLOYMENTS}


def test_every_family_is_counted_under_its_own_key() -> None:
    assert [counting_key(d) for d in DEPLOYMENTS] == list(FAMILY_MODELS)


@pytest.mark.parametrize("text", [ENGLISH, ARABIC, CJK, CODE, ALL["json"], "", " ", "hi"])
def test_counting_every_family_at_once_equals_counting_each_alone(text: str) -> None:
    for request in (_request(text, None, []), _request(text, "Be brief.", [CJK, ENGLISH])):
        keys = [counting_key(d) for d in DEPLOYMENTS]
        assert counts_by_key(keys, request) == _one_by_one(request)
        assert list(counts_by_key(reversed(keys), request)) == list(reversed(keys))  # in the order given


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("aZ9 \n\t\r.=-_/'\"ابةٍ٣中😀é\u200b"), max_size=300),
    st.one_of(st.none(), st.text(max_size=40)),
    st.lists(st.text(max_size=60), max_size=3),
)
def test_shared_counting_equals_per_family_counting_on_any_text(
    text: str, system: str | None, more: list[str]
) -> None:
    request = _request(text, system, more)
    assert counts_by_key([counting_key(d) for d in DEPLOYMENTS], request) == _one_by_one(request)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("aAzZ09 b\nQ-é中"), max_size=80))
def test_the_candidate_prefilter_never_hides_a_match(text: str) -> None:
    """Skipping the candidate regexes is only allowed when none of them could match."""
    if not textscan._may_have_candidates(text):  # pyright: ignore[reportPrivateUsage]
        assert not any(pattern.search(text) for pattern in textscan._CANDIDATES)  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize("text", ["A" * 5, "1" * 7, "a" * 25, "aB", "a1", "B2", "3c", "4D", "x" * 24 + "é"])
def test_the_candidate_prefilter_lets_every_kind_of_match_through(text: str) -> None:
    matches = any(pattern.search(text) for pattern in textscan._CANDIDATES)  # pyright: ignore[reportPrivateUsage]
    assert textscan._may_have_candidates(text) or not matches  # pyright: ignore[reportPrivateUsage]
    assert matches is (text != "x" * 24 + "é")


def test_a_large_texts_scan_is_remembered_and_a_small_ones_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server scans a large prompt in a worker thread; the plan on the event loop finds the scan."""
    textmemo.clear()
    large, small = ENGLISH * 10, ENGLISH
    first = textscan.scan(large)
    monkeypatch.setattr(textscan, "_scan", lambda *_: pytest.fail("scanned again"))
    assert textscan.scan(large[:]) == first
    with pytest.raises(pytest.fail.Exception, match="scanned again"):
        textscan.scan(small)  # recounting a short text costs less than remembering it
    textmemo.clear()


def test_the_scan_keeps_no_family_specific_figure() -> None:
    """What differs between families is applied after the scan: the same scan, different counts."""
    found = textscan.scan(ENGLISH)
    counts = {family: heuristic.estimate_scan(found, family).tokens for family in heuristic.WEIGHTS}
    assert len(set(counts.values())) > 1
    assert re.fullmatch(r"latin", found.script) and found.values is not None
