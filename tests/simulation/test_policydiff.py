"""Policy diffs, rule by rule: added, removed, widened, narrowed, stricter requirements."""

from __future__ import annotations

from pathlib import Path

from polyroute.policydiff import diff_policies, named_policy
from polyroute.settings import Settings


def policy(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_rule_changes_in_words_and_data(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    new = policy(tmp_path, "new.toml", """
[[rules]]
jurisdiction = "SA"
data_classes = ["public"]
allowed = ["GCC"]
source = "narrowed"

[[rules]]
jurisdiction = "SA"
data_classes = ["personal"]
allowed = ["SA"]
requirements = { retention_days_max = 0 }
source = "stricter"

[[rules]]
jurisdiction = "ZZ"
data_classes = ["public"]
allowed = ["ANY"]
source = "added"
""")  # fmt: skip
    bundled = named_policy(settings, "bundled")
    diff = diff_policies(bundled, named_policy(settings, new), old_name="bundled", new_name=new)
    changes = {c.rule: c for c in diff.changes}
    assert set(changes) == {"SA/public", "SA/personal", "ZZ/public"}
    assert changes["ZZ/public"].kind == "added" and not changes["ZZ/public"].tighter
    narrowed = changes["SA/public"]
    assert narrowed.countries_removed == ["ANY"] and "BH" in narrowed.countries_added and narrowed.tighter
    assert narrowed.summary.startswith("SA/public: allowed ANY → GCC")
    stricter = changes["SA/personal"]
    assert stricter.requirements_after == {"retention_days_max": 0} and stricter.tighter
    assert "requirements none → retention_days_max=0" in stricter.summary
    assert diff.unchanged == len(bundled.rules) - 2
    back = diff_policies(named_policy(settings, new), bundled, old_name=new, new_name="bundled")
    removed = {c.rule: c for c in back.changes}["ZZ/public"]
    assert removed.kind == "removed" and removed.tighter and "denied everywhere" in removed.summary
    assert not {c.rule: c for c in back.changes}["SA/public"].tighter
