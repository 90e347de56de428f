"""Verification of a hash chain and its signed heads, shared by the store and by offline exports.

Every event is checked (sequence, link to the previous hash, its own hash). Heads are checked cheaply
on the way (each must name the recomputed hash at its sequence) and the latest head's signature is
verified: chain hashes are cumulative, so one valid signature over the last hash vouches for every
event before it. Only when something is wrong are other heads' signatures checked, to locate the
first event no valid head vouches for — which is how a consistently rewritten chain is pinned down.
Memory stays bounded however long the log: one head in `CHECKPOINT_EVERY` has its signature checked
on the way, and only the heads since the latest valid one are kept for locating a problem.

Which signatures are checked, exactly: on an intact log, the 256th, 512th, … head (in sequence order)
and the latest; when something is wrong, also those since the last good one, newest first, until a
valid one is found. `VerifyResult.signatures_checked` counts them. Every head, signed or not, must
name the recomputed hash at its sequence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from polyroute.audit.event import GENESIS_HASH, SignedHead, VerifyResult, body_hash
from polyroute.audit.signing import head_signature_ok


def _claims(body: str) -> tuple[Any, Any]:
    """The (seq, prev_hash) a body records; (None, None) if it is not a JSON object."""
    try:
        fields: Any = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(fields, dict):
        return None, None
    return fields.get("seq"), fields.get("prev_hash")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


CHECKPOINT_EVERY = 256


class Anchor(NamedTuple):
    """A (seq, hash) the log must still hold, kept from an earlier verification; `source` names it in
    a failure (an `--anchor` argument, the witness file)."""

    seq: int
    hash: str
    source: str = "the anchor"


def unverifiable_head(seq: int, hash_: object, key_id: object) -> SignedHead:
    """Stands in for a head whose fields do not even parse (a tampered row or export line).

    It keeps the hash it names (a wrong one still pins a rewrite) but no key verifies it, so the
    verdict is the same as for a forged signature: a failure at an event, never a crash.
    """
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return SignedHead(seq=seq, hash=str(hash_), key_id=str(key_id), signed_at=epoch, signature="")


class ChainVerifier:
    """Feed events in order and each head before or right after its event, then read `result()`."""

    def __init__(
        self,
        public_keys: Mapping[str, Ed25519PublicKey],
        *,
        anchor: tuple[int, str] | None = None,
        anchors: Sequence[Anchor] = (),
    ) -> None:
        """`anchor`/`anchors` are (seq, hash) pairs kept from earlier verifications: the log must still
        hold each, which also catches what signed heads alone cannot — the newest events cut off with
        their heads, or a whole log replaced by a shorter or re-signed one."""
        self._keys = dict(public_keys)
        self._anchors = [*([Anchor(*anchor)] if anchor else []), *anchors]
        self._anchored = {a.seq for a in self._anchors}
        self._held: dict[int, str] = {}  # the log's hash at each anchored seq
        self._signatures = 0
        self._pending: dict[int, list[SignedHead]] = {}
        self._checked = 0
        self._last_hash = GENESIS_HASH
        self._bad: tuple[int, str] | None = None
        self._heads = 0
        self._checkpoint: SignedHead | None = None  # latest head known to be validly signed
        self._since: list[SignedHead] = []  # heads after the checkpoint, in order
        self._bad_head: SignedHead | None = None  # first head naming a hash the chain does not have
        self._unsigned = False  # a checkpoint's signature failed: the culprit is within `_since`

    @property
    def failed(self) -> bool:
        return self._bad is not None

    def head(self, head: SignedHead) -> None:
        """Take a head before its event is fed or right after it; an older head is a ValueError."""
        if head.seq < 1 or head.seq < self._checked:
            raise ValueError(f"the head for event {head.seq} comes after later events")
        self._heads += 1
        if head.seq == self._checked:
            self._accept(head, self._last_hash)
        else:
            self._pending.setdefault(head.seq, []).append(head)

    def _accept(self, head: SignedHead, hash_at_seq: str) -> None:
        if self._bad_head is not None or self._unsigned:
            return  # the first problem is already pinned; later heads cannot move it
        if head.hash != hash_at_seq:
            self._bad_head = head
            return
        self._since.append(head)
        if len(self._since) >= CHECKPOINT_EVERY:
            if self._signed(head):
                self._checkpoint, self._since = head, []
            else:
                self._unsigned = True

    def event(self, seq: int, body: str, stored_hash: str, *, claims: tuple[Any, Any] | None = None) -> bool:
        """Check the next event; False once the chain is broken (later events are not checked).

        `claims` is the (seq, prev_hash) the body records, when the caller has already extracted them
        (SQLite can, faster than parsing the body again here).
        """
        if self._bad is not None:
            return False
        expected = self._checked + 1
        problem = self._problem(expected, seq, body, stored_hash, claims)
        if problem is not None:
            self._bad = (expected, problem)
            return False
        self._checked = expected
        self._last_hash = stored_hash
        if seq in self._anchored:
            self._held[seq] = stored_hash
        for head in self._pending.pop(seq, ()):
            self._accept(head, stored_hash)
        return True

    def _problem(
        self, expected: int, seq: int, body: str, stored_hash: str, claims: tuple[Any, Any] | None
    ) -> str | None:
        if seq != expected:
            return (
                f"event {expected} is missing (found {seq} next)"
                if seq > expected
                else f"event {seq} is out of order"
            )
        claimed_seq, claimed_prev = claims if claims is not None else _claims(body)
        if claimed_seq is None:
            return f"event {seq} is not a JSON object with a sequence number"
        if claimed_seq != seq:
            return f"event {seq} records sequence {claimed_seq!r}"
        if claimed_prev != self._last_hash:
            return f"event {seq} does not link to the hash of event {seq - 1}"
        if body_hash(body) != stored_hash:
            return f"event {seq} does not match its hash (its content was changed)"
        return None

    def result(self) -> VerifyResult:
        if self._bad is not None:
            return self._fail(*self._bad)
        if not self._heads:
            result = self._fail(1, "no signed head covers the log") if self._checked else self._ok()
        elif self._pending and self._bad_head is None and not self._unsigned:
            result = self._fail(
                self._checked + 1,
                f"a signed head covers event {max(self._pending)} but the log ends at {self._checked}: "
                "events were deleted",
            )
        else:
            result = self._check_heads()
        return self._anchor_failure() or result if result.ok else result

    def _anchor_failure(self) -> VerifyResult | None:
        """The first anchor the log no longer holds (the oldest, so the earliest damage), if any."""
        for anchor in sorted(self._anchors):
            held = self._held.get(anchor.seq)
            if held is None:
                reason = (
                    f"the log ends at event {self._checked} but {anchor.source} names event {anchor.seq} "
                    f"(hash {anchor.hash[:16]}…): events were deleted"
                )
                return self._fail(self._checked + 1, reason)
            if held != anchor.hash:
                return self._fail(anchor.seq, (
                    f"event {anchor.seq} does not have the hash {anchor.source} names ({anchor.hash[:16]}…; "
                    f"the log holds {held[:16]}…): the log was replaced or re-signed"
                ))  # fmt: skip
        return None

    def _check_heads(self) -> VerifyResult:
        if self._bad_head is not None:
            good = next((h for h in reversed(self._since) if self._signed(h)), self._checkpoint)
            return self._fail(
                good.seq + 1 if good else 1,
                f"the signed head at event {self._bad_head.seq} names another hash: the chain was rewritten",
            )
        last = self._since[-1] if self._since else self._checkpoint
        assert last is not None
        if self._unsigned or (self._since and not self._signed(last)):
            return self._first_unsigned()
        if last.seq < self._checked:
            return self._fail(last.seq + 1, f"events after {last.seq} are not covered by a signed head")
        return self._ok(last)

    def _first_unsigned(self) -> VerifyResult:
        """The first head after the checkpoint without a valid signature, and where it leaves off."""
        previous = self._checkpoint
        for head in self._since:
            if not self._signed(head):
                return self._fail(previous.seq + 1 if previous else 1, self._unsigned_reason(head))
            previous = head
        raise AssertionError("a head failed its signature check and then passed it")

    def _unsigned_reason(self, head: SignedHead) -> str:
        if head.key_id in self._keys:
            return f"the head at event {head.seq} has no valid signature by a trusted key ({head.key_id})"
        if not self._keys:
            return (
                f"no public key to check the head at event {head.seq} with ({head.key_id} signed it): "
                "the local signing key is missing; verify with the public key the log was written with"
            )
        trusted = ", ".join(sorted(self._keys))
        return (
            f"the head at event {head.seq} names key {head.key_id}, not a trusted key ({trusted}): "
            "a different key signed this log, or the wrong public key was given"
        )

    def _signed(self, head: SignedHead) -> bool:
        key = self._keys.get(head.key_id)
        if key is None:
            return False
        self._signatures += 1
        return head_signature_ok(head, key)

    def _ok(self, head: SignedHead | None = None) -> VerifyResult:
        return VerifyResult(
            ok=True,
            events_checked=self._checked,
            first_bad_seq=None,
            heads_checked=self._heads,
            signatures_checked=self._signatures,
            head_seq=head.seq if head else None,
            head_hash=head.hash if head else None,
            key_id=head.key_id if head else None,
        )

    def _fail(self, seq: int, reason: str) -> VerifyResult:
        return VerifyResult(
            ok=False,
            events_checked=self._checked,
            first_bad_seq=seq,
            reason=reason,
            heads_checked=self._heads,
            signatures_checked=self._signatures,
        )
