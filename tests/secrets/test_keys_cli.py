"""`polyroute keys`: the key comes from stdin, `get` shows only the last four characters."""

from __future__ import annotations

import io
import json

import pytest
from keyring_fixtures import MemoryKeyring

from polyroute_servers.cli import main

KEY = "sk-ant-cli-test-key-9876"


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_set_get_delete_roundtrip(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["keys", "set", "anthropic"], monkeypatch, stdin=KEY + "\n") == 0
    assert memory_keyring.store[("polyroute", "anthropic")] == KEY
    assert run(["keys", "get", "anthropic", "--json"], monkeypatch) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{") :])
    assert report["keyring"] == {"available": True, "set": True, "last4": "…9876"}
    assert KEY not in out
    assert run(["keys", "delete", "anthropic"], monkeypatch) == 0
    assert run(["keys", "get", "anthropic"], monkeypatch) == 0
    assert "keyring: not set" in capsys.readouterr().out


def test_key_is_never_taken_from_argv(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["keys", "set", "anthropic", KEY], monkeypatch)
    assert caught.value.code == 2 and memory_keyring.store == {}


@pytest.mark.parametrize("extra", [[KEY], ["--key", KEY], [KEY, "--json"], ["--json", KEY]])
def test_a_key_on_argv_is_refused_without_echoing_it(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    extra: list[str],
) -> None:  # fmt: skip
    with pytest.raises(SystemExit) as caught:
        run(["keys", "set", "anthropic", *extra], monkeypatch)
    out, err = capsys.readouterr()
    assert caught.value.code == 2 and memory_keyring.store == {}
    assert KEY[-10:] not in out + err and ("stdin" in err or "unrecognized arguments: --key" in err)


def test_a_key_typed_where_the_name_goes_is_not_echoed(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["keys", "set", KEY], monkeypatch, stdin=KEY) == 2
    assert KEY[-10:] not in "".join(capsys.readouterr()) and memory_keyring.store == {}


def test_set_with_json_still_works(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["keys", "set", "anthropic", "--json"], monkeypatch, stdin=KEY) == 0
    assert json.loads(capsys.readouterr().out)["stored"] is True


def test_unknown_name_and_empty_key_are_usage_errors(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["keys", "set", "no-such-thing"], monkeypatch, stdin=KEY) == 2
    assert run(["keys", "set", "openai"], monkeypatch, stdin="\n") == 2
    err = capsys.readouterr().err
    assert "neither a provider kind" in err and "no key given" in err


def test_headless_get_says_so_and_set_fails_plainly(
    no_keyring: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["keys", "get", "openai"], monkeypatch) == 0
    assert "unavailable (no OS keyring backend" in capsys.readouterr().out
    assert run(["keys", "set", "openai"], monkeypatch, stdin=KEY) != 0
    err = capsys.readouterr().err
    assert "no OS keyring backend" in err and KEY not in err and err.count("\n") == 1


def test_bedrock_takes_aws_credentials_not_a_key(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["keys", "set", "bedrock"], monkeypatch, stdin=KEY) == 2
    assert "AWS credentials" in capsys.readouterr().err and memory_keyring.store == {}


def test_get_for_bedrock_points_at_aws_credentials_not_the_keyring(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert run(["keys", "get", "bedrock-eu-claude-haiku-5-5"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "AWS credentials" in out and "keyring" not in out
