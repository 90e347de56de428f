"""Rendering the evidence report (polyroute.report) for people: HTML (self-contained), PDF, charts.

Needs the `report` extra (matplotlib for the charts, reportlab for the PDF): `pip install
'polyroute[report]'`. Both render offline; nothing here touches the network, at render or view time.
"""

from __future__ import annotations

from polyroute.errors import ConfigError

MISSING = "the report's {what} needs the `report` extra: pip install 'polyroute[report]'"


def need(module: str, what: str) -> None:
    """ConfigError (exit 2) naming the extra to install when a rendering dependency is absent."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConfigError(MISSING.format(what=what))
