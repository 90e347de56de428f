"""`polyroute audit …` end to end: exit codes, one JSON document with --json, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from audit_helpers import db_path, fill, tamper
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from polyroute.audit import open_store
from polyroute.settings import Settings
from polyroute_servers.cli import main


def _seed(settings: Settings, count: int) -> None:
    async def run() -> None:
        store = open_store(settings)
        await fill(store, count)
        await store.aclose()

    anyio.run(run)


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, object]]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_verify_on_a_store_that_does_not_exist_yet(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    code, document = _json(capsys, ["audit", "verify", "--json"])
    assert code == 0
    assert {k: document[k] for k in ("ok", "events_checked", "first_bad_seq")} == {
        "ok": True, "events_checked": 0, "first_bad_seq": None,
    }  # fmt: skip
    assert main(["audit", "export"]) == 0 and capsys.readouterr().out == ""
    assert not db_path(settings).exists()


def test_verify_export_and_offline_verify(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    _seed(settings, 5)
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("OK: 5 events")
    export, key = tmp_path / "export.jsonl", tmp_path / "key.pem"
    assert main(["audit", "export", "--output", str(export)]) == 0
    assert main(["audit", "pubkey"]) == 0
    key.write_text(capsys.readouterr().out)
    assert len(export.read_text().splitlines()) == 10  # 5 events, 5 heads (sequential appends)
    code, document = _json(
        capsys, ["audit", "verify", "--file", str(export), "--public-key", str(key), "--json"]
    )
    assert (code, document["ok"], document["events_checked"]) == (0, True, 5)
    lines = export.read_text().splitlines()
    lines[4] = lines[4].replace('"user-2"', '"user-0"')
    export.write_text("\n".join(lines) + "\n")
    code, document = _json(
        capsys, ["audit", "verify", "--file", str(export), "--public-key", str(key), "--json"]
    )
    assert (code, document["ok"], document["first_bad_seq"]) == (1, False, 3)


def test_verify_fails_with_exit_1_and_names_the_event(
    capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    _seed(settings, 4)
    tamper(settings, ("UPDATE events SET body = replace(body, 'user-1', 'user-2') WHERE seq = 2", ()))
    code, document = _json(capsys, ["audit", "verify", "--json"])
    assert (code, document["ok"], document["first_bad_seq"]) == (1, False, 2)
    assert main(["audit", "verify"]) == 1
    assert capsys.readouterr().out.startswith("FAILED at event 2:")


def test_tail_and_pubkey(capsys: pytest.CaptureFixture[str], settings: Settings) -> None:
    _seed(settings, 3)
    code, document = _json(capsys, ["audit", "tail", "-n", "2", "--json"])
    assert code == 0 and [e["seq"] for e in document["events"]] == [2, 3]  # type: ignore[union-attr, index]
    assert main(["audit", "tail"]) == 0
    table = capsys.readouterr().out
    assert "last 3 audit events" in table and "user-1" in table and "$0.001150" in table
    code, document = _json(capsys, ["audit", "pubkey", "--json"])
    assert str(document["public_key_pem"]).startswith("-----BEGIN PUBLIC KEY-----")
    assert str(document["key_id"]).startswith("ed25519:")


def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    assert main(["audit", "verify", "--file", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["audit", "verify", "--file", "x", "--public-key", str(tmp_path / "none.pem")]) == 2
    assert main(["audit", "tail", "-n", "0"]) == 2
    monkeypatch.setenv("POLYROUTE_AUDIT_URL", "mysql://user:hunter2@db/audit")
    assert main(["audit", "verify"]) == 2
    err = capsys.readouterr().err
    assert "unsupported audit store URL scheme 'mysql'" in err and "hunter2" not in err
    assert all(line.startswith("polyroute: ") for line in err.splitlines())


def test_an_unreachable_postgres_is_one_line_exit_1_without_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from polyroute.testing.pgcluster import free_port

    monkeypatch.setenv("POLYROUTE_PG_CONNECT_TIMEOUT", "1")
    monkeypatch.setenv("POLYROUTE_AUDIT_URL", f"postgresql://user:hunter2@127.0.0.1:{free_port()}/audit")
    assert main(["audit", "tail"]) == 1
    err = capsys.readouterr().err
    assert "postgresql://127.0.0.1:" in err and "hunter2" not in err
    assert len(err.splitlines()) == 1 and err.startswith("polyroute: ")


def test_export_to_stdout_through_the_real_command(settings: Settings) -> None:
    _seed(settings, 2)
    done = subprocess.run([sys.executable, "-m", "polyroute_servers.cli", "audit", "export"],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["type"] for r in records] == ["event", "head", "event", "head"]


def test_verify_with_an_anchor(capsys: pytest.CaptureFixture[str], settings: Settings) -> None:
    _seed(settings, 3)
    code, document = _json(capsys, ["audit", "verify", "--json"])
    anchor = f"{document['head_seq']}:{document['head_hash']}"
    assert main(["audit", "verify", "--anchor", anchor]) == 0
    assert main(["audit", "verify", "--anchor", f"9:{'0' * 64}"]) == 1
    assert main(["audit", "verify", "--anchor", "nonsense"]) == 2
    assert "--anchor takes SEQ:HASH" in capsys.readouterr().err


def test_verifying_a_file_without_a_key_uses_only_an_existing_local_key(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    export = tmp_path / "empty.jsonl"
    export.write_text("")
    assert main(["audit", "verify", "--file", str(export)]) == 2
    assert "--public-key" in capsys.readouterr().err
    assert not settings.audit_key_file.exists()  # no key is made up to check someone else's export
    _seed(settings, 2)
    assert main(["audit", "export", "--output", str(export)]) == 0
    assert main(["audit", "verify", "--file", str(export)]) == 0


def test_a_failed_export_leaves_no_partial_file_and_keeps_the_old_one(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    _seed(settings, 3)
    export = tmp_path / "export.jsonl"
    assert main(["audit", "export", "--output", str(export)]) == 0
    before = export.read_text()
    tamper(settings, ("DROP TABLE heads", ()))  # the store can no longer be read
    assert main(["audit", "export", "--output", str(export)]) != 0
    assert export.read_text() == before  # not truncated to an empty (and "valid") log
    assert not list(tmp_path.glob("*partial"))
    assert main(["audit", "export", "--output", str(tmp_path / "no-such-dir" / "x.jsonl")]) == 2
    assert "cannot write export" in capsys.readouterr().err


def test_a_failure_counts_only_the_events_before_it(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    _seed(settings, 4)
    key = tmp_path / "other.pem"
    other = Ed25519PrivateKey.generate().public_key()
    key.write_bytes(other.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    assert main(["audit", "verify", "--public-key", str(key)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILED at event 1:") and out.endswith("(0 events verified before it)\n")


_EVENT = '{"type":"event","hash":"' + "0" * 64 + '","event":'
HOSTILE = {
    "deep nesting": (_EVENT + "[" * 100_000 + "]" * 100_000 + "}\n").encode(),
    "deep nesting, not framed": ('{"type":"head","seq":' + "[" * 100_000 + "]" * 100_000 + "}\n").encode(),
    "NaN": (_EVENT + '{"seq":1,"prev_hash":"' + "0" * 64 + '","x":NaN}}\n').encode(),
    "infinite number": (_EVENT + '{"seq":1,"prev_hash":"' + "0" * 64 + '","x":1e999}}\n').encode(),
    "huge integer": (_EVENT + '{"seq":1' + "1" * 10_000 + "}}\n").encode(),
    "invalid UTF-8": _EVENT.encode() + b'{"seq":1,"principal":"\xff\xfe"}}\n',
}


@pytest.mark.attack("hostile export to audit verify --file (deep nesting, NaN, 1e999, bad UTF-8)",
                    area="audit")  # fmt: skip
@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_a_hostile_export_is_a_failed_verification_in_the_format_asked_for(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path, attack: str
) -> None:
    _seed(settings, 1)
    export = tmp_path / "hostile.jsonl"
    assert main(["audit", "export", "--output", str(export)]) == 0
    export.write_bytes(export.read_bytes() + HOSTILE[attack])
    capsys.readouterr()
    code, document = _json(capsys, ["audit", "verify", "--file", str(export), "--json"])
    assert (code, document["ok"], document["events_checked"]) == (1, False, 1)
    assert str(document["reason"]).startswith("line 3:")
    assert main(["audit", "verify", "--file", str(export)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("FAILED at event 2: line 3:") and "Traceback" not in captured.err
