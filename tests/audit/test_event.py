"""The canonical encoding is a published format: these tests pin it byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from polyroute.audit.event import EventDraft, body_hash, canonical_json, event_body, format_time, new_event_id
from polyroute.types import Usage

FIXED = {
    "seq": 7,
    "id": "evt_0123456789abcdef0123456789abcdef",
    "time": datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
    "prev_hash": "ab" * 32,
    **EventDraft(
        event_type="completion",
        principal="local:ops",
        provider="anthropic",
        usage=Usage(input_tokens=1200, output_tokens=80),
        cost_usd=Decimal("0.004800"),
        latency_ms=812.25,
        reasons=["SA personal → SA"],
        details={"attempts": [{"ok": True, "latency_ms": 1.5}], "note": None},
    ).model_dump(),
}

EXPECTED_BODY = (
    '{"cost_usd":"0.004800","details":{"attempts":[{"latency_ms":1.5,"ok":true}],"note":null},'
    '"event_type":"completion","id":"evt_0123456789abcdef0123456789abcdef","latency_ms":812.25,'
    '"prev_hash":"' + "ab" * 32 + '","principal":"local:ops","provider":"anthropic",'
    '"reasons":["SA personal → SA"],"seq":7,"time":"2026-11-25T09:30:00.000000Z",'
    '"usage":{"cache_read_tokens":0,"cache_write_tokens":0,"input_tokens":1200,"output_tokens":80,'
    '"reasoning_tokens":0}}'
)


def test_canonical_body_is_pinned_byte_for_byte() -> None:
    body = event_body(FIXED)
    assert body == EXPECTED_BODY
    assert body_hash(body) == "e2c8656ba4796ccab1954505882df0315d7042c5d658e8a701a2138437bf8568"


def test_hash_is_sha256_of_the_utf8_body() -> None:
    import hashlib

    assert body_hash(EXPECTED_BODY) == hashlib.sha256(EXPECTED_BODY.encode("utf-8")).hexdigest()


def test_reencoding_a_parsed_body_gives_the_same_bytes() -> None:
    """What an offline verifier does with an export line must reproduce the stored bytes."""
    assert canonical_json(json.loads(EXPECTED_BODY)) == EXPECTED_BODY


def test_nulls_are_left_out_at_the_top_level_only() -> None:
    body = json.loads(event_body({"a": None, "b": {"c": None}, "hash": "x"}))
    assert body == {"b": {"c": None}}


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000000Z"),
        (
            datetime(2026, 1, 2, 6, 4, 5, 7, tzinfo=timezone(timedelta(hours=3))),
            "2026-01-02T03:04:05.000007Z",
        ),
    ],
)
def test_times_are_utc_with_microseconds(moment: datetime, text: str) -> None:
    assert format_time(moment) == text


def test_naive_times_nan_and_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        format_time(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        event_body({"x": float("nan")})
    with pytest.raises(ValueError, match="Decimal|finite"):
        event_body({"x": Decimal("Infinity")})
    with pytest.raises(ValueError, match="object"):
        event_body({"x": object()})


def test_sets_are_sorted_so_their_encoding_is_stable() -> None:
    assert event_body({"s": {"b", "a", "c"}}) == '{"s":["a","b","c"]}'


def test_event_ids_sort_by_time_and_do_not_repeat() -> None:
    first, second = new_event_id(1_000.0), new_event_id(2_000.0)
    assert first.startswith("evt_") and len(first) == 36
    assert first < second
    assert len({new_event_id() for _ in range(1000)}) == 1000


def test_the_writers_template_fills_to_exactly_the_canonical_body() -> None:
    from polyroute.audit.event import body_template, fill_template

    without = {k: v for k, v in FIXED.items() if k not in ("seq", "time", "prev_hash")}
    body = fill_template(body_template(without), 7, "2026-11-25T09:30:00.000000Z", "ab" * 32)
    assert body == EXPECTED_BODY


def test_the_package_exports_what_it_lists() -> None:
    import polyroute.audit as audit

    assert audit.__all__ == sorted(audit.__all__)
    assert all(hasattr(audit, name) for name in audit.__all__)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(details=st.dictionaries(st.text(), _json_values, max_size=5), principal=st.text(min_size=1))
def test_any_recorded_event_reencodes_to_the_same_bytes(details: dict[str, object], principal: str) -> None:
    """The property offline verification rests on: parse + canonical re-encode is the identity."""
    fields = {
        **EventDraft(event_type="external", principal=principal, details=details).model_dump(),
        "seq": 1,
    }
    body = event_body(fields)
    assert canonical_json(json.loads(body)) == body


@settings(max_examples=200, deadline=None)
@given(details=st.dictionaries(st.text(), _json_values, max_size=5))
def test_pre_encoded_parts_splice_to_exactly_the_canonical_body(details: dict[str, object]) -> None:
    """A routed call encodes its plan once (`Encoded`) for both its events: the body must not change."""
    from polyroute.audit.event import Encoded, body_template, fill_template

    spliced = {key: Encoded(value) for key, value in details.items()}
    fields = {**FIXED, "details": {"plain": [1, "x"], "pre": Encoded(details), "each": spliced}}
    expected = {**FIXED, "details": {"plain": [1, "x"], "pre": details, "each": details}}
    assert event_body(fields) == event_body(expected)
    without = {k: v for k, v in fields.items() if k not in ("seq", "time", "prev_hash")}
    body = fill_template(body_template(without), 7, "2026-11-25T09:30:00.000000Z", "ab" * 32)
    assert body == event_body(expected)


def test_a_value_that_cannot_be_recorded_is_refused_when_pre_encoded() -> None:
    from polyroute.audit.event import Encoded

    for bad in (float("nan"), "\ud800", object()):
        with pytest.raises(ValueError):
            Encoded({"x": bad})


def test_a_template_in_another_order_still_fills() -> None:
    """`fill_template` fills a template in one pass when its placeholders are in sorted-key order (as
    `body_template` makes them); any other shape takes the three plain replacements."""
    from polyroute.audit.event import body_template, fill_template

    template = body_template({"event_type": "event"})
    assert fill_template(template, 3, "T", "P") == '{"event_type":"event","prev_hash":"P","seq":3,"time":"T"}'
    rest, _, time_pair = template[:-1].rpartition(",")
    reordered = "{" + time_pair + "," + rest[1:] + "}"
    assert (
        fill_template(reordered, 3, "T", "P") == '{"time":"T","event_type":"event","prev_hash":"P","seq":3}'
    )
