"""What the 2026-07-28 conformance scenarios check with fixture tools, checked on Polyroute's own:
every tool's input and output schema is valid JSON Schema 2020-12 (the dialect MCP tool schemas use),
and an unknown prompt is an invalid-params error."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from mcp import Client, MCPError

pytestmark = pytest.mark.anyio


async def test_every_tool_schema_is_valid_json_schema_2020_12(client: Client) -> None:
    tools = (await client.list_tools()).tools
    assert len(tools) >= 14
    for tool in tools:
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.output_schema is not None, tool.name
        Draft202012Validator.check_schema(tool.output_schema)
    listed = await client.call_tool("list_models", {"require": ["vision"]})
    output = next(tool.output_schema for tool in tools if tool.name == "list_models")
    assert output is not None and listed.structured_content
    Draft202012Validator(output).validate(listed.structured_content)  # $defs/$ref resolve as 2020-12


async def test_the_complete_schema_rejects_what_the_server_would(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    validator = Draft202012Validator(tools["complete"].input_schema)
    assert not validator.is_valid({"prompt": "hi", "max_tokens": "lots"})
    assert validator.is_valid({"prompt": "hi", "jurisdiction": "EU", "data_class": "personal"})


async def test_an_unknown_prompt_is_invalid_params_not_an_internal_error(client: Client) -> None:
    with pytest.raises(MCPError) as refused:
        await client.get_prompt("test_simple_prompt")
    assert refused.value.error.code == -32602 and "offers no prompts" in refused.value.error.message
