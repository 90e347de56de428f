"""The evidence report: what the audit log says about a period, verified, for people who do not read JSONL.

    model.py     the report's shape (what `polyroute report --format json` prints)
    tally.py     the streaming accumulator: one pass over the period's events, memory bounded by the
                 number of distinct groups (not by the number of events)
    build.py     `build_report`: verify the chain, stream the log, add the regulatory sections
    sections.py  what each regulation asks for, the report section that answers it, and its source

Rendering (HTML, PDF, charts) lives with the CLI in `polyroute_servers.reporting`: the library stays
free of plotting and PDF dependencies.
"""

from __future__ import annotations

from polyroute.report.build import build_report
from polyroute.report.model import EvidenceReport

__all__ = ["EvidenceReport", "build_report"]
