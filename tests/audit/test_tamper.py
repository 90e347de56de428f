"""Tampering with the store file or an export is caught, and verify names the first bad event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from audit_helpers import draft, fill, rewrite_from, tamper
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from polyroute.audit import AuditStore, verify_export
from polyroute.audit.signing import key_id_of
from polyroute.errors import PolyrouteError
from polyroute.settings import Settings

pytestmark = pytest.mark.anyio


async def test_changing_one_field_of_a_middle_event_names_it(store: AuditStore, settings: Settings) -> None:
    await fill(store, 10)
    tamper(settings, ("UPDATE events SET body = replace(body, '\"allowed\":true', '\"allowed\":false') "
                      "WHERE seq = 5", ()))  # fmt: skip
    result = await store.verify()
    assert (result.ok, result.first_bad_seq, result.events_checked) == (False, 5, 4)
    assert "changed" in (result.reason or "")


async def test_a_changed_field_also_changes_what_queries_see(store: AuditStore, settings: Settings) -> None:
    """Queries read the hashed body itself: a tampered value is never silently served as verified."""
    await fill(store, 3)
    tamper(settings, ("UPDATE events SET body = replace(body, 'user-1', 'user-9') WHERE seq = 2", ()))
    assert [e.seq for e in await store.query()] == [3, 2, 1]
    assert (await store.query())[1].principal == "user-9"
    assert (await store.verify()).first_bad_seq == 2


async def test_deleting_a_middle_row(store: AuditStore, settings: Settings) -> None:
    await fill(store, 10)
    tamper(settings, ("DELETE FROM events WHERE seq = 6", ()))
    result = await store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert "missing" in (result.reason or "")


async def test_deleting_the_newest_rows_is_caught_by_the_signed_heads(
    store: AuditStore, settings: Settings
) -> None:
    await fill(store, 10)
    tamper(settings, ("DELETE FROM events WHERE seq > 8", ()))
    result = await store.verify()
    assert (result.ok, result.first_bad_seq, result.events_checked) == (False, 9, 8)
    assert "deleted" in (result.reason or "")
    assert "covers event 10 " in (result.reason or "")  # how far the log reached, as offline says


async def test_reordering_rows(store: AuditStore, settings: Settings) -> None:
    await fill(store, 10)
    tamper(
        settings,
        ("UPDATE events SET seq = -seq WHERE seq IN (4, 5)", ()),
        ("UPDATE events SET seq = 5 WHERE seq = -4", ()),
        ("UPDATE events SET seq = 4 WHERE seq = -5", ()),
    )
    result = await store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 4)


async def test_a_wrong_key_fails_from_the_first_event(store: AuditStore) -> None:
    await fill(store, 3)
    result = await store.verify(public_key=Ed25519PrivateKey.generate().public_key())
    assert (result.ok, result.first_bad_seq) == (False, 1)
    assert "trusted key" in (result.reason or "")


async def test_a_missing_key_fails_closed(store: AuditStore, settings: Settings) -> None:
    await fill(store, 2)
    settings.audit_key_file.unlink()
    result = await store.verify()
    assert not result.ok
    assert "signing key is missing" in (result.reason or "")


@pytest.mark.parametrize("rewrite_heads", [False, True])
async def test_a_consistently_rewritten_chain_is_located_by_the_heads(
    store: AuditStore, settings: Settings, rewrite_heads: bool
) -> None:
    await fill(store, 10)  # sequential appends: one signed head per event

    def change(fields: dict[str, Any]) -> None:
        fields["cost_usd"] = "0"

    rewrite_from(settings, 6, change)
    if rewrite_heads:  # the attacker also points the heads at the new hashes, but cannot re-sign them
        tamper(
            settings, ("UPDATE heads SET hash = (SELECT hash FROM events WHERE events.seq = heads.seq)", ())
        )
    result = await store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert result.events_checked == 10  # the chain itself is consistent; only the heads expose it


async def test_events_beyond_the_last_signed_head(store: AuditStore, settings: Settings) -> None:
    await fill(store, 4)
    rewrite_from(settings, 4, lambda fields: None)  # no change: the chain stays valid
    tamper(settings, ("DELETE FROM heads WHERE seq = 4", ()))
    result = await store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "not covered" in (result.reason or "")


async def test_deleting_every_head(store: AuditStore, settings: Settings) -> None:
    await fill(store, 3)
    tamper(settings, ("DELETE FROM heads", ()))
    result = await store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 1)


async def test_a_corrupt_body_is_reported_not_crashed_on(store: AuditStore, settings: Settings) -> None:
    await fill(store, 3)
    # SQLite itself refuses malformed JSON here (the generated columns are indexed); a bare array passes
    tamper(settings, ("UPDATE events SET body = '[2]' WHERE seq = 2", ()))
    result = await store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 2)
    with pytest.raises(PolyrouteError, match="audit verify"):
        await store.query()


async def test_a_body_that_is_not_even_json(store: AuditStore, settings: Settings) -> None:
    """Rebuilt without generated columns, the table takes any text; verify then parses in Python."""
    await fill(store, 3)
    tamper(
        settings,
        ("ALTER TABLE events RENAME TO original", ()),
        ("CREATE TABLE events (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, body TEXT NOT NULL)", ()),
        ("INSERT INTO events SELECT seq, hash, body FROM original", ()),
        ("UPDATE events SET body = '{x' WHERE seq = 3", ()),
    )
    result = await store.verify()
    assert (result.ok, result.first_bad_seq, result.events_checked) == (False, 3, 2)


async def _export(store: AuditStore) -> list[str]:
    return [line async for line in store.export_lines()]


async def test_an_export_verifies_offline_with_only_the_public_key(store: AuditStore) -> None:
    await fill(store, 6)
    lines = await _export(store)
    pem = await store.public_key_pem()
    result = verify_export(lines, pem)
    assert (result.ok, result.events_checked, result.head_seq) == (True, 6, 6)
    assert verify_export([], pem).ok


def _edit_event(lines: list[str], seq: int, **changes: Any) -> list[str]:
    edited: list[str] = []
    for line in lines:
        record = json.loads(line)
        if record["type"] == "event" and record["event"]["seq"] == seq:
            record["event"].update(changes)
            line = json.dumps(record)
        edited.append(line)
    return edited


async def test_tampered_exports(store: AuditStore) -> None:
    await fill(store, 6)
    lines, pem = await _export(store), await store.public_key_pem()
    assert verify_export(_edit_event(lines, 3, principal="mallory"), pem).first_bad_seq == 3
    events = [line for line in lines if '"type":"event"' in line]
    without_4 = [line for line in lines if line != events[3]]
    assert verify_export(without_4, pem).first_bad_seq == 4
    without_last_event = [line for line in lines if line != events[-1]]
    assert verify_export(without_last_event, pem).first_bad_seq == 6
    other = Ed25519PrivateKey.generate().public_key()
    assert verify_export(lines, other).first_bad_seq == 1
    pretty = [json.dumps(json.loads(line), indent=1).replace("\n", " ") for line in lines]
    assert verify_export(pretty, pem).ok  # re-encoded canonically when the framing is not ours
    garbage = verify_export([*lines[:3], "not json", *lines[3:]], pem)
    assert not garbage.ok and "line 4" in (garbage.reason or "")


async def test_an_export_of_a_tampered_store_carries_the_evidence(
    store: AuditStore, settings: Settings
) -> None:
    await fill(store, 5)
    tamper(settings, ("DELETE FROM heads", ()), ("DELETE FROM events WHERE seq = 3", ()))
    lines = await _export(store)
    assert len(lines) == 4  # every remaining event is exported, headless
    result = verify_export(lines, await store.public_key_pem())
    assert (result.ok, result.first_bad_seq) == (False, 3)


async def test_an_anchor_catches_newest_events_cut_off_with_their_heads(
    store: AuditStore, settings: Settings
) -> None:
    await fill(store, 6)
    earlier = await store.verify()
    assert earlier.head_seq == 6 and earlier.head_hash
    anchor = (earlier.head_seq, earlier.head_hash)
    await fill(store, 2)
    assert (await store.verify(anchor=anchor)).ok  # growth is fine
    tamper(settings, ("DELETE FROM events WHERE seq > 4", ()), ("DELETE FROM heads WHERE seq > 4", ()))
    assert (await store.verify()).ok  # without an anchor a cleanly cut log looks whole
    result = await store.verify(anchor=anchor)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "deleted" in (result.reason or "")
    lines = await _export(store)
    assert verify_export(lines, await store.public_key_pem(), anchor=anchor).first_bad_seq == 5


async def test_an_anchor_with_another_hash_fails_at_its_event(store: AuditStore) -> None:
    await fill(store, 3)
    result = await store.verify(anchor=(2, "0" * 64))
    assert (result.ok, result.first_bad_seq) == (False, 2)


@pytest.mark.parametrize(
    ("sql", "first_bad"),
    [
        ("UPDATE heads SET signed_at = 'not a time' WHERE seq = 6", 6),  # the latest head
        ("UPDATE heads SET signed_at = '2026-11-25T09:30:00' WHERE seq = 6", 6),  # no time zone
        ("UPDATE heads SET signed_at = 'x', hash = 'zz' WHERE seq = 3", 3),
        ("UPDATE heads SET hash = x'00ff' WHERE seq = 4", 4),
    ],
)
async def test_a_mangled_head_row_fails_verification_at_its_event(
    store: AuditStore, settings: Settings, sql: str, first_bad: int
) -> None:
    """Not an 'unreadable store' error: verify and export still run, and both name the same event."""
    await fill(store, 6)
    tamper(settings, (sql, ()))
    result = await store.verify()
    assert (result.ok, result.first_bad_seq) == (False, first_bad)
    offline = verify_export(await _export(store), await store.public_key_pem())
    assert (offline.ok, offline.first_bad_seq) == (False, first_bad)


async def test_a_wrong_key_is_named_as_such(store: AuditStore) -> None:
    await fill(store, 2)
    other = Ed25519PrivateKey.generate().public_key()
    reason = (await store.verify(public_key=other)).reason or ""
    assert await store.key_id() in reason and key_id_of(other) in reason
    assert "wrong public key" in reason


async def test_appending_after_the_newest_events_were_cut_fails_closed(
    store: AuditStore, settings: Settings
) -> None:
    """Their signed head still exists, so the store refuses to sign a second head for that seq."""
    await fill(store, 3)
    tamper(settings, ("DELETE FROM events WHERE seq = 3", ()))
    with pytest.raises(PolyrouteError, match="audit verify"):
        await store.append(draft())
    assert (await store.verify()).first_bad_seq == 3
