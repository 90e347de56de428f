"""What a store does to a draft before its writer sees it: the template must fill to exactly the
canonical body of the draft's fields, with the id and the content digests added."""

from __future__ import annotations

from pathlib import Path

from audit_helpers import draft

from polyroute.audit import content_digest
from polyroute.audit.draft import prepare
from polyroute.audit.event import EventContent, event_body, fill_template
from polyroute.settings import Settings

STAMP = "2026-12-05T00:00:00.000000Z"


def test_a_prepared_template_fills_to_the_canonical_body_of_the_draft(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    receipt = draft(3, details={"candidates": [{"deployment": "x"}], "nested": {"b": 1, "a": [None]}})
    event_id, template, _ = prepare(settings, receipt, EventContent(prompt="hi", completion="there"))
    expected = {
        **receipt.model_dump(),
        "id": event_id,
        "prompt_digest": content_digest(settings, "hi"),
        "completion_digest": content_digest(settings, "there"),
        "seq": 5,
        "time": STAMP,
        "prev_hash": "ab" * 32,
    }
    assert fill_template(template, 5, STAMP, "ab" * 32) == event_body(expected)


def test_digests_given_by_the_caller_are_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    receipt = draft(1, prompt_digest="hmac-sha256:" + "0" * 64)
    _, template, _ = prepare(settings, receipt, EventContent(prompt="hi"))
    assert '"prompt_digest":"hmac-sha256:' + "0" * 64 + '"' in template
    assert receipt.prompt_digest == "hmac-sha256:" + "0" * 64  # the draft itself is left as it was
