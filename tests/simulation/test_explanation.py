"""Explaining a past call after the policy or the catalog changed under it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_fixtures import TIGHTENED_POLICY

from polyroute.app import App
from polyroute.audit import EventQuery
from polyroute.catalog import Catalog
from polyroute.explanation import explain_route
from polyroute.policydiff import policy_file

pytestmark = pytest.mark.anyio


async def receipt_of(app: App, jurisdiction: str, data_class: str) -> str:
    for event in await app.audit.query(EventQuery(limit=1000)):
        if (event.jurisdiction, event.data_class) == (jurisdiction, data_class):
            return event.intent_id or event.id
    raise AssertionError("no such call in the log")


async def test_a_tightened_policy_shows_the_rule_the_new_choice_and_what_changed(
    recorded: App, tmp_path: Path
) -> None:
    receipt = await receipt_of(recorded, "AE", "personal")
    before = await explain_route(recorded, receipt)
    assert before.then.chosen == before.today.chosen == "us-cheap" and before.changed == []
    assert before.facts.classification_defaulted is False and before.facts.max_tokens == 200
    assert {x.deployment: x.rule for x in before.today.exclusions if x.stage == "residency"} == {
        "sa-local": "AE/personal", "eu-mid": "AE/personal", "anywhere": "AE/personal",
    }  # fmt: skip
    (tmp_path / "tight.toml").write_text(TIGHTENED_POLICY)
    recorded.policy = policy_file(recorded.settings, tmp_path / "tight.toml")
    after = await explain_route(recorded, receipt)
    assert after.today.chosen == "ae-local" and after.then.chosen == "us-cheap"
    assert [c.deployment for c in after.today.candidates] == ["ae-local"]
    assert after.today.candidates[0].input_per_mtok == 2 and after.today.candidates[0].output_per_mtok == 6
    assert [x.rule for x in after.today.exclusions if x.deployment == "us-cheap"] == ["AE/personal"]
    assert any("the policy changed" in line for line in after.changed)
    assert any("us-cheap then, ae-local today" in line for line in after.changed)


async def test_a_refused_call_and_a_removed_deployment(recorded: App) -> None:
    refused = await explain_route(recorded, await receipt_of(recorded, "QA", "personal"))
    assert refused.status == "refused" and refused.then.chosen is None and refused.then.refusal
    assert refused.today.chosen is None and refused.changed == []
    receipt = await receipt_of(recorded, "SA", "personal")
    recorded.catalog = Catalog(d for d in recorded.catalog if d.id != "sa-local")
    gone = await explain_route(recorded, receipt)
    assert gone.today.chosen is None and "residency" in (gone.today.refusal or "")
    assert any("the catalog changed" in line for line in gone.changed)
