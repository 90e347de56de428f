"""The JSONL export format and its offline verification.

One JSON object per line, in sequence order, each head right after the event it covers:

    {"type":"event","hash":"<hex>","event":{...canonical fields...}}
    {"type":"head","seq":N,"hash":"<hex>","key_id":"ed25519:…","signed_at":"…","signature":"<base64>"}

A verifier needs only these lines and the public key: it re-encodes each `event` object canonically
(the encoding round-trips exactly), recomputes the chain and checks the signed heads.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from polyroute.audit.chain import Anchor, ChainVerifier, unverifiable_head
from polyroute.audit.event import SignedHead, VerifyResult, body_hash, canonical_json, format_time
from polyroute.audit.signing import key_id_of, parse_public_key

EXPORT_FORMAT = "polyroute-audit-export/1"


def event_line(body: str, hash_: str) -> str:
    """An event line; `body` is already canonical JSON, embedded as is."""
    return f'{{"type":"event","hash":"{hash_}","event":{body}}}'


async def write_lines(lines: AsyncIterator[str], write: Callable[[str], Any]) -> int:
    """Write every export line (with its newline) through `write`; returns the number of lines."""
    count = 0
    async for line in lines:
        write(line + "\n")
        count += 1
    return count


def head_line(head: SignedHead) -> str:
    fields = {
        "type": "head",
        "seq": head.seq,
        "hash": head.hash,
        "key_id": head.key_id,
        "signed_at": format_time(head.signed_at),
        "signature": head.signature,
    }
    return canonical_json(fields)


def _keys(
    public_key: Ed25519PublicKey | str | bytes | Sequence[Ed25519PublicKey],
) -> dict[str, Ed25519PublicKey]:
    if isinstance(public_key, str | bytes):
        public_key = parse_public_key(public_key)
    keys = [public_key] if isinstance(public_key, Ed25519PublicKey) else list(public_key)
    return {key_id_of(key): key for key in keys}


def verify_export(
    lines: Iterable[str],
    public_key: Ed25519PublicKey | str | bytes | Sequence[Ed25519PublicKey],
    *,
    anchor: tuple[int, str] | None = None,
    anchors: Sequence[Anchor] = (),
) -> VerifyResult:
    """Verify an export offline with only the trusted public key(s) (PEM text or key objects), and
    optionally anchors (seq, hash) from earlier verifications that it must still hold."""
    verifier = ChainVerifier(_keys(public_key), anchor=anchor, anchors=anchors)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            problem = _feed(verifier, line)
        except UnicodeError:
            problem = "not UTF-8 text"
        except (ValueError, TypeError, RecursionError, OverflowError) as error:  # hostile: NaN, depth…
            problem = f"cannot be read as an export line ({type(error).__name__})"
        if problem is not None:
            result = verifier.result()
            seq = result.first_bad_seq if verifier.failed else result.events_checked + 1
            return VerifyResult(
                ok=False,
                events_checked=result.events_checked,
                first_bad_seq=seq,
                reason=f"line {number}: {problem}",
                heads_checked=result.heads_checked,
            )
        if verifier.failed:
            break
    return verifier.result()


_PREFIX, _MIDDLE = '{"type":"event","hash":"', '","event":'
_BODY_AT = len(_PREFIX) + 64 + len(_MIDDLE)


def _framed_event(line: str) -> tuple[str, str, dict[str, Any]] | None:
    """(hash, body text, fields) of an event line exactly as `event_line` frames it, else None.

    Hashing the body text as it stands saves re-encoding it; any other framing takes the slow path.
    """
    text = line.rstrip("\r\n")
    if not (
        text.startswith(_PREFIX)
        and text[_BODY_AT - len(_MIDDLE) : _BODY_AT] == _MIDDLE
        and text.endswith("}")
    ):
        return None
    raw = text[_BODY_AT:-1]
    try:
        fields: Any = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    return text[len(_PREFIX) : len(_PREFIX) + 64], raw, cast(dict[str, Any], fields)


def _feed_event(verifier: ChainVerifier, event: dict[str, Any], hash_: str, raw: str | None) -> str | None:
    seq = event.get("seq")
    if not isinstance(seq, int):
        return "an event without its seq"
    body = raw if raw is not None and body_hash(raw) == hash_ else canonical_json(event)
    verifier.event(seq, body, hash_, claims=(seq, event.get("prev_hash")))
    return None


def _feed(verifier: ChainVerifier, line: str) -> str | None:
    """Give one line to the verifier; a problem with the line itself (not the chain) as text."""
    framed = _framed_event(line)
    if framed is not None:
        return _feed_event(verifier, framed[2], framed[0], framed[1])
    try:
        record: Any = json.loads(line)
    except ValueError:
        return "not valid JSON"
    if not isinstance(record, dict):
        return "not a JSON object"
    kind = record.get("type")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if kind == "event":
        event = record.get("event")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        if not isinstance(event, dict):
            return "an event line without an event object"
        return _feed_event(verifier, event, str(record.get("hash")), None)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    if kind == "head":
        return _feed_head(verifier, cast(dict[str, Any], record))
    return f"unknown line type {kind!r}"


def _feed_head(verifier: ChainVerifier, record: dict[str, Any]) -> str | None:
    """A head whose fields do not parse still counts, as one that no key verifies (as in the store)."""
    try:
        head = SignedHead.model_validate(record)
    except ValidationError:
        seq = record.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            return "a signed head without its seq"
        head = unverifiable_head(seq, record.get("hash"), record.get("key_id"))
    try:
        verifier.head(head)
    except ValueError:
        return "a signed head placed after the event it covers should be"
    return None
