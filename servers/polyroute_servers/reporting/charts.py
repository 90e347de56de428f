"""The report's charts with matplotlib (Agg backend, no display, no network): spend over time per
provider, routed calls by jurisdiction, refusals by reason. SVG keeps text as text (searchable in the
HTML); the PDF takes PNG."""

from __future__ import annotations

import io
from collections import defaultdict
from typing import TYPE_CHECKING

from polyroute.report import EvidenceReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLOURS = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4b5563")


def _figure(title: str) -> tuple[Figure, object]:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "polyroute", "font.size": 9})
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 2.6), layout="constrained")
    axes = figure.subplots()
    axes.set_title(title, loc="left", fontsize=10, fontweight="bold")
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def spend_chart(report: EvidenceReport) -> Figure | None:
    """Stacked bars: USD per time bucket, one colour per provider."""
    if not report.spend_over_time:
        return None
    buckets = sorted({p.bucket for p in report.spend_over_time})
    by_provider: defaultdict[str, dict[str, float]] = defaultdict(dict)
    for point in report.spend_over_time:
        by_provider[point.provider][point.bucket] = float(point.cost_usd)
    figure, axes = _figure("Spend over time per provider (USD)")
    bottom = [0.0] * len(buckets)
    for index, (provider, values) in enumerate(sorted(by_provider.items())):
        heights = [values.get(b, 0.0) for b in buckets]
        axes.bar(buckets, heights, bottom=bottom, label=provider, color=COLOURS[index % len(COLOURS)])  # type: ignore[attr-defined]
        bottom = [a + b for a, b in zip(bottom, heights, strict=True)]
    axes.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # type: ignore[attr-defined]
    axes.tick_params(axis="x", labelrotation=30, labelsize=7)  # type: ignore[attr-defined]
    return figure


def _barh(title: str, counts: dict[str, int], colour: str) -> Figure | None:
    if not counts:
        return None
    figure, axes = _figure(title)
    labels = list(counts)[::-1]
    axes.barh(labels, [counts[k] for k in labels], color=colour)  # type: ignore[attr-defined]
    axes.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[attr-defined]
    return figure


def jurisdiction_chart(report: EvidenceReport) -> Figure | None:
    """Routed calls (every outcome) per jurisdiction/data class rule."""
    counts: defaultdict[str, int] = defaultdict(int)
    for row in report.rules:
        counts[row.rule] += row.calls
    return _barh("Routed calls by jurisdiction / data class", dict(sorted(counts.items())), COLOURS[0])


def refusal_chart(report: EvidenceReport) -> Figure | None:
    return _barh("Refusals by reason", {r.reason: r.count for r in report.refusals}, COLOURS[4])


def charts(report: EvidenceReport) -> list[Figure]:
    return [f for f in (spend_chart(report), jurisdiction_chart(report), refusal_chart(report)) if f]


def svg(figure: Figure) -> str:
    """Inline SVG (no XML prolog or DOCTYPE, which do not belong inside HTML)."""
    out = io.StringIO()
    figure.savefig(out, format="svg")
    text = out.getvalue()
    return text[text.index("<svg") :]


def png(figure: Figure, dpi: int = 150) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=dpi)
    return out.getvalue()
