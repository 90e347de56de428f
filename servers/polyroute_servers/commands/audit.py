"""`polyroute audit {verify|export|tail|pubkey|summarize}`: check, copy out and read the audit log
(`summarize` lives in `audit_summary`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from polyroute_servers.commands import Subparsers, audit_summary
from polyroute_servers.output import print_json, print_table, usd

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from polyroute.app import App
    from polyroute.audit import AuditEvent, VerifyResult
    from polyroute.audit.receipt import UnknownOutcome

T = TypeVar("T")


def register(subparsers: Subparsers) -> None:
    audit = subparsers.add_parser("audit", help="verify, export and read the audit log")
    actions = audit.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="recompute the hash chain and check the signed heads")
    verify.add_argument(
        "--file", type=Path, help="verify this JSONL export (- for stdin) instead of the store"
    )
    verify.add_argument("--public-key", type=Path, help="PEM file of the trusted public key (`audit pubkey`)")
    verify.add_argument(
        "--anchor",
        metavar="SEQ:HASH",
        help="head_seq:head_hash from an earlier verify; the log must still hold it",
    )
    verify.add_argument("--json", action="store_true", help="one JSON document")
    verify.set_defaults(handler=run_verify)
    export = actions.add_parser("export", help="write the log and its signed heads as JSONL")
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")
    export.set_defaults(handler=run_export)
    tail = actions.add_parser("tail", help="the most recent events")
    tail.add_argument("-n", type=int, default=20, help="how many events (default 20)")
    tail.add_argument("--json", action="store_true", help="one JSON document")
    tail.set_defaults(handler=run_tail)
    pubkey = actions.add_parser("pubkey", help="print the public key that verifies this log (PEM)")
    pubkey.add_argument("--json", action="store_true", help="one JSON document")
    pubkey.set_defaults(handler=run_pubkey)
    audit_summary.register(actions)


def run_closing(app: App, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` on an event loop, closing the store (and its writer thread) afterwards."""

    async def main() -> T:
        try:
            return await work()
        finally:
            await app.aclose()

    return anyio.run(main)


def _read_text(path: Path, what: str) -> str:
    from polyroute.errors import ConfigError

    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read {what} {path}: {reason}") from None


def _export_lines(path: Path) -> Iterator[str]:
    """The export's lines; bytes that are not UTF-8 are kept as lone surrogates, which the verifier
    reports as a bad line (in the output format asked for) rather than a read error."""
    if str(path) == "-":
        for raw in sys.stdin.buffer:
            yield raw.decode("utf-8", "surrogateescape")
        return
    from polyroute.errors import ConfigError

    try:
        with path.open(encoding="utf-8", errors="surrogateescape") as handle:
            yield from handle
    except OSError as error:
        raise ConfigError(f"cannot read export {path}: {error.strerror}") from None


def run_verify(app: App, args: argparse.Namespace) -> int:
    from polyroute.audit import parse_public_key, verify_export

    anchor = _anchor(args.anchor) if args.anchor else None
    key = None
    if args.public_key is not None:
        key = parse_public_key(
            _read_text(args.public_key, "public key"), source=f"public key {args.public_key}"
        )
    if args.file is None:
        from polyroute.audit.witness import verify_store

        check = lambda: verify_store(app.audit, app.settings, public_key=key, anchor=anchor)  # noqa: E731
        result = run_closing(app, check)
    else:
        if key is None:
            key = _local_public_key(app)
        result = verify_export(_export_lines(args.file), key, anchor=anchor)
    _print_verify(result, as_json=args.json)
    return 0 if result.ok else 1


def _local_public_key(app: App) -> Ed25519PublicKey:
    """This installation's key, for checking its own export; never made up on the spot."""
    from polyroute.audit.signing import load_signer
    from polyroute.errors import ConfigError

    signer = load_signer(app.settings, create=False)
    if signer is None:
        raise ConfigError("there is no local signing key: pass --public-key KEY, the PEM that "
                          "`polyroute audit pubkey` printed where the log was written")  # fmt: skip
    return signer.public_key


def _anchor(text: str) -> tuple[int, str]:
    from polyroute.errors import ConfigError

    seq, _, hash_ = text.partition(":")
    if (
        not seq.isdigit()
        or int(seq) < 1
        or len(hash_) != 64
        or any(c not in "0123456789abcdef" for c in hash_)
    ):
        raise ConfigError(
            "--anchor takes SEQ:HASH, the head_seq and head_hash an earlier `verify --json` printed"
        )
    return int(seq), hash_


