"""The witness: the last verified head of each audit store, kept outside the store and its directory.

Signed heads cannot show that the newest events were deleted together with their heads, nor that the
WAL or the whole database was removed: what is left is a valid, shorter log. The witness remembers
how far the log reached when it was last verified (by `audit verify`, `verify_log`, or at server
start, where the latest head's signature is checked), and every verification then requires the log
to still hold that event with that hash. It is a small JSON file, 0600, at `POLYROUTE_AUDIT_WITNESS`
(default: the platform state dir), holding one entry per store:

    {"format": "polyroute-audit-witness/1",
     "stores": {"sqlite:////abs/audit.db": {"seq": N, "hash": "<hex>", "key_id": "ed25519:…",
                                           "verified_at": "<RFC 3339>"}}}

It only moves forward. docs/audit.md says what it does not protect against.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ValidationError

from polyroute.audit.chain import Anchor
from polyroute.audit.event import VerifyResult, format_time
from polyroute.audit.signing import head_signature_ok, load_signer
from polyroute.audit.store import AuditStore, sqlite_path
from polyroute.errors import ConfigError, PolyrouteError
from polyroute.settings import Settings

FORMAT = "polyroute-audit-witness/1"


class Witness(BaseModel):
    seq: int
    hash: str
    key_id: str
    verified_at: str


def store_name(settings: Settings) -> str:
    """How the witness names a store: a SQLite file by absolute path; another URL without its password."""
    url = settings.audit_url
    if url.split(":", 1)[0].lower() == "sqlite":
        return f"sqlite:///{sqlite_path(url).expanduser().resolve().as_posix()}"
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=f"{netloc}:{parts.port}" if parts.port else netloc))


def witness_path(settings: Settings) -> Path:
    """The witness file; refused inside the store's own directory, where whoever deletes one deletes both."""
    path = settings.audit_witness_file.expanduser()
    if settings.audit_url.split(":", 1)[0].lower() == "sqlite":
        store_dir = sqlite_path(settings.audit_url).expanduser().resolve().parent
        if path.resolve().parent == store_dir:
            raise ConfigError(
                f"the audit witness {path} is in the audit store's directory; set POLYROUTE_AUDIT_WITNESS "
                "to a file elsewhere (it must survive the store being deleted)"
            )
    return path


def _entries(path: Path) -> dict[str, Any]:
    """Every store's entry; a file that is not a witness is an error, never silently a fresh start."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the audit witness {path}: {error}") from None
    try:
        document: Any = json.loads(text)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict) or document.get("format") != FORMAT:  # pyright: ignore[reportUnknownMemberType]
        raise ConfigError(
            f"the audit witness {path} is not a Polyroute witness file; restore it, or move it away to "
            "trust the log as it is now"
        )
    stores: Any = cast(dict[str, Any], document).get("stores")
    return cast(dict[str, Any], stores) if isinstance(stores, dict) else {}


def read_witness(settings: Settings) -> Witness | None:
    path = witness_path(settings)
    entry = _entries(path).get(store_name(settings))
    if entry is None:
        return None
    try:
        return Witness.model_validate(entry)
    except ValidationError:
        raise ConfigError(
            f"the audit witness {path} holds a damaged entry for {store_name(settings)}"
        ) from None


@contextlib.contextmanager
def _locked(path: Path) -> Generator[None]:
    """Serialise read-modify-write of the witness between processes (where the OS offers flock)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def record_witness(settings: Settings, seq: int, hash_: str, key_id: str) -> None:
    """Remember that the log held `hash_` at `seq` under a valid head (only ever moves forward)."""
    path = witness_path(settings)
    with _locked(path):
        entries = _entries(path)
        name = store_name(settings)
        old: Any = entries.get(name)
        if isinstance(old, dict) and isinstance(old.get("seq"), int) and old["seq"] >= seq:  # pyright: ignore[reportUnknownMemberType]
            return
        stamp = format_time(datetime.now(UTC))
        entries[name] = {"seq": seq, "hash": hash_, "key_id": key_id, "verified_at": stamp}
        text = json.dumps({"format": FORMAT, "stores": entries}, indent=1, sort_keys=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except OSError as error:
            raise ConfigError(f"cannot write the audit witness {path}: {error.strerror}") from None
        finally:
            temporary.unlink(missing_ok=True)


def _anchor(settings: Settings, witness: Witness) -> Anchor:
    path = witness_path(settings)
    return Anchor(witness.seq, witness.hash, f"the witness {path} (verified {witness.verified_at})")


async def verify_store(
    store: AuditStore,
    settings: Settings,
    *,
    public_key: Ed25519PublicKey | None = None,
    anchor: tuple[int, str] | None = None,
) -> VerifyResult:
    """`store.verify` held to the witness as well as `anchor`; a pass moves the witness to the new head."""
    try:
        witness = read_witness(settings)
    except ConfigError as error:
        return VerifyResult(ok=False, events_checked=0, first_bad_seq=1, reason=str(error))
    anchors = [_anchor(settings, witness)] if witness else []
    result = await store.verify(public_key=public_key, anchor=anchor, anchors=anchors)
    if witness is not None:
        result.witness_seq, result.witness_hash = witness.seq, witness.hash
    if result.events_checked:
        from polyroute.audit.receipt import unresolved_ids

        result.outcome_unknown = len(await unresolved_ids(store))
    if result.ok and result.head_seq is not None and result.head_hash and result.key_id:
        record_witness(settings, result.head_seq, result.head_hash, result.key_id)
    return result


async def check_witness(store: AuditStore, settings: Settings) -> None:
    """At server start: the log must still hold the witnessed head (one lookup, not a full verify);
    then the witness moves to the latest head if its signature checks out with the local key."""
    witness = read_witness(settings)
    if witness is not None:
        held = await store.hash_at(witness.seq)
        if held != witness.hash:
            found = "has no such event" if held is None else f"holds hash {held[:16]}… there"
            raise PolyrouteError(
                f"the audit log no longer holds event {witness.seq} (hash {witness.hash[:16]}…) recorded "
                f"by the witness {witness_path(settings)} on {witness.verified_at}: the log {found}, so it "
                "was cut short, deleted or replaced. Run `polyroute audit verify`; if you restored the log "
                "on purpose, move the witness file away."
            )
    head = await store.latest_head()
    if head is None or (witness is not None and head.seq <= witness.seq):
        return
    signer = load_signer(settings, create=False)
    if signer is None or signer.key_id != head.key_id or not head_signature_ok(head, signer.public_key):
        return  # not ours to vouch for: `audit verify` will say what is wrong
    if await store.hash_at(head.seq) == head.hash:
        record_witness(settings, head.seq, head.hash, head.key_id)
