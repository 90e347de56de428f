"""The signing key: made on first use as a 0600 file, moved by env, or (opt-in) kept in the keyring."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from cryptography.hazmat.primitives import serialization
from keyring.backend import KeyringBackend

from polyroute.audit import parse_public_key
from polyroute.audit.signing import head_signature_ok, key_id_of, load_signer, public_pem
from polyroute.errors import ConfigError
from polyroute.settings import Settings, load_settings


def test_key_is_made_once_as_a_private_file(settings: Settings) -> None:
    assert load_signer(settings, create=False) is None
    signer = load_signer(settings)
    assert signer is not None
    assert stat.S_IMODE(settings.audit_key_file.stat().st_mode) == 0o600
    again = load_signer(settings)
    assert again is not None and again.key_id == signer.key_id


def test_env_moves_the_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "shared" / "replica.key"
    monkeypatch.setenv("POLYROUTE_AUDIT_KEY_FILE", str(target))
    assert load_signer(load_settings()) is not None
    assert target.exists()


def test_a_key_file_others_can_read_is_refused(settings: Settings) -> None:
    load_signer(settings)
    os.chmod(settings.audit_key_file, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_signer(settings)


def test_a_garbage_key_file_is_a_clear_error(settings: Settings) -> None:
    settings.audit_key_file.parent.mkdir(parents=True, exist_ok=True)
    settings.audit_key_file.write_bytes(b"not a key")
    os.chmod(settings.audit_key_file, 0o600)
    with pytest.raises(ConfigError, match="private key"):
        load_signer(settings)


def test_a_key_path_that_is_a_directory_is_a_clear_error(settings: Settings) -> None:
    settings.audit_key_file.mkdir(parents=True)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_signer(settings)


def test_key_id_is_a_fingerprint_of_the_public_key(settings: Settings) -> None:
    signer = load_signer(settings)
    assert signer is not None
    assert signer.key_id.startswith("ed25519:") and len(signer.key_id) == 8 + 32
    assert key_id_of(parse_public_key(public_pem(signer.public_key))) == signer.key_id


def test_heads_verify_only_with_their_key_and_content(settings: Settings) -> None:
    from datetime import UTC, datetime

    signer = load_signer(settings)
    assert signer is not None
    head = signer.sign_head(3, "ab" * 32, datetime.now(UTC))
    assert head_signature_ok(head, signer.public_key)
    assert not head_signature_ok(head.model_copy(update={"seq": 4}), signer.public_key)
    assert not head_signature_ok(head.model_copy(update={"signature": "!!"}), signer.public_key)


def test_public_keys_parse_from_pem_or_raw_base64(settings: Settings) -> None:
    signer = load_signer(settings)
    assert signer is not None
    raw = signer.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key_id_of(parse_public_key(base64.b64encode(raw).decode())) == signer.key_id
    with pytest.raises(ConfigError, match="Ed25519"):
        parse_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    with pytest.raises(ConfigError, match="Ed25519"):
        parse_public_key("c2hvcnQ=")


class MemoryKeyring(KeyringBackend):
    priority = 1  # pyright: ignore[reportAssignmentType]

    def __init__(self, *, forgetful: bool = False) -> None:
        super().__init__()
        self.forgetful = forgetful
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if not self.forgetful:  # like a headless keyring that accepts a secret and keeps nothing
            self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _keyring_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"audit": settings.audit.model_copy(update={"keyring": True})})


def test_keyring_is_opt_in_and_read_back(settings: Settings, memory_keyring: MemoryKeyring) -> None:
    signer = load_signer(_keyring_settings(settings))
    assert signer is not None and len(memory_keyring.items) == 1
    assert not settings.audit_key_file.exists()
    again = load_signer(_keyring_settings(settings))
    assert again is not None and again.key_id == signer.key_id


def test_a_keyring_that_forgets_is_refused(settings: Settings, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.forgetful = True
    with pytest.raises(ConfigError, match="read-back"):
        load_signer(_keyring_settings(settings))


def test_no_usable_keyring_is_a_clear_error(settings: Settings) -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        with pytest.raises(ConfigError, match="keyring"):
            load_signer(_keyring_settings(settings))
    finally:
        keyring.set_keyring(previous)
