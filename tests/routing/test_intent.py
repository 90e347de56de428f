"""The record before every provider call: a durable intent, then an outcome naming it.

The crash test reproduces the outside review's attack: a process making many concurrent routed calls
is SIGKILLed mid-stream; every request the provider received must have left a trace in the log.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from routing_fixtures import Clock, make_app
from tests.reliability import EVENTS_LOST, Attack

from polyroute.app import App
from polyroute.audit import EventQuery, content_digest
from polyroute.audit.digest import digest_secret_file
from polyroute.audit.receipt import find_receipt
from polyroute.audit.sqlite import SqliteAuditStore
from polyroute.errors import ConfigError, PolyrouteError, ProviderError
from polyroute.routing import RouteRequest
from polyroute.settings import load_settings
from polyroute.testing import FakeProviders, Fault
from polyroute.types import CompletionRequest

WORKER = Path(__file__).with_name("route_worker.py")


def route(prompt: str = "Hello intent", **fields: object) -> RouteRequest:
    request = CompletionRequest.from_prompt(prompt, max_tokens=100)
    return RouteRequest.model_validate({"request": request, "principal": "local:tester", **fields})


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.mark.attack("SIGKILL during 60 concurrent routed calls: every request a provider saw is logged",
                    area="audit")  # fmt: skip
def test_sigkill_during_sixty_concurrent_calls_leaves_an_intent_for_every_request_the_provider_saw(
    fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch, sandbox: Path, attack: Attack
) -> None:
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    fakes.openai.inject("crash-model", Fault(delay=0.15, times=None))  # many calls in flight at once
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), f"{fakes.openai.url}/v1", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready", worker.stderr
        _wait_for(lambda: len(fakes.openai.seen()) >= 150, 60, "150 requests at the fake")
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    seen = fakes.openai.seen()
    fakes.clear()
    settings = load_settings()
    # the kill can cut a request off after its headers: the fake saw a call but no prompt to match
    prompts = [r.body["messages"][0]["content"] for r in seen if isinstance(r.body, dict)]
    assert len(set(prompts)) == len(prompts) >= len(seen) - 60 and len(seen) >= 150

    async def read() -> tuple[list[str], set[str], bool, int]:
        app = App(settings)
        try:
            events = await app.audit.query(EventQuery(limit=10_000))
            intents = [e.prompt_digest for e in events if e.event_type == "intent" and e.prompt_digest]
            outcomes = {e.intent_id for e in events if e.intent_id}
            unknown = await app.audit.query(EventQuery(outcome_unknown=True, limit=10_000))
            return intents, {i for i in outcomes if i}, (await app.audit.verify()).ok, len(unknown)
        finally:
            await app.aclose()

    intents, outcomes, verified, unknown = asyncio.run(read())
    missing = [p for p in prompts if content_digest(settings, p) not in set(intents)]
    attack.figure(EVENTS_LOST, len(missing))
    assert missing == [], f"{len(missing)} of {len(prompts)} requests the provider saw left no intent"
    assert len(intents) >= len(seen) and verified
    assert unknown >= 1 and len(outcomes) + unknown == len(intents)  # the calls cut off are visible
    print(f"crash: provider saw {len(prompts)}, intents {len(intents)}, outcomes {len(outcomes)}, "
          f"outcome unknown {unknown}")  # fmt: skip


def test_receipt_id_resolves_at_once_and_after_close_to_the_whole_record(
    app: App, fakes: FakeProviders
) -> None:
    async def go() -> str:
        result = await app.router.complete(route(jurisdiction="SA", data_class="personal"))
        receipt = await find_receipt(app.audit, result.receipt_id)  # the outcome was only queued
        assert receipt is not None and receipt.status == "completed" and receipt.cost_usd == result.cost_usd
        await app.aclose()
        return result.receipt_id

    receipt_id = asyncio.run(go())

    async def reopen() -> None:
        again = App(app.settings)
        receipt = await find_receipt(again.audit, receipt_id)
        assert receipt is not None and receipt.event_type == "completion" and receipt.intent is not None
        outcome = await find_receipt(again.audit, receipt.id)  # the outcome's own id leads to the same
        assert outcome is not None and outcome.receipt_id == receipt_id
        await again.aclose()

    asyncio.run(reopen())


def test_an_intent_without_outcome_is_reported_as_outcome_unknown(app: App, fakes: FakeProviders) -> None:
    from polyroute.trail import CallFacts, intent_event

    async def go() -> None:
        request = route(jurisdiction="SA", data_class="personal", strategy="cheapest")
        plan = app.router.plan(request)
        intent = await app.audit.append(
            intent_event(CallFacts.of(app.settings, request, plan))
        )  # then "killed"
        done = await app.router.complete(request)
        receipt = await find_receipt(app.audit, intent.id)
        assert receipt is not None and receipt.status == "outcome unknown"
        assert receipt.may_have_contacted == ["sa-cheap", "sa-mid", "sa-pricey"]
        finished = await find_receipt(app.audit, done.receipt_id)
        assert finished is not None and finished.status == "completed"
        (summary,) = await app.audit.summarize("principal")
        assert (summary.events, summary.outcome_unknown) == (1, 1)  # each call once, the lost one apart
        await app.aclose()

    asyncio.run(go())


@pytest.mark.parametrize("damage", ["group-readable", "empty"])
def test_a_digest_secret_no_receipt_could_use_stops_the_call_before_any_provider(
    fakes: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock, damage: str
) -> None:
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    app = make_app(fakes, tmp_path / "data", clock)
    secret = digest_secret_file(app.settings)
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(b"" if damage == "empty" else os.urandom(32))
    secret.chmod(0o600 if damage == "empty" else 0o644)
    with pytest.raises(ConfigError, match="audit digest secret"):
        asyncio.run(app.router.complete(route(jurisdiction="SA", data_class="personal")))
    assert [r for s in fakes.servers for r in s.seen()] == []


def test_a_call_whose_every_attempt_failed_is_a_failure_naming_the_deployments_tried(
    app: App, fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: a missing key is not a policy denial; `audit tail` must not show it as one."""
    from polyroute.errors import NoRoute
    from polyroute_servers.commands.audit import _kind, _where  # pyright: ignore[reportPrivateUsage]

    monkeypatch.delenv("ANTHROPIC_API_KEY")
    fakes.openai.inject("sa-mid-model", Fault(status=400, times=None))
    fakes.openai.inject("sa-pricey-model", Fault(status=400, times=None))

    async def go() -> None:
        with pytest.raises(NoRoute):
            await app.router.complete(route(jurisdiction="SA", data_class="personal", strategy="cheapest"))
        failure, intent = await app.audit.query(EventQuery(limit=5))
        assert failure.event_type == "failure" and failure.allowed is True and failure.intent_id == intent.id
        assert failure.details["tried"] == ["sa-cheap", "sa-mid", "sa-pricey"]
        assert _kind(failure, set()) == f"failure (of {intent.seq})"
        assert _where(failure, set()) == "sa-cheap, sa-mid, sa-pricey"
        await app.aclose()

    asyncio.run(go())


