"""The suite MCP server: the router, cost, residency and audit tools in one server, for one client entry.

It composes the four servers' `register` functions; it declares no tool of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyroute_servers import audit, cost, residency, router
from polyroute_servers.tasks import TasksExtension
from polyroute_servers.toolkit import PolyrouteServer

if TYPE_CHECKING:
    from polyroute.app import App

PARTS = (router, cost, residency, audit)
INSTRUCTIONS = (
    "Polyroute routes model calls to compliant providers and answers governance questions.\n"
    + "\n".join(part.INSTRUCTIONS for part in PARTS)
)


def build(app: App) -> PolyrouteServer:
    server = PolyrouteServer(
        app, name="polyroute", instructions=INSTRUCTIONS, extensions=[TasksExtension(app)]
    )
    for part in PARTS:
        part.register(server, app)
    return server
