"""Asking the user to classify an unclassified `complete` instead of silently applying the defaults.

A call that names neither jurisdiction nor data class, on a server whose config sets no `[defaults]`
for them, would route as "public data, no jurisdiction". When the client can put a form in front of
a person (it declared form elicitation) and the transport can carry the question, the router asks
for both first; a decline or cancel refuses the call (recorded as a refusal, nothing is sent).

How the question travels is the SDK's resolver machinery (`Resolve` + `Elicit`):
- protocol 2026-07-28 (any transport, stateless HTTP included): the `tools/call` answers with an
  `InputRequiredResult` and the client retries with the answer (multi-round-trip requests);
- 2025-11-25 and older: an `elicitation/create` request mid-call, which needs a back channel — stdio
  and in-memory have one, stateless Streamable HTTP does not, so there the defaults apply as before.
A client without the elicitation capability always gets today's behaviour (defaults, recorded as
`classification_defaulted`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit
from mcp.server.session import ServerSession
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from polyroute.dispatch import refuse
from polyroute.errors import PolicyDenied
from polyroute.policy import DataClass
from polyroute_servers.toolkit import app_of

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.routing import RouteRequest

QUESTION = (
    "This request names no jurisdiction or data class, and Polyroute decides where a prompt may be "
    "processed from both. Where are the people or the organisation the data is about, and what kind "
    "of data is it?"
)
_INPUT_REQUIRED_VERSION = "2026-07-28"  # from here on a question rides the tools/call result


class Classification(BaseModel):
    """The form the user fills in: one free-text jurisdiction and a data class from the policy's list."""

    jurisdiction: str = Field(
        min_length=2, max_length=16, description="ISO country or zone of the data, e.g. SA, AE, EU, GB, US"
    )
    data_class: DataClass = Field(description="what the prompt holds; 'public' only if anyone may see it")


def can_ask(session: ServerSession, version: str | None) -> bool:
    """Whether this client can be shown a form on this call: it declared form elicitation, and either
    the protocol carries questions in the result (2026-07-28) or the connection has a back channel."""
    capabilities = session.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    if version is not None and is_version_at_least(version, _INPUT_REQUIRED_VERSION):
        return True
    return session.can_send_request


def would_ask(
    app: App, jurisdiction: str | None, data_class: str | None, session: ServerSession, version: str | None
) -> bool:
    """Unclassified call, no `[defaults]` to fall back on, and a client that can answer."""
    if jurisdiction is not None or data_class is not None:
        return False
    defaults = app.settings.defaults
    if defaults.jurisdiction is not None or defaults.data_class is not None:
        return False
    return can_ask(session, version)


async def ask_classification(
    ctx: Context, jurisdiction: str | None, data_class: str | None
) -> Classification | Elicit[Classification] | None:
    """The resolver behind `complete`'s hidden `classified` parameter: None means "nothing to ask"."""
    if would_ask(app_of(ctx), jurisdiction, data_class, ctx.session, ctx.protocol_version):
        return Elicit(QUESTION, Classification)
    return None


def answered(outcome: ElicitationResult[Classification]) -> Classification | None:
    """The user's classification; None when nothing was asked (the SDK hands a resolver's plain `None`
    on as an accepted outcome whose data is None) or when the question was declined (see `refusal`)."""
    if isinstance(outcome, AcceptedElicitation):
        data: Classification | None = outcome.data
        return data
    return None


async def refusal(app: App, route: RouteRequest, outcome: ElicitationResult[Classification]) -> PolicyDenied:
    """The refusal for a declined or cancelled question, recorded in the audit log like any refusal."""
    error = PolicyDenied(
        f"complete refused: the question about the data's jurisdiction and class was {outcome.action}d "
        "and this server has no [defaults] for them, so nothing was sent to any provider; call complete "
        "again with jurisdiction and data_class"
    )
    await refuse(app.router, route, error)
    return error
