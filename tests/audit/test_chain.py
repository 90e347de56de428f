"""The verifier on long synthetic chains: heads past several checkpoints, located failures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from polyroute.audit.chain import CHECKPOINT_EVERY, ChainVerifier
from polyroute.audit.event import GENESIS_HASH, SignedHead, VerifyResult, body_hash, event_body
from polyroute.audit.signing import Signer

SIGNER = Signer.of(Ed25519PrivateKey.generate())
KEYS = {SIGNER.key_id: SIGNER.public_key}
COUNT = 3 * CHECKPOINT_EVERY + 100
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def chain(count: int = COUNT, *, changed_at: int | None = None) -> list[tuple[int, str, str]]:
    """(seq, body, hash) for `count` events; from `changed_at` on, one field differs (hashes consistent)."""
    events: list[tuple[int, str, str]] = []
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        principal = "mallory" if changed_at is not None and seq == changed_at else f"user-{seq % 5}"
        body = event_body({"seq": seq, "prev_hash": prev, "principal": principal, "event_type": "external"})
        prev = body_hash(body)
        events.append((seq, body, prev))
    return events


def heads_for(events: list[tuple[int, str, str]], every: int = 1) -> dict[int, SignedHead]:
    return {
        seq: SIGNER.sign_head(seq, hash_, NOW)
        for seq, _, hash_ in events
        if seq % every == 0 or seq == len(events)
    }


def run(events: list[tuple[int, str, str]], heads: dict[int, SignedHead], keys: dict = KEYS) -> VerifyResult:  # type: ignore[type-arg]
    verifier = ChainVerifier(keys)
    for seq, body, hash_ in events:
        verifier.event(seq, body, hash_)
        if seq in heads:
            verifier.head(heads[seq])
    return verifier.result()


def test_a_long_intact_chain_verifies() -> None:
    events = chain()
    result = run(events, heads_for(events))
    assert (result.ok, result.events_checked, result.heads_checked, result.head_seq) == (
        True,
        COUNT,
        COUNT,
        COUNT,
    )


def test_a_consistent_rewrite_past_several_checkpoints_is_located() -> None:
    original = chain()
    heads = heads_for(original)
    assert run(chain(changed_at=700), heads).first_bad_seq == 700


def test_a_rewrite_with_heads_repointed_but_not_re_signed_is_located() -> None:
    original, forged = chain(), chain(changed_at=700)
    heads = heads_for(original)
    for seq, _, hash_ in forged[699:]:
        heads[seq] = heads[seq].model_copy(update={"hash": hash_})  # old signature, new hash
    result = run(forged, heads)
    assert (result.ok, result.first_bad_seq) == (False, 700)
    assert "signature" in (result.reason or "")


@pytest.mark.parametrize(("every", "expected"), [(10, 701), (CHECKPOINT_EVERY, 2 * CHECKPOINT_EVERY + 1)])
def test_sparse_heads_locate_to_the_commit(every: int, expected: int) -> None:
    original = chain()
    assert run(chain(changed_at=705), heads_for(original, every)).first_bad_seq == expected


def test_a_wrong_key_fails_at_the_first_event() -> None:
    events = chain()
    other = Signer.of(Ed25519PrivateKey.generate())
    result = run(events, heads_for(events), {other.key_id: other.public_key})
    assert (result.ok, result.first_bad_seq) == (False, 1)


def test_heads_may_arrive_before_their_events_but_not_after_later_ones() -> None:
    events = chain(5)
    heads = heads_for(events)
    verifier = ChainVerifier(KEYS)
    for head in heads.values():
        verifier.head(head)
    for seq, body, hash_ in events:
        verifier.event(seq, body, hash_)
    assert verifier.result().ok
    with pytest.raises(ValueError, match="after later events"):
        verifier.head(heads[2])


def test_exactly_the_checkpoint_heads_and_the_latest_have_their_signatures_checked() -> None:
    """What docs/audit.md promises: the 256th, 512th, 768th head and the latest, on an intact log."""
    events = chain()
    result = run(events, heads_for(events))
    assert result.ok and result.signatures_checked == COUNT // CHECKPOINT_EVERY + 1 == 4
