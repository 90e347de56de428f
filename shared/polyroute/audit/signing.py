"""The Ed25519 key that signs chain heads: where it lives, how it is made, how heads are signed.

The private key is a PKCS#8 PEM file, mode 0600, under the data dir (`POLYROUTE_AUDIT_KEY_FILE` moves
it; replicas share one file). Keeping it in the OS keyring is opt-in, and the key is read back after
storing it because a headless keyring may accept a secret and then return nothing — signing with a
key nobody can load again would make the log unverifiable by its owner. The key id is a fingerprint
of the public key, so a verifier can tell which key a head claims without trusting the log.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from polyroute.audit.event import SignedHead, canonical_json, format_time
from polyroute.errors import ConfigError
from polyroute.settings import Settings

HEAD_FORMAT = "polyroute-audit-head/1"
KEYRING_SERVICE = "polyroute"
KEYRING_USER = "audit-signing-key"


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """`ed25519:` + the first 32 hex digits of SHA-256 over the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def public_pem(public_key: Ed25519PublicKey) -> str:
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def head_message(seq: int, hash_: str, key_id: str, signed_at: datetime) -> bytes:
    """The bytes a head signature covers: canonical JSON naming the format, so it cannot be replayed."""
    return stamped_head_message(seq, hash_, key_id, format_time(signed_at))


def stamped_head_message(seq: int, hash_: str, key_id: str, stamp: str) -> bytes:
    """`head_message` with `signed_at` already formatted (`format_time`), as the writers have it.

    Written directly rather than through `canonical_json` (the writer thread signs once per commit):
    the same bytes, since the keys below are in sorted order and each string is escaped by the very
    function the canonical encoder uses. Values of other types take the canonical encoder itself.
    """
    if type(seq) is not int or type(hash_) is not str or type(key_id) is not str or type(stamp) is not str:
        fields = {"format": HEAD_FORMAT, "seq": seq, "hash": hash_, "key_id": key_id, "signed_at": stamp}
        return canonical_json(fields).encode()
    return (
        f'{{"format":"{HEAD_FORMAT}","hash":{_string(hash_)},"key_id":{_string(key_id)},'
        f'"seq":{seq},"signed_at":{_string(stamp)}}}'
    ).encode()


_string = encode_basestring  # a JSON string as `canonical_json` writes it (non-ASCII kept as is)


def head_signature_ok(head: SignedHead, public_key: Ed25519PublicKey) -> bool:
    try:
        signature = base64.b64decode(head.signature, validate=True)
        public_key.verify(signature, head_message(head.seq, head.hash, head.key_id, head.signed_at))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Signer:
    """A loaded private key and its id."""

    private_key: Ed25519PrivateKey
    key_id: str

    @classmethod
    def of(cls, private_key: Ed25519PrivateKey) -> Signer:
        return cls(private_key, key_id_of(private_key.public_key()))

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def sign_head(self, seq: int, hash_: str, signed_at: datetime) -> SignedHead:
        return SignedHead(
            seq=seq,
            hash=hash_,
            key_id=self.key_id,
            signed_at=signed_at,
            signature=self.sign_stamped(seq, hash_, format_time(signed_at)),
        )

    def sign_stamped(self, seq: int, hash_: str, stamp: str) -> str:
        """The base64 signature of the head (seq, hash) signed at `stamp` (`format_time` text): what a
        writer stores, without building a `SignedHead` or formatting its time again."""
        signature = self.private_key.sign(stamped_head_message(seq, hash_, self.key_id, stamp))
        return base64.b64encode(signature).decode()


def parse_public_key(data: bytes | str, *, source: str = "public key") -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (what `polyroute audit pubkey` prints) or raw base64."""
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    try:
        if "BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError:
        raise ConfigError(
            f"{source} is not an Ed25519 public key (expected the PEM `polyroute audit pubkey` prints)"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{source} is not an Ed25519 public key")
    return key


def _parse_private(pem: bytes, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{source} does not hold a readable Ed25519 private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{source} does not hold an Ed25519 private key")
    return key


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def read_secret_file(path: Path, what: str) -> bytes | None:
    """A 0600 secret file's bytes, None if absent; refuses files others can read (fail closed)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{what} {path} is not a regular file")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{what} {path} is accessible to other users; run `chmod 600 {path}`")
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"cannot read {what} {path}: {error.strerror}") from None


def create_secret_file(path: Path, data: bytes, what: str) -> bytes:
    """Write a new 0600 secret file atomically; if another process won the race, return what it wrote.

    The bytes go to a private temporary file that is then hard-linked into place, so a concurrent
    reader (another replica starting up) never sees a half-written key.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return read_secret_file(path, what) or data
    except OSError as error:
        raise ConfigError(f"cannot create {what} {path}: {error.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return data


def _keyring_signer(create: bool) -> Signer | None:
    import keyring
    from keyring.errors import KeyringError

    try:
        stored = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
        if stored is None and create:
            keyring.set_password(
                KEYRING_SERVICE, KEYRING_USER, _private_pem(Ed25519PrivateKey.generate()).decode()
            )
            stored = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
            if stored is None:
                raise ConfigError(
                    "the OS keyring accepted the audit signing key but returned nothing on "
                    "read-back; set audit.keyring = false to keep the key in a 0600 file"
                )
    except KeyringError as error:
        raise ConfigError(f"the OS keyring is not usable for the audit signing key: {error}") from None
    return None if stored is None else Signer.of(_parse_private(stored.encode(), "the OS keyring entry"))


def load_signer(settings: Settings, *, create: bool = True) -> Signer | None:
    """The signing key, made on first use when `create`; None only when absent and not `create`."""
    if settings.audit.keyring:
        return _keyring_signer(create)
    path = settings.audit_key_file
    pem = read_secret_file(path, "audit signing key")
    if pem is None:
        if not create:
            return None
        pem = create_secret_file(path, _private_pem(Ed25519PrivateKey.generate()), "audit signing key")
    return Signer.of(_parse_private(pem, f"audit signing key {path}"))