def test_outcome_unknown_is_shown_by_tail_verify_and_the_audit_tools(
    app: App, fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mcp import Client

    from polyroute.trail import CallFacts, intent_event
    from polyroute_servers import audit as audit_server
    from polyroute_servers.cli import main

    async def setup() -> str:
        request = route(jurisdiction="SA", data_class="personal", strategy="cheapest")
        lost = await app.audit.append(
            intent_event(CallFacts.of(app.settings, request, app.router.plan(request)))
        )
        await app.router.complete(request)
        async with Client(audit_server.build(app)) as client:
            receipt = (await client.call_tool("get_receipt", {"receipt_id": lost.id})).structured_content
            assert receipt and receipt["status"] == "outcome unknown"
            assert receipt["may_have_contacted"] == ["sa-cheap", "sa-mid", "sa-pricey"]
            found = (await client.call_tool("query_events", {})).structured_content
            assert found and [u["receipt_id"] for u in found["outcome_unknown"]] == [lost.id]
            only = (await client.call_tool("query_events", {"outcome_unknown": True})).structured_content
            assert only and [e["id"] for e in only["events"]] == [lost.id]
            usage = (await client.call_tool("summarize_usage", {"group_by": "principal"})).structured_content
            assert usage and usage["rows"][0]["outcome_unknown"] == 1
            assert usage["outcome_unknown"][0]["deployments"] == ["sa-cheap", "sa-mid", "sa-pricey"]
            check = (await client.call_tool("verify_log", {})).structured_content
            assert check and check["ok"] is True and check["outcome_unknown"] == 1
        await app.aclose()
        return lost.id

    lost_id = asyncio.run(setup())
    monkeypatch.setenv("POLYROUTE_DATA_DIR", str(app.settings.data_dir))
    assert main(["audit", "tail"]) == 0
    table = capsys.readouterr().out
    assert "intent: OUTCOME UNKNOWN" in table and "sa-cheap, sa-mid, sa-pricey" in table and lost_id in table
    assert "1 routed call(s) with outcome unknown" in table
    assert main(["audit", "verify"]) == 0
    assert "note: 1 routed call(s) with outcome unknown" in capsys.readouterr().out


def test_a_call_cancelled_while_its_intent_is_written_records_that_no_provider_was_reached(
    app: App, fakes: FakeProviders
) -> None:
    """The intent's append is shielded: once it is durable the call sees the cancellation and says so."""
    import anyio

    store = app.audit
    slow = anyio.Event()

    class SlowIntents:  # the real store, with an intent append that takes a while
        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        async def append_ahead(self, draft, **kwargs):  # type: ignore[no-untyped-def]
            if draft.event_type == "intent":
                slow.set()
                await anyio.sleep(0.3)
            return await store.append_ahead(draft, **kwargs)

    app.__dict__["audit"] = SlowIntents()

    async def go() -> None:
        with anyio.move_on_after(0.1) as scope:
            await app.router.complete(route(jurisdiction="SA", data_class="personal"))
        assert scope.cancelled_caught and slow.is_set()
        outcome, intent = await store.query(EventQuery(limit=5))
        assert intent.event_type == "intent" and outcome.intent_id == intent.id
        assert outcome.event_type == "refusal" and outcome.reasons == ["cancelled by the caller"]
        assert outcome.details["attempts"] == []
        await store.aclose()

    asyncio.run(go())
    assert [r for s in fakes.servers for r in s.seen()] == []


def test_only_a_lone_call_journals_its_intent_on_its_own_thread(app: App) -> None:
    """Concurrent calls' intents share group commits; a call with none beside it journals its intent."""
    import anyio

    store = app.audit
    alone: list[bool] = []

    class Watched:  # the real store, noting what each intent append was told
        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        async def append_ahead(self, draft, **kwargs):  # type: ignore[no-untyped-def]
            if draft.event_type == "intent":
                alone.append(kwargs.get("alone", False))
            return await store.append_ahead(draft, **kwargs)

    app.__dict__["audit"] = Watched()

    async def go() -> None:
        await app.router.complete(route(jurisdiction="SA", data_class="personal"))
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(app.router.complete, route(jurisdiction="SA", data_class="personal"))
        assert app.router.in_flight == 0
        assert (await store.verify()).ok and len(await store.query(EventQuery(event_type="intent"))) == 4
        await store.aclose()

    asyncio.run(go())
    assert alone[0] and alone[1:].count(False) >= 2


def test_a_bare_asyncio_cancellation_during_the_intent_also_stops_the_call_before_any_provider(
    app: App, fakes: FakeProviders
) -> None:
    """`asyncio.wait_for` cancels the task itself, not an anyio scope: it must be caught just the same."""
    store = app.audit
    written = asyncio.Event()

    class SlowIntents:  # the real store; the caller's timeout runs out while the intent is written
        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        async def append_ahead(self, draft, **kwargs):  # type: ignore[no-untyped-def]
            appended = await store.append_ahead(draft, **kwargs)
            if draft.event_type == "intent":
                asyncio.current_task().cancel()  # type: ignore[union-attr]  # as wait_for would
                written.set()
            return appended

    app.__dict__["audit"] = SlowIntents()

    async def go() -> None:
        with pytest.raises(asyncio.CancelledError):
            await app.router.complete(route(jurisdiction="SA", data_class="personal"))
        assert written.is_set()
        outcome, intent = await store.query(EventQuery(limit=5))
        assert intent.event_type == "intent" and outcome.intent_id == intent.id
        assert outcome.reasons == ["cancelled by the caller"] and outcome.details["attempts"] == []
        await store.aclose()

    asyncio.run(go())
    assert [r for s in fakes.servers for r in s.seen()] == []


def _journal_db(app: App) -> Path:
    return app.settings.data_dir / "audit.db"


def test_a_lone_call_whose_intent_cannot_be_written_reaches_no_provider_and_tries_no_other(
    app: App, fakes: FakeProviders
) -> None:
    """The journal row is written while the SDK builds the request; the request waits for it, and a
    row that fails stops the whole call with the store's error: no send, no fallback, no outcome."""
    import sqlite3

    async def go() -> None:
        await app.router.complete(route(jurisdiction="SA", data_class="personal"))  # the writer is open
        assert isinstance(app.audit, SqliteAuditStore) and await app.audit.start_journal()
        fakes.clear()
        with sqlite3.connect(_journal_db(app)) as db:
            db.execute("ALTER TABLE journal RENAME TO journal_away")
        with pytest.raises(PolyrouteError, match="append failed.*journal") as raised:
            await app.router.complete(route(jurisdiction="SA", data_class="personal"))
        assert not isinstance(raised.value, ProviderError)
        assert [r for s in fakes.servers for r in s.seen()] == []
        with sqlite3.connect(_journal_db(app)) as db:
            db.execute("ALTER TABLE journal_away RENAME TO journal")
        events = await app.audit.query(EventQuery(limit=10))
        assert [e.event_type for e in events] == ["completion", "intent"]  # the first call's, nothing else
        assert app.router.in_flight == 0 and (await app.audit.verify()).ok
        await app.aclose()

    asyncio.run(go())


def test_a_lone_call_whose_journal_row_meets_another_process_lock_calls_once_its_intent_is_chained(
    app: App, fakes: FakeProviders
) -> None:
    import sqlite3

    async def go() -> None:
        await app.router.complete(route(jurisdiction="SA", data_class="personal"))
        assert isinstance(app.audit, SqliteAuditStore) and await app.audit.start_journal()
        fakes.clear()
        other = sqlite3.connect(_journal_db(app), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock for 0.3 s
        released: list[float] = []

        def release() -> None:
            released.append(time.monotonic())
            other.execute("COMMIT")

        asyncio.get_running_loop().call_later(0.3, release)
        result = await app.router.complete(route(jurisdiction="SA", data_class="personal"))
        other.close()
        (request,) = [r for s in fakes.servers for r in s.seen()]
        assert released and request.received >= released[0]  # sent only after the intent was chained
        intent = await app.audit.get(result.receipt_id)
        outcome = (await app.audit.query(EventQuery(limit=1)))[0]
        assert intent is not None and intent.event_type == "intent" and intent.seq == 3
        assert outcome.intent_id == intent.id and outcome.intent_seq == 3
        assert (await app.audit.verify()).ok
        await app.aclose()

    asyncio.run(go())
