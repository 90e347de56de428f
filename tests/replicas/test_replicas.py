"""Three `polyroute serve suite --http` replicas on one PostgreSQL database, one killed mid-stream.

Eight clients spread `record_event` and routed `complete` calls (fake providers) over the replicas;
replica 2 is SIGKILLed halfway and restarted. A routed call is written ahead: its intent is durable
before any provider sees it, its outcome is queued and committed just after the answer. Afterwards:
every acknowledged `record_event` is in the log exactly once; every answered call has its intent
exactly once and its outcome exactly once, except that a call the killed replica answered may have
lost its queued outcome (it is then "outcome unknown"); every intent without an outcome is a call
the killed replica had in flight; no intent has two outcomes; the chain verifies online and from an
export; and the ledger's spend is the receipts' (plus, at most, what the killed replica's unknown
calls may have cost) and never went over the limit. Each replica has its own data dir: nothing on a
replica's disk or in its memory is needed for any of that.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psycopg
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from polyroute.audit import EventQuery, open_store, verify_export
from polyroute.settings import load_settings
from polyroute.testing import FakeProviders
from polyroute.testing.pgcluster import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
BIN = Path(sys.executable).parent
TOKEN = secrets.token_urlsafe(16)
LIMIT = Decimal("0.02")
CLIENTS, ROUNDS = 8, 8


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Replica:
    """One server process on a fixed port, restartable on the same port (as behind a load balancer)."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env, self.port = home, env, free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0  # which process a call went to: a call to a killed one may leave no outcome

    def start(self) -> None:
        self.starts += 1
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**self.env, "POLYROUTE_DATA_DIR": str(self.home / "data"), "HOME": str(self.home)}
        argv = [str(BIN / "polyroute"), "serve", "suite", "--http", "--port", str(self.port)]
        log = (self.home / "server.log").open("ab")
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.home / "server.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"replica on port {self.port} did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@pytest.fixture
def replicas(
    postgres_url: str, tmp_path: Path, fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Replica]]:
    config = tmp_path / "polyroute.toml"
    config.write_text(
        f'[[budgets]]\nscope = "principal:http:router"\nperiod = "day"\nlimit_usd = "{LIMIT}"\n'
    )
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("POLYROUTE_") and not k.endswith("_API_KEY")
    }
    env = {
        **base, **fakes.env(), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "POLYROUTE_AUDIT_URL": postgres_url, "POLYROUTE_AUDIT_KEY_FILE": str(tmp_path / "audit.key"),
        "POLYROUTE_CONFIG": str(config), "POLYROUTE_HTTP_TOKENS": f"router={TOKEN}:*",
        "POLYROUTE_PG_POOL_SIZE": "4",
    }  # fmt: skip
    monkeypatch.setenv("POLYROUTE_AUDIT_KEY_FILE", env["POLYROUTE_AUDIT_KEY_FILE"])  # for this test's
    monkeypatch.setenv("POLYROUTE_AUDIT_URL", postgres_url)  # own store: the replicas' key and database
    anyio.run(_create_key)  # one key for every replica (a secret mounted on each host)
    running = [Replica(tmp_path / f"replica-{n}", env) for n in range(3)]
    try:
        for replica in running:
            replica.start()
        yield running
    finally:
        for replica in running:
            replica.stop()


async def _create_key() -> None:
    store = open_store(load_settings())
    await store.ready()
    await store.aclose()


@pytest.fixture
def fakes() -> Iterator[FakeProviders]:
    with FakeProviders() as running:
        yield running


@asynccontextmanager
async def mcp(replica: Replica) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, trust_env=False, timeout=30) as http,
        Client(streamable_http_client(f"http://127.0.0.1:{replica.port}/mcp", http_client=http)) as client,
    ):
        yield client


