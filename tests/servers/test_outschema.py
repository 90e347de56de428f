"""Published output schemas fold `X | None` into `type: [X, "null"]` and still admit exactly what pydantic's
`anyOf` form admits (the SDK client validates every result against them)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from pydantic import BaseModel, Field

from polyroute.residency import Verdict
from polyroute_servers.outschema import compact_nullable

pytestmark = pytest.mark.anyio


class Shapes(BaseModel):
    name: str | None
    count: int | None = Field(default=None, ge=1, description="how many")
    tags: list[str] | None = None
    mode: str | None = Field(default=None, pattern="^[a-z]+$")
    either: int | str | None = None
    exact: str | None = Field(default=None, json_schema_extra={"const": "x"})


SAMPLES: list[Any] = [
    {"name": None}, {"name": "a"}, {"name": 1}, {"name": "a", "count": 0}, {"name": "a", "count": None},
    {"name": "a", "count": 2}, {"name": "a", "tags": ["x"]}, {"name": "a", "tags": [1]},
    {"name": "a", "tags": None}, {"name": "a", "mode": "abc"}, {"name": "a", "mode": "A"},
    {"name": "a", "either": 1.5}, {"name": "a", "either": None}, {"name": "a", "either": "s"},
    {"name": "a", "exact": "y"}, {"name": "a", "exact": None}, {},
]  # fmt: skip


def test_a_nullable_field_becomes_a_type_list_keeping_its_constraints_and_words() -> None:
    folded = compact_nullable(Shapes.model_json_schema())["properties"]
    assert folded["name"] == {"title": "Name", "type": ["string", "null"]}
    assert folded["count"] == {
        "default": None, "description": "how many", "title": "Count", "minimum": 1,
        "type": ["integer", "null"],
    }  # fmt: skip
    assert folded["tags"]["type"] == ["array", "null"] and folded["tags"]["items"] == {"type": "string"}
    assert "anyOf" in folded["either"]  # three branches: left as pydantic wrote it


def test_the_folded_schema_admits_exactly_what_the_original_does() -> None:
    original = Shapes.model_json_schema()
    folded = compact_nullable(original)
    Draft202012Validator.check_schema(folded)
    for sample in SAMPLES:
        assert Draft202012Validator(folded).is_valid(sample) == Draft202012Validator(original).is_valid(
            sample
        ), sample


async def test_check_residency_publishes_the_folded_verdict_schema(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    schema = tools["check_residency"].output_schema
    assert schema is not None and schema == compact_nullable(Verdict.model_json_schema())
    assert schema["properties"]["rule"]["type"] == ["string", "null"]
