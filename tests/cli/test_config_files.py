"""Odd config files a user may write: every one is a one-line error naming the file, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from polyroute.errors import ConfigError
from polyroute.settings import load_settings
from polyroute_servers.cli import main


def config(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("POLYROUTE_CONFIG", str(path))
    return path


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[defaults]\njurisdicton = "SA"\n',
         "unknown key 'defaults.jurisdicton'; did you mean 'jurisdiction'? (known keys in [defaults]: "),
        ("polcy = 1\n", "unknown key 'polcy'; did you mean 'policy'?"),
        ('[audit]\nlog_querys = true\n', "did you mean 'log_queries'?"),
        ('[[http.tokens]]\nprincpal = "ops"\nsha256 = "' + "a" * 64 + '"\n',
         "unknown key 'http.tokens.0.princpal'; did you mean 'principal'?"),
        ('[[deployments]]\nid = "x"\nprovider = "openai_compatible"\nmodel = "m"\nlocation = "SA"\n'
         'base_url = "http://127.0.0.1:9/v1"\ncontext_window = 8192\nmax_output_tokens = 1024\n'
         'base_ulr = "y"\n',
         "deployment 'x': unknown key 'base_ulr'; did you mean 'base_url'?"),
    ],
)  # fmt: skip
def test_a_misspelt_key_names_the_file_the_key_and_the_closest_known_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, says: str
) -> None:
    path = config(tmp_path, text, monkeypatch)
    assert main(["catalog", "list"]) == 2
    err = one_line_error(capsys)
    assert str(path) in err and says in err
    assert "Extra inputs" not in err


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('config_file = "/etc/other.toml"\n', "'config_file' is not a setting"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
        ("notes = " + "{a = " * 600 + "1" + "}" * 600 + "\n", "nested too deeply"),
        ('audit = "sqlite:///x.db"\n', "audit: Input should be a valid dictionary"),
        ('policy = ["a"]\n', "policy: Input should be a valid dictionary"),
    ],
)
def test_odd_config_files_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, says: str
) -> None:
    path = config(tmp_path, text, monkeypatch)
    monkeypatch.setenv("POLYROUTE_AUDIT_URL", f"sqlite:///{tmp_path / 'audit.db'}")  # env layered on top
    monkeypatch.setenv("POLYROUTE_POLICY", str(tmp_path / "policy.toml"))
    assert main(["catalog", "list"]) == 2
    err = one_line_error(capsys)
    assert str(path) in err and says in err


def test_a_relative_data_dir_is_beside_the_config_file_whatever_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLYROUTE_DATA_DIR")
    path = config(
        tmp_path, 'data_dir = "polyroute-data"\n[audit]\nkey_file = "keys/signing.key"\n', monkeypatch
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings()
    assert settings.data_dir == path.parent / "polyroute-data"
    assert settings.audit_key_file == path.parent / "keys" / "signing.key"
    assert settings.audit_url == f"sqlite:///{(path.parent / 'polyroute-data' / 'audit.db').as_posix()}"


def test_a_relative_data_dir_variable_is_taken_from_the_current_directory_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLYROUTE_DATA_DIR", "data-here")
    settings = load_settings()
    assert settings.data_dir == tmp_path / "data-here" and settings.data_dir.is_absolute()


def test_home_relative_data_dir_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYROUTE_DATA_DIR")
    config(tmp_path, 'data_dir = "~/polyroute"\n', monkeypatch)
    assert load_settings().data_dir == Path(os.environ["HOME"]) / "polyroute"


def test_the_library_raises_config_error_not_type_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config(tmp_path, 'config_file = "x"\n', monkeypatch)
    with pytest.raises(ConfigError, match="not a setting"):
        load_settings()
