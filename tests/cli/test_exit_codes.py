"""Exit codes agree across commands (0 ok, 1 denied/failed, 2 usage error) and unknown ids get suggestions.

Run in-process through `main()`, the same code the console script calls.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import keyring
import keyring.backends.fail
import pytest

from polyroute_servers.cli import main

TYPO = "anthropic-claude-sonet-4-6"  # one letter short of a bundled id
RIGHT = "anthropic-claude-sonnet-4-6"

TAKES_A_DEPLOYMENT = {
    "residency check": ["residency", "check", "--jurisdiction", "US", "--data-class", "public",
                        "--deployment", TYPO],
    "residency check --json": ["residency", "check", "--jurisdiction", "US", "--data-class", "public",
                               "--deployment", TYPO, "--json"],
    "cost estimate": ["cost", "estimate", "--deployment", TYPO, "--input-tokens", "10",
                      "--output-tokens", "5"],
    "cost compare": ["cost", "compare", "--deployment", TYPO, "--input-tokens", "10",
                     "--output-tokens", "5"],
    "complete --model": ["complete", "--prompt", "hi", "--model", TYPO],
    "keys get": ["keys", "get", TYPO],
    "keys delete": ["keys", "delete", TYPO],
}  # fmt: skip


@pytest.mark.parametrize("argv", TAKES_A_DEPLOYMENT.values(), ids=list(TAKES_A_DEPLOYMENT))
def test_an_unknown_deployment_is_a_usage_error_with_the_closest_ids(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert TYPO in err and RIGHT in err, "the message names the id typed and the one meant"
    assert "Traceback" not in err


def test_unknown_jurisdiction_and_data_class_in_a_check_name_what_was_meant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["residency", "check", "--jurisdiction", "XX", "--data-class", "personel", "--deployment", RIGHT]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "unknown jurisdiction 'XX'" in err and "SA" in err
    assert "did you mean 'personal'" in err


def test_a_denial_of_a_known_deployment_stays_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["residency", "check", "--jurisdiction", "SA", "--data-class", "government_secret",
            "--deployment", RIGHT]  # fmt: skip
    assert main(argv) == 1
    assert capsys.readouterr().out.startswith("DENIED")


def test_a_misspelt_provider_in_keys_suggests_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "get", "antropic"]) == 2
    assert "did you mean 'anthropic'" in capsys.readouterr().err


@pytest.fixture
def no_keyring_backend() -> Iterator[None]:
    """A headless Linux box: no D-Bus, so keyring falls back to the backend that refuses everything."""
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.mark.usefixtures("no_keyring_backend")
def test_keys_set_without_a_keyring_backend_is_a_failure_not_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("sk-test-0123456789abcdef\n"))
    assert main(["keys", "set", "openai"]) == 1
    err = capsys.readouterr().err
    assert "no OS keyring backend" in err and "environment variable" in err
    assert "0123456789abcdef" not in err


def test_argparse_usage_errors_stay_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["residency", "check", "--jurisdiction", "US", "--data-class", "public"])
    assert exited.value.code == 2
    assert "--deployment" in capsys.readouterr().err
