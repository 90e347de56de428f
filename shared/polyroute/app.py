"""The composition root: settings → catalog → policy → audit store → providers → router, built once.

Every part is built on first use, so a command or server that needs only the catalog and the policy
never opens the audit store or imports a vendor SDK.
"""

from __future__ import annotations

import getpass
from functools import cached_property
from typing import TYPE_CHECKING

from polyroute.settings import Settings, load_settings

if TYPE_CHECKING:
    from polyroute.audit import AuditStore
    from polyroute.catalog import Catalog
    from polyroute.providers import Providers
    from polyroute.residency import Policy
    from polyroute.routing import Router
    from polyroute.telemetry import Telemetry
    from polyroute.usagecalibration import UsageCalibration


def local_principal() -> str:
    """Who is calling over stdio or the CLI: the local OS user."""
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:unknown"


class App:
    """One wired instance of the library; the CLI and every MCP server take one."""

    def __init__(self, settings: Settings | None = None, *, principal: str | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.principal = principal or local_principal()

    @cached_property
    def catalog(self) -> Catalog:
        from polyroute.catalog import load_catalog

        return load_catalog(self.settings.deployments, where=f"config file {self.settings.config_file}")

    @cached_property
    def policy(self) -> Policy:
        from polyroute.residency import load_policy

        return load_policy(self.settings)

    @cached_property
    def audit(self) -> AuditStore:
        from polyroute.audit import open_store

        return open_store(self.settings)

    @cached_property
    def providers(self) -> Providers:
        from polyroute.providers import Providers

        return Providers(self.settings)

    @cached_property
    def router(self) -> Router:
        from polyroute.routing import Router

        return Router(self)

    @cached_property
    def calibration(self) -> UsageCalibration:
        """Real usage of completed calls, per model, moving later offline quotes (docs/cost.md)."""
        from polyroute.usagecalibration import UsageCalibration

        return UsageCalibration(self.catalog)

    async def seeded_calibration(self) -> UsageCalibration:
        """`calibration`, seeded once from the audit log's recent receipts (a bounded read)."""
        if not self.calibration.seeded:
            await self.calibration.seed(self.audit)
        return self.calibration

    @cached_property
    def telemetry(self) -> Telemetry:
        """The no-op unless OTLP or Prometheus is configured (docs/observability.md)."""
        from polyroute.telemetry import telemetry_for

        return telemetry_for(self.settings)

    async def aclose(self) -> None:
        """Close what was opened (and only that)."""
        if "providers" in self.__dict__:
            await self.providers.aclose()
        if "router" in self.__dict__:
            await self.router.budgets.aclose()  # the ledger's PostgreSQL pool (or SQLite file)
        if "audit" in self.__dict__:
            await self.audit.aclose()
        if "telemetry" in self.__dict__:
            self.telemetry.shutdown()  # flushes spans still batched for OTLP
