"""`polyroute complete`: one routed (or, with --model, pinned) call, with its receipt."""

from __future__ import annotations

import argparse
import asyncio
import sys
import textwrap
from typing import TYPE_CHECKING

from polyroute_servers.commands import Subparsers
from polyroute_servers.output import error, print_json, usd

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.errors import NoRoute
    from polyroute.routing import RoutedCompletion, RouteRequest

STRATEGIES = ("cheapest", "fastest", "best", "balanced")
CAPABILITIES = ("vision", "json", "reasoning", "arabic", "long_context", "tools")


def _max_tokens(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000000")
    return value


def _prompt(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the prompt is empty")
    return text


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "complete",
        help="send a prompt to the best compliant deployment (or a pinned one)",
        description="Route a prompt to a deployment the residency policy allows, call it with fallbacks, "
        "and print the answer with its deployment, cost, attempts and receipt id.",
    )
    parser.add_argument("--prompt", required=True, type=_prompt, help="the user prompt")
    parser.add_argument("--model", help="pin a deployment id (exactly that one) or a model name (any of its)")
    parser.add_argument("--system", help="system prompt")
    parser.add_argument(
        "--max-tokens", type=_max_tokens, default=1024, help="most output tokens (default 1024)"
    )
    parser.add_argument(
        "--jurisdiction", help="e.g. SA, AE, AE-DIFC, EU, GB, US (default: config [defaults])"
    )
    parser.add_argument(
        "--data-class", help="e.g. public, personal, government_secret (default: config, else public)"
    )
    parser.add_argument(
        "--strategy", choices=STRATEGIES, help="how to rank candidates (default: config, balanced)"
    )
    parser.add_argument(
        "--require", nargs="+", action="extend", choices=CAPABILITIES, default=[], metavar="CAP",
        help=f"capabilities the deployment must have: {', '.join(CAPABILITIES)}",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.set_defaults(handler=run)


def run(app: App, args: argparse.Namespace) -> int:
    from polyroute.errors import BudgetExceeded, NoRoute, PolicyDenied, QuotaExceeded
    from polyroute.routing import RouteRequest
    from polyroute.types import CompletionRequest

    request = RouteRequest(
        request=CompletionRequest.from_prompt(args.prompt, system=args.system, max_tokens=args.max_tokens),
        model=args.model, jurisdiction=args.jurisdiction, data_class=args.data_class, strategy=args.strategy,
        require=list(args.require), principal=app.principal, tool="cli:complete",
    )  # fmt: skip
    try:
        result = asyncio.run(_complete(app, request))
    except (PolicyDenied, NoRoute, BudgetExceeded, QuotaExceeded) as refused:
        if isinstance(refused, NoRoute) and not args.json:
            _print_no_route(refused)
            return 1
        if not args.json:
            raise
        error(str(refused))
        print_json({"ok": False, "error": type(refused).__name__, "message": str(refused), **_extra(refused)})
        return 1
    if args.json:
        print_json({"ok": True, **result.model_dump(mode="json")})
    else:
        _print(result)
    return 0


async def _complete(app: App, request: RouteRequest) -> RoutedCompletion:
    """The call and the app's cleanup in one event loop (the SDK clients belong to it)."""
    try:
        return await app.router.complete(request)
    finally:
        await app.aclose()


def _extra(refused: Exception) -> dict[str, object]:
    from polyroute.errors import NoRoute, PolicyDenied, QuotaExceeded

    if isinstance(refused, NoRoute):
        return {"exclusions": refused.exclusions}
    if isinstance(refused, QuotaExceeded):
        return {"scope": refused.scope, "retry_after_s": refused.retry_after_s}
    if isinstance(refused, PolicyDenied) and refused.verdict is not None:
        return {"verdict": refused.verdict}
    return {}


def _print_no_route(refused: NoRoute) -> None:
    """One line per reason, with the deployments it excluded under it: readable even for 40 of them."""
    from polyroute.refusal import exclusion_groups

    head, _, rest = str(refused).partition(" — ")
    lines = [f"polyroute: {head}"]
    for stage, reason, ids in exclusion_groups(refused.exclusions):
        lines.append(f"  {stage} ({len(ids)}): {reason}")
        indent = " " * 6
        listed = ", ".join(ids)
        if len(ids) == len(refused.exclusions) > 3:
            listed = f"all {len(ids)} deployments considered (--json lists them)"
        lines += textwrap.wrap(listed, 100, initial_indent=indent, subsequent_indent=indent,
                               break_on_hyphens=False)  # fmt: skip
    if "more compliant deployments" in rest:
        lines.append(f"  {rest.rsplit('; ', 1)[-1]}")
    sys.stderr.write("\n".join(lines) + "\n")


def _print(result: RoutedCompletion) -> None:
    print(result.text)
    print()
    tried = ", ".join(
        f"{a.deployment}:{'ok' if a.ok else (a.status or 'error')}" for a in result.attempts
    )  # fmt: skip
    rows: list[tuple[str, object]] = [
        ("deployment", f"{result.deployment} ({result.provider}, {result.model})"),
        ("processing", ", ".join(result.processing_locations)),
        ("classification", f"{result.jurisdiction} / {result.data_class}"
         + (" (defaulted)" if result.classification_defaulted else "")),
        ("usage", f"{result.usage.input_tokens} in, {result.usage.output_tokens} out"),
        ("cost", f"{usd(result.cost_usd)} (estimated {usd(result.estimated_cost_usd)})"),
        ("latency", f"{result.latency_ms:.1f} ms"),
        ("attempts", f"{len(result.attempts)}: {tried}"),
        ("receipt", result.receipt_id),
    ]  # fmt: skip
    if result.inference_geo:
        flag = "  RESIDENCY MISMATCH" if result.residency_mismatch else ""
        rows.append(("inference geo", f"{result.inference_geo}{flag}"))
    width = max(len(label) for label, _ in rows)
    print("\n".join(f"{label:<{width}}  {value}" for label, value in rows))
