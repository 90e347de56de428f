"""OAuth 2.1 over real HTTP: a real authorization server (oidc-provider) mints client-credentials JWTs
for this resource (RFC 8707); a real MCP client carries them; discovery follows RFC 9728."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from authserver import AuthServer, claims
from mcp import Client
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from oauth_serving import make_app, serving

from polyroute.oauthconfig import OAuthSettings
from polyroute.settings import Budget
from polyroute_servers.auth import Grant, digest

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
ALL_SCOPES = "route governance:read audit:read audit:write"
COMPLETE = {"prompt": "hello", "model": "claude-sonnet-4-6", "jurisdiction": "US", "data_class": "public"}


@asynccontextmanager
async def mcp_with(base: str, token: str) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, trust_env=False, timeout=20) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        yield client


def post(base: str, body: dict[str, object], token: str | None = None) -> httpx2.Response:
    headers = {"Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    with httpx2.Client(trust_env=False, timeout=10) as http:
        return http.post(f"{base}/mcp", json=body, headers=headers)


def call(tool: str, arguments: Mapping[str, object]) -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


async def test_a_valid_token_lists_tools_and_its_subject_is_the_receipts_principal(
    served: str, authserver: AuthServer, oauth_settings: OAuthSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = authserver.token(oauth_settings.resource, ALL_SCOPES)
    async with mcp_with(served, token) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        answer = await client.call_tool("complete", COMPLETE)
        assert answer.structured_content, answer.content
        receipt = await client.call_tool(
            "get_receipt", {"receipt_id": answer.structured_content["receipt_id"]}
        )
        budgets = await client.call_tool("budget_status", {})
    assert {"complete", "record_event", "check_residency"} <= names
    assert receipt.structured_content and receipt.structured_content["principal"] == "oauth:agent"
    report = budgets.structured_content or {}
    assert report["principal"] == "oauth:agent" and report["teams"] == ["finance"]  # the `team` claim
    assert [b["scope"] for b in report["budgets"]] == ["team:finance"]  # type: ignore[index, union-attr]
    assert token not in caplog.text  # the raw token is never logged...
    for stored in Path(os.environ["POLYROUTE_DATA_DIR"]).rglob("*"):  # ...nor stored
        assert not stored.is_file() or token.encode() not in stored.read_bytes()


async def test_protected_resource_metadata_is_served_and_401s_point_to_it(
    served: str, authserver: AuthServer, oauth_settings: OAuthSettings
) -> None:
    refused = post(served, call("list_models", {}))
    challenge = refused.headers["www-authenticate"]
    assert refused.status_code == 401 and challenge.startswith("Bearer ")
    metadata_url = f"{served}/.well-known/oauth-protected-resource/mcp"
    assert f'resource_metadata="{metadata_url}"' in challenge
    with httpx2.Client(trust_env=False, timeout=10) as http:
        suffixed, plain = http.get(metadata_url), http.get(f"{served}/.well-known/oauth-protected-resource")
    assert suffixed.status_code == plain.status_code == 200 and suffixed.json() == plain.json()
    document = suffixed.json()
    assert document["resource"] == oauth_settings.resource == f"{served}/mcp"
    assert document["authorization_servers"] == [authserver.issuer]
    assert document["scopes_supported"] == ["route", "governance:read", "audit:read", "audit:write"]
    assert document["bearer_methods_supported"] == ["header"]
    # A client follows the pointer to the authorization server's own metadata, and gets a token there.
    with httpx2.Client(trust_env=False, timeout=10) as http:
        server_metadata = http.get(f"{authserver.issuer}/.well-known/openid-configuration").json()
    assert server_metadata["issuer"] == authserver.issuer and "client_credentials" in str(server_metadata)


async def test_a_token_without_the_tools_scope_gets_403_insufficient_scope_naming_it(
    served: str, authserver: AuthServer, oauth_settings: OAuthSettings
) -> None:
    ours = oauth_settings.resource
    reader = authserver.token(ours, "governance:read")
    refused = post(served, call("complete", COMPLETE), reader)
    header = refused.headers["www-authenticate"]
    assert refused.status_code == 403
    assert (
        'error="insufficient_scope"' in header
        and 'scope="route"' in header
        and "resource_metadata=" in header
    )
    assert "route" in refused.json()["error_description"]
    allowed = post(served, call("explain_policy", {"jurisdiction": "SA"}), reader)
    assert allowed.status_code == 200 and '"isError":false' in allowed.text.replace(" ", "")
    writer = authserver.token(oauth_settings.resource, "audit:write")
    read = {"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": "polyroute://policy"}}
    assert 'scope="route"' in post(served, read, writer).headers["www-authenticate"]
    assert post(served, read, reader).status_code == 200  # governance:read may read resources too
    scopeless = post(served, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, authserver.token(ours, ""))
    assert scopeless.status_code == 403 and f'scope="{ALL_SCOPES}"' in scopeless.headers["www-authenticate"]
    async with mcp_with(served, reader) as client:  # and tools/list offers only what the token may call
        offered = {tool.name for tool in (await client.list_tools()).tools}
    assert "complete" not in offered and "explain_policy" in offered


async def test_static_tokens_keep_working_beside_oauth(
    authserver: AuthServer, oauth_settings: OAuthSettings, port: int, provider_env: object
) -> None:
    static = "static-token-for-the-ops-agent"
    grants = (Grant("ops", digest(static), frozenset({"*"})),)
    with serving(make_app(), oauth_settings, grants=grants, port=port) as base:
        async with mcp_with(base, static) as client:
            status = await client.call_tool("budget_status", {})
        oauth_token = authserver.token(oauth_settings.resource)
        async with mcp_with(base, oauth_token) as client:
            assert (await client.call_tool("budget_status", {})).structured_content[
                "principal"
            ] == "oauth:agent"  # type: ignore[index]
        unknown = post(base, call("list_models", {}), "neither-static-nor-a-jwt")
    assert status.structured_content and status.structured_content["principal"] == "http:ops"
    assert unknown.status_code == 401 and 'error="invalid_token"' in unknown.headers["www-authenticate"]
    assert "neither-static-nor-a-jwt" not in unknown.text


async def test_without_oauth_config_nothing_points_at_an_authorization_server(port: int) -> None:
    grants = (Grant("ops", digest("a-static-token"), frozenset({"*"})),)
    with serving(make_app(), None, grants=grants, port=port) as base:
        refused = post(base, call("list_models", {}))
        with httpx2.Client(trust_env=False, timeout=10) as http:
            metadata = http.get(f"{base}/.well-known/oauth-protected-resource/mcp")
    assert refused.status_code == 401 and "resource_metadata" not in refused.headers["www-authenticate"]
    assert metadata.status_code in (401, 404)


class MemoryTokens:
    """The SDK's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def test_the_sdks_oauth_client_discovers_the_server_and_signs_in_by_itself(
    served: str, authserver: AuthServer, oauth_settings: OAuthSettings
) -> None:
    """No token handed over: the MCP client follows the 401 to the metadata, then to the authorization
    server, gets a token for this resource with client credentials, and retries."""
    storage = MemoryTokens()
    auth = ClientCredentialsOAuthProvider(
        oauth_settings.resource, storage, client_id="agent", client_secret="agent-secret",
        token_endpoint_auth_method="client_secret_post", issuer=authserver.issuer,
    )  # fmt: skip
    async with (
        httpx2.AsyncClient(auth=auth, trust_env=False, timeout=20) as http,
        Client(streamable_http_client(oauth_settings.resource, http_client=http)) as client,
    ):
        offered = {tool.name for tool in (await client.list_tools()).tools}
        status = await client.call_tool("budget_status", {})
    assert storage.tokens is not None
    minted = claims(storage.tokens.access_token)
    assert minted["aud"] == oauth_settings.resource  # the client asked for this resource (RFC 8707)
    assert minted["scope"] == ALL_SCOPES  # ...and for the scopes the metadata lists
    assert {"complete", "record_event"} <= offered
    assert status.structured_content and status.structured_content["principal"] == "oauth:agent"


async def test_a_team_quota_applies_through_the_tokens_team_claim_without_joining_settings(
    authserver: AuthServer, oauth_settings: OAuthSettings, port: int, provider_env: object
) -> None:
    app = make_app(budgets=[Budget(scope="team:finance", requests_per_minute=1)])
    token = authserver.token(oauth_settings.resource, ALL_SCOPES)
    with serving(app, oauth_settings, port=port) as base:
        async with mcp_with(base, token) as client:
            first = await client.call_tool("complete", COMPLETE)
            second = await client.call_tool("complete", COMPLETE)
    assert not first.is_error and second.is_error
    assert "quota of team finance is used up" in second.content[0].text  # type: ignore[union-attr]
    assert (second.structured_content or {})["scope"] == "team:finance"
    assert "finance" not in app.settings.teams  # the claim counted for this call only