def _print_verify(result: VerifyResult, *, as_json: bool) -> None:
    if as_json:
        print_json(result)
    elif result.ok:
        covered = (
            f"; latest signed head: event {result.head_seq} by {result.key_id}" if result.head_seq else ""
        )
        witnessed = f"; still holds witnessed event {result.witness_seq}" if result.witness_seq else ""
        sys.stdout.write(
            f"OK: {result.events_checked} events, chain and signed heads verified "
            f"({result.signatures_checked} signatures checked){covered}{witnessed}\n"
        )
    else:
        sys.stdout.write(f"FAILED at event {result.first_bad_seq}: {result.reason} "
                         f"({(result.first_bad_seq or 1) - 1} events verified before it)\n")  # fmt: skip
    if result.outcome_unknown and not as_json:
        sys.stdout.write(
            f"note: {result.outcome_unknown} routed call(s) with outcome unknown (intent logged, no outcome: "
            "the process stopped mid-call);\n      `polyroute audit tail` lists the deployments they may "
            "have reached\n"
        )


def run_export(app: App, args: argparse.Namespace) -> int:

    if args.output is None:
        try:
            run_closing(app, lambda: app.audit.export(sys.stdout.write))
            sys.stdout.flush()
        except BrokenPipeError:  # `polyroute audit export | head`: the reader left, which is fine
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    count = _export_to_file(app, args.output)
    sys.stderr.write(f"polyroute: wrote {count} lines to {args.output}\n")
    return 0


def _export_to_file(app: App, path: Path) -> int:
    """Write a complete export or nothing: a failure half-way must not leave a shorter log that
    verifies, nor wipe out an earlier export at the same path."""
    from polyroute.errors import ConfigError

    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        try:
            with partial.open("w", encoding="utf-8") as handle:
                count = run_closing(app, lambda: app.audit.export(handle.write))
            os.replace(partial, path)
        except OSError as error:
            raise ConfigError(f"cannot write export {path}: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    return count


def run_tail(app: App, args: argparse.Namespace) -> int:
    from polyroute.audit.receipt import unknown_among
    from polyroute.errors import ConfigError

    if args.n < 1:
        raise ConfigError("-n must be at least 1")

    async def read() -> tuple[list[AuditEvent], list[UnknownOutcome]]:
        events = await app.audit.tail(args.n)
        return events, await unknown_among(app.audit, events)

    events, unknown = run_closing(app, read)
    if args.json:
        print_json({"events": [event.model_dump(mode="json") for event in events],
                    "outcome_unknown": [u.model_dump(mode="json") for u in unknown]})  # fmt: skip
        return 0
    lost = {u.receipt_id for u in unknown}
    rows: list[list[Any]] = [
        [e.seq, e.time.strftime("%Y-%m-%d %H:%M:%S"), _kind(e, lost), e.principal, _where(e, lost),
         "-" if e.allowed is None else ("yes" if e.allowed else "NO"), usd(e.cost_usd), e.id]
        for e in events
    ]  # fmt: skip
    headers = ["seq", "time (UTC)", "type", "principal", "deployment", "allowed", "cost", "receipt id"]
    print_table(rows, headers, title=f"last {len(events)} audit events")
    if lost:
        sys.stdout.write(
            f"{len(lost)} routed call(s) with outcome unknown: the process stopped after recording the "
            "intent (or the call is still running); the deployments listed may have received the request\n"
        )
    return 0


def _kind(event: AuditEvent, lost: set[str]) -> str:
    if event.id in lost:
        return "intent: OUTCOME UNKNOWN"
    if event.intent_seq is not None:
        return f"{event.event_type} (of {event.intent_seq})"
    return event.event_type


def _where(event: AuditEvent, lost: set[str]) -> str:
    """A failure: every deployment tried; an intent whose outcome is unknown: all it may have reached."""
    from polyroute.audit.receipt import planned_deployments

    if event.id in lost:
        return ", ".join(planned_deployments(event)) or "-"
    tried: Any = event.details.get("tried") if event.event_type == "failure" else None
    if isinstance(tried, list) and tried:
        return ", ".join(str(t) for t in tried)  # pyright: ignore[reportUnknownVariableType]
    return event.deployment or "-"


def run_pubkey(app: App, args: argparse.Namespace) -> int:
    async def both() -> tuple[str, str]:
        return await app.audit.public_key_pem(), await app.audit.key_id()

    pem, key_id = run_closing(app, both)
    if args.json:
        print_json({"key_id": key_id, "public_key_pem": pem})
    else:
        sys.stdout.write(pem)
        sys.stderr.write(f"polyroute: key id {key_id}\n")
    return 0
