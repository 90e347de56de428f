"""Append-only, hash-chained, Ed25519-signed audit log.

    event.py       events, queries, results and the canonical encoding that is hashed
    signing.py     the signing key (0600 file or opt-in keyring), key ids, signed heads
    digest.py      keyed digests of prompt / completion text
    chain.py       verification of a chain and its heads (store and export alike)
    export.py      the JSONL export format and `verify_export`
    store.py       the `AuditStore` protocol and `open_store`
    sqlite.py      `SqliteAuditStore`; writer.py its group-commit thread; transaction.py one commit;
                   query.py its SQL; retention.py when both writers purge stored text;
    migrations.py  its schema, as an ordered list of migrations

docs/audit.md describes the encoding, the chain and how a third party verifies an export.
"""

from __future__ import annotations

from polyroute.audit.digest import content_digest
from polyroute.audit.event import (
    GENESIS_HASH,
    AuditEvent,
    EventContent,
    EventDraft,
    EventQuery,
    EventType,
    GroupBy,
    SignedHead,
    UsageSummary,
    VerifyResult,
    canonical_json,
)
from polyroute.audit.export import verify_export
from polyroute.audit.signing import key_id_of, parse_public_key
from polyroute.audit.store import AuditStore, open_store

__all__ = [
    "AuditEvent",
    "AuditStore",
    "EventContent",
    "EventDraft",
    "EventQuery",
    "EventType",
    "GENESIS_HASH",
    "GroupBy",
    "SignedHead",
    "UsageSummary",
    "VerifyResult",
    "canonical_json",
    "content_digest",
    "key_id_of",
    "open_store",
    "parse_public_key",
    "verify_export",
]
