"""The store side of intents and outcomes, for every backend: queued appends, outcome-unknown queries,
and the lookups the witness check uses."""

from __future__ import annotations

import pytest
from audit_helpers import draft

from polyroute.audit import AuditStore, EventDraft, EventQuery, open_store
from polyroute.audit.digest import digest_secret_file
from polyroute.errors import PolyrouteError
from polyroute.settings import Settings

pytestmark = pytest.mark.anyio


def intent(n: int) -> EventDraft:
    return draft(n, event_type="intent", usage=None, cost_usd=None,
                 details={"candidates": [{"deployment": "a"}, {"deployment": "b"}]})  # fmt: skip


async def test_a_queued_append_is_readable_at_once_and_chained_after_the_intent(store: AuditStore) -> None:
    planned = await store.append(intent(1))
    outcome_id = store.append_later(draft(1, intent_id=planned.id, intent_seq=planned.seq))
    outcome = await store.get(outcome_id)  # reads wait for what this store object queued
    assert outcome is not None and outcome.seq == planned.seq + 1 and outcome.intent_id == planned.id
    assert [e.id for e in await store.query(EventQuery(intent_id=planned.id))] == [outcome_id]
    assert (await store.verify()).ok


async def test_closing_the_store_commits_what_was_queued(store: AuditStore, settings: Settings) -> None:
    ids = [store.append_later(draft(n)) for n in range(5)]
    await store.aclose()
    again = open_store(settings)
    try:
        assert [e.id for e in await again.tail(10)] == ids
    finally:
        await again.aclose()


async def test_intents_without_outcome_are_found_and_counted_apart(store: AuditStore) -> None:
    lost = await store.append(intent(0))
    done = await store.append(intent(0))
    await store.append(draft(0, intent_id=done.id, intent_seq=done.seq))
    unknown = await store.query(EventQuery(outcome_unknown=True))
    assert [e.id for e in unknown] == [lost.id]
    (row,) = await store.summarize("principal")
    assert (row.events, row.outcome_unknown, row.input_tokens) == (1, 1, 100)


async def test_hash_at_and_latest_head(store: AuditStore) -> None:
    assert await store.hash_at(1) is None and await store.latest_head() is None
    first = await store.append(draft(1))
    second = await store.append(draft(2))
    assert await store.hash_at(1) == first.hash and await store.hash_at(3) is None
    head = await store.latest_head()
    assert head is not None and (head.seq, head.hash) == (2, second.hash)


async def test_ready_refuses_while_the_digest_secret_is_unusable(
    store: AuditStore, settings: Settings
) -> None:
    """Every receipt holds keyed digests: no secret, no receipt, so no call may start."""
    secret = digest_secret_file(settings)
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(b"short")
    secret.chmod(0o644)  # readable by others: refused, never used
    with pytest.raises(PolyrouteError, match="audit digest secret"):
        await store.ready()
    secret.chmod(0o600)  # now private, but 5 bytes, not 32
    with pytest.raises(PolyrouteError, match="holds 5 bytes"):
        await store.ready()


async def test_the_acknowledgement_names_the_event_as_stored(store: AuditStore) -> None:
    """`append_ack` (the routed call's intent) answers id, seq and hash without parsing the event back."""
    first = await store.append_ack(intent(1))
    second = await store.append_ack(intent(2))
    stored = await store.get(second.id)
    assert stored is not None and (stored.seq, stored.hash) == (first.seq + 1, second.hash)
    assert second.event() == stored


async def test_a_queued_append_is_committed_soon_without_any_read_or_further_append(
    store: AuditStore, settings: Settings
) -> None:
    """Queued appends do not wake the writer; the linger timer does, so nothing waits for a next call."""
    import anyio

    queued = store.append_later(draft(1))
    await anyio.sleep(0.3)  # many times the 5 ms linger, and no read that would flush it
    other = open_store(settings)  # another store object: it does not wait for what this one queued
    try:
        assert [e.id for e in await other.tail(5)] == [queued]
    finally:
        await other.aclose()
