"""The bytes a head signature covers are a published format: `stamped_head_message` writes them directly
(the writer thread signs once per commit), and must stay byte-identical to the canonical JSON that
heads were signed over before, so that old logs and new ones verify with either verifier."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
from audit_helpers import fill
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from polyroute.audit import open_store
from polyroute.audit.event import SignedHead, canonical_json, format_time
from polyroute.audit.signing import (
    HEAD_FORMAT,
    Signer,
    head_message,
    head_signature_ok,
    load_signer,
    stamped_head_message,
)
from polyroute.settings import Settings
from polyroute_servers.cli import main

SIGNER = Signer.of(Ed25519PrivateKey.generate())


def reference_message(seq: Any, hash_: Any, key_id: Any, stamp: Any) -> bytes:
    """The message as heads were signed before it was written directly: canonical JSON of the fields."""
    fields = {"format": HEAD_FORMAT, "seq": seq, "hash": hash_, "key_id": key_id, "signed_at": stamp}
    return canonical_json(fields).encode()


def reference_sign_stamped(self: Signer, seq: int, hash_: str, stamp: str) -> str:
    """`Signer.sign_stamped` as the code before it signed: through the canonical encoder."""
    return base64.b64encode(self.private_key.sign(reference_message(seq, hash_, self.key_id, stamp))).decode()


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(min_value=-(2**70), max_value=2**70), hash_=st.text(), key_id=st.text(), stamp=st.text()
)
def test_the_message_is_the_canonical_json_of_the_head(seq: int, hash_: str, key_id: str, stamp: str) -> None:
    assert stamped_head_message(seq, hash_, key_id, stamp) == reference_message(seq, hash_, key_id, stamp)


def test_escapes_and_unusual_values_match_too() -> None:
    for text in ('quote " back \\ slash', "tab\tnewline\n\x00\x1f", "é → ✓ \u2028\u2029 😀", ""):
        assert stamped_head_message(1, text, text, text) == reference_message(1, text, text, text)
    for seq in (True, 2.5, None):  # not what a writer passes: the canonical encoder answers for them
        assert stamped_head_message(seq, "h", "k", "t") == reference_message(seq, "h", "k", "t")  # type: ignore[arg-type]
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate fails as the canonical encoding did
        stamped_head_message(1, "\ud800", "k", "t")


def test_the_pinned_message() -> None:
    moment = datetime(2026, 12, 4, 23, 59, 59, 123456, tzinfo=UTC)
    assert head_message(7, "ab" * 32, "ed25519:" + "0" * 32, moment) == (
        '{"format":"polyroute-audit-head/1","hash":"' + "ab" * 32 + '","key_id":"ed25519:' + "0" * 32
        + '","seq":7,"signed_at":"2026-12-04T23:59:59.123456Z"}'
    ).encode()  # fmt: skip


def test_heads_signed_either_way_verify_with_either_verifier() -> None:
    moment = datetime.now(UTC)
    stamp = format_time(moment)
    new = SIGNER.sign_stamped(9, "cd" * 32, stamp)
    old = reference_sign_stamped(SIGNER, 9, "cd" * 32, stamp)
    assert new == old  # Ed25519 is deterministic: same message, same signature
    head = SignedHead(seq=9, hash="cd" * 32, key_id=SIGNER.key_id, signed_at=moment, signature=new)
    assert head_signature_ok(head, SIGNER.public_key)  # today's verifier
    assert SIGNER.sign_head(9, "cd" * 32, moment) == head
    SIGNER.public_key.verify(base64.b64decode(new), reference_message(9, "cd" * 32, SIGNER.key_id, stamp))


def _heads(lines: list[str]) -> list[SignedHead]:
    heads: list[SignedHead] = []
    for line in lines:
        fields = json.loads(line)
        if fields.pop("type") == "head":
            heads.append(SignedHead.model_validate(fields))
    return heads


def test_a_log_written_before_and_after_verifies(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Heads committed by the former signing path, then by today's, in one log (either backend)."""

    async def write(count: int) -> list[str]:
        store = open_store(settings)
        try:
            await fill(store, count)
            return [line async for line in store.export_lines()]
        finally:
            await store.aclose()

    with monkeypatch.context() as patched:
        patched.setattr(Signer, "sign_stamped", reference_sign_stamped)
        anyio.run(write, 3)
    heads = _heads(anyio.run(write, 3))
    assert len(heads) == 6
    signer = load_signer(settings, create=False)
    assert signer is not None
    public: Ed25519PublicKey = signer.public_key
    for head in heads:
        assert head_signature_ok(head, public)
        stamp = format_time(head.signed_at)
        public.verify(
            base64.b64decode(head.signature), reference_message(head.seq, head.hash, head.key_id, stamp)
        )
    assert main(["audit", "verify", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] and document["events_checked"] == 6 and document["heads_checked"] == 6
