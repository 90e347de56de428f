"""Keyed digests of prompt and completion text: stable, private, and never under a weak secret."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pytest

from polyroute.audit import content_digest
from polyroute.audit.digest import Keyed
from polyroute.errors import ConfigError
from polyroute.settings import Settings


def test_digests_are_keyed_stable_and_private(settings: Settings) -> None:
    first = content_digest(settings, "hello")
    assert first == content_digest(settings, "hello") != content_digest(settings, "hello!")
    assert first.removeprefix("hmac-sha256:") != hashlib.sha256(b"hello").hexdigest()
    secret = settings.data_dir / "audit-digest.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert first == "hmac-sha256:" + hmac.new(secret.read_bytes(), b"hello", hashlib.sha256).hexdigest()


@pytest.mark.parametrize("size", [0, 1, 32, 63, 64, 65, 200])
def test_the_precomputed_hmac_is_rfc_2104_hmac_sha256_for_any_key_size(size: int) -> None:
    key = bytes(range(7, 7 + size % 250)) * (size // 250 + 1)
    keyed = Keyed(key[:size])
    for data in (b"", b"hello", "ملاحظة".encode() * 100, bytes(range(256)) * 3):
        assert keyed.hexdigest(data) == hmac.new(key[:size], data, hashlib.sha256).hexdigest()


def test_text_with_a_lone_surrogate_is_digested_not_crashed_on(settings: Settings) -> None:
    """Python decodes undecodable argv bytes (`--prompt $'caf\\xe9'`) to lone surrogates."""
    assert content_digest(settings, "caf\udce9") != content_digest(settings, "caf\udce8")


def test_an_empty_digest_secret_is_refused_not_used(settings: Settings) -> None:
    """HMAC under an empty key is as guessable as a plain hash: fail closed instead."""
    secret = settings.data_dir / "audit-digest.key"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.touch(mode=0o600)
    with pytest.raises(ConfigError, match="not 32 random bytes"):
        content_digest(settings, "hello")