async def _call_in_own_loop(replica: Replica, tool: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The structured answer, or None when the replica could not answer (killed, restarting)."""
    try:
        async with mcp(replica) as client:
            answer = await client.call_tool(tool, args)
    except Exception:  # noqa: BLE001 - a dead replica: the client would retry elsewhere
        return None
    if answer.is_error:
        text = answer.content[0].text if answer.content else ""  # type: ignore[union-attr]
        assert "budget" in text.lower(), text  # the only refusal expected here
        return {}
    return answer.structured_content


async def _call(replica: Replica, tool: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """Each call on an event loop of its own, as separate clients are: what a client connected to a
    replica that was killed leaves behind (its transport's clean-up) stays with that client."""
    return await anyio.to_thread.run_sync(lambda: anyio.run(_call_in_own_loop, replica, tool, args))


@dataclass
class Calls:
    """What the clients saw: acknowledged events, answered receipts, and the calls the killed replica's
    first process had (answered or not)."""

    acknowledged: list[str] = field(default_factory=list[str])
    receipts: dict[str, Decimal] = field(default_factory=dict[str, Decimal])  # receipt id -> cost
    on_killed: set[str] = field(default_factory=set[str])  # receipts the killed process answered
    routed_on_killed: int = 0  # routed calls sent to the killed process (answered or not)
    unanswered: int = 0  # routed calls no replica answered


async def _drive(replicas: list[Replica]) -> Calls:
    """Eight clients, ROUNDS rounds each; replica 2 is killed once a third of the events are in."""
    calls = Calls()
    victim = replicas[1]

    async def client(index: int) -> None:
        for n in range(ROUNDS):
            replica = replicas[(index + n) % len(replicas)]
            event = await _call(replica, "record_event", {"action": f"client {index} step {n}"})
            if event:
                calls.acknowledged.append(event["id"])
            first_process = replica is victim and victim.starts == 1
            routed = await _call(replica, "complete", {
                "prompt": f"hello {index}/{n}", "model": "claude-sonnet-4-6", "jurisdiction": "US",
                "data_class": "public", "max_tokens": 64,
            })  # fmt: skip
            calls.routed_on_killed += first_process
            calls.unanswered += routed is None
            if routed:
                calls.receipts[routed["receipt_id"]] = Decimal(str(routed["cost_usd"]))
                if first_process:
                    calls.on_killed.add(routed["receipt_id"])

    async def chaos() -> None:
        while len(calls.acknowledged) < CLIENTS * ROUNDS // 3:
            await anyio.sleep(0.01)
        await anyio.to_thread.run_sync(victim.kill)
        await anyio.sleep(0.5)
        await anyio.to_thread.run_sync(victim.start)

    async with anyio.create_task_group() as group:
        group.start_soon(chaos)
        for index in range(CLIENTS):
            group.start_soon(client, index)
    assert victim.starts == 2
    return calls


def _log(url: str) -> tuple[Counter[str], dict[str, dict[str, Any]], Counter[str], Decimal, Decimal]:
    """Event ids, intents (id -> body), outcomes per intent, the completions' cost, the ledger's spend."""
    with psycopg.connect(url) as db:
        ids = Counter(row[0] for row in db.execute("SELECT id FROM events").fetchall())
        intents = {
            row[0]: json.loads(row[1])
            for row in db.execute("SELECT id, body FROM events WHERE event_type = 'intent'").fetchall()
        }
        named = db.execute("SELECT intent_id FROM events WHERE intent_id IS NOT NULL").fetchall()
        outcomes = Counter(row[0] for row in named)
        costs = db.execute(
            "SELECT coalesce(sum(cost_usd::numeric), 0) FROM events WHERE event_type = 'completion' "
            "AND principal = 'http:router'"
        ).fetchone()
        spent = db.execute("SELECT spent FROM budget_totals WHERE scope = 'principal:http:router'").fetchone()
    assert costs is not None and spent is not None
    return ids, intents, outcomes, Decimal(costs[0]), Decimal(spent[0])


def _most(intent: dict[str, Any]) -> Decimal:
    """The most a call can have cost: the dearest candidate its plan would have tried."""
    return max(Decimal(str(c["max_cost_usd"])) for c in intent["details"]["candidates"])


async def test_three_replicas_one_killed_lose_nothing_and_never_overspend(
    replicas: list[Replica], postgres_url: str
) -> None:
    calls = await _drive(replicas)
    assert len(calls.acknowledged) > CLIENTS * ROUNDS // 2 and calls.receipts
    ids, intents, outcomes, completed, spent = _log(postgres_url)
    assert max(ids.values()) == 1 and all(ids[event_id] == 1 for event_id in calls.acknowledged)
    assert max(outcomes.values()) == 1  # no intent has two outcomes
    for receipt in calls.receipts:  # answered: its intent once, its outcome once (or lost by the kill)
        assert receipt in intents and (outcomes[receipt] == 1 or receipt in calls.on_killed), receipt
    unknown = {intent for intent in intents if not outcomes[intent]}
    assert len(unknown) <= calls.routed_on_killed  # only the killed process left calls unfinished
    store = open_store(load_settings())
    try:
        assert {e.id for e in await store.query(EventQuery(outcome_unknown=True))} == unknown
        online = await store.verify()
        assert online.ok and online.events_checked == sum(ids.values()), online.reason
        offline = verify_export([line async for line in store.export_lines()], await store.public_key_pem())
        assert offline.ok and offline.events_checked == online.events_checked
    finally:
        await store.aclose()
    # spend is the receipts': settled calls whose outcome was lost may add at most what they could cost
    lost = sum((calls.receipts[r] for r in unknown if r in calls.receipts), Decimal(0))
    assert completed + lost <= spent <= completed + sum((_most(intents[i]) for i in unknown), Decimal(0))
    assert spent <= LIMIT
    if not unknown:
        assert spent == completed
