"""`polyroute cost estimate` and `polyroute cost compare`: what a request would cost, before calling.

    polyroute cost estimate --deployment ID (--prompt TEXT | --input-tokens N) --output-tokens M [--json]
    polyroute cost compare (--prompt TEXT | --input-tokens N) --output-tokens M [--deployment ID ...] [--json]

`--output-tokens` is the output expected; `--max-tokens` (default: the same) is the ceiling the max
figure assumes. Both count offline: no part of the prompt leaves the machine. `estimate --exact` asks
Anthropic's count-tokens API when a key is configured and the residency policy lets the prompt go
there (`--offline` is kept for old scripts: it is the default); `compare` over the whole catalog
lists a deployment it cannot price under `unpriced` instead of failing. Bad numbers and unknown ids
are one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from polyroute_servers.commands import Subparsers
from polyroute_servers.output import error, print_json, print_table, usd

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.catalog import Deployment
    from polyroute.cost import Quote
    from polyroute.usagecalibration import UsageCalibration

EXIT_USAGE = 2
ABSURD = 10**9
"""A thousand times the largest context window: a count above it is a typo, not a request to quote."""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("cost", help="what a request would cost (min / expected / max USD)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    estimate = actions.add_parser("estimate", help="quote one request on one deployment")
    estimate.add_argument("--deployment", required=True, help="a catalog id (`polyroute catalog list`)")
    _request_arguments(estimate)
    estimate.add_argument(
        "--exact",
        action="store_true",
        help="send the prompt to the provider's count-tokens API for an exact "
        "count (only where the residency policy lets it go); default: counted offline, nothing leaves",
    )
    estimate.add_argument(
        "--offline", action="store_true", help="count offline (the default; kept for old scripts)"
    )
    estimate.add_argument("--jurisdiction", help="whose rules the prompt falls under (default: config)")
    estimate.add_argument(
        "--data-class",
        help="the prompt's data class (default: config, else public); with --exact, a prompt "
        "goes to a provider's count-tokens API only where the residency policy lets it go",
    )
    estimate.set_defaults(handler=run_estimate)
    compare = actions.add_parser("compare", help="quote one request on many deployments, cheapest first")
    compare.add_argument("--deployment", action="append", help="a catalog id; repeat it; default: all")
    _request_arguments(compare)
    compare.set_defaults(handler=run_compare)


def _request_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", help="the prompt text (its tokens are counted)")
    source.add_argument("--input-tokens", type=int, metavar="N", help="a known input token count")
    parser.add_argument("--system", help="a system prompt, counted with the prompt")
    parser.add_argument(
        "--output-tokens", type=int, required=True, metavar="M", help="expected output tokens"
    )
    parser.add_argument(
        "--max-tokens", type=int, metavar="M", help="output ceiling (default: --output-tokens)"
    )
    parser.add_argument("--batch", action="store_true", help="price at the batch rate")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def _bad_numbers(args: argparse.Namespace) -> str | None:
    for flag, value in (("--input-tokens", args.input_tokens), ("--output-tokens", args.output_tokens),
                        ("--max-tokens", args.max_tokens)):  # fmt: skip
        if value is not None and value > ABSURD:
            return f"{flag} {value:,} is not a request size (at most {ABSURD:,})"
    if args.output_tokens < 0:
        return f"--output-tokens must be 0 or more (got {args.output_tokens})"
    if args.input_tokens is not None and args.input_tokens < 0:
        return f"--input-tokens must be 0 or more (got {args.input_tokens})"
    if args.max_tokens is not None and args.max_tokens < 1:
        return f"--max-tokens must be 1 or more (got {args.max_tokens})"
    if args.max_tokens is not None and args.max_tokens < args.output_tokens:
        return f"--max-tokens ({args.max_tokens}) is below --output-tokens ({args.output_tokens})"
    return None


def _max_tokens(args: argparse.Namespace) -> int:
    return int(args.max_tokens if args.max_tokens is not None else max(1, args.output_tokens))


def _quote_offline(
    deployment: Deployment, args: argparse.Namespace, calibration: UsageCalibration | None = None
) -> Quote:
    from polyroute import cost
    from polyroute.types import CompletionRequest

    if args.input_tokens is not None:
        counted = cost.TokenCount(tokens=args.input_tokens, method="exact", tokenizer="given", error_band=0.0)
    else:
        request = CompletionRequest.from_prompt(args.prompt, system=args.system, max_tokens=_max_tokens(args))
        counted = cost.request_tokens(deployment, request)
        if calibration is not None:
            counted = calibration.adjust(deployment, counted)
    return cost.quote(
        deployment,
        counted,
        max_tokens=_max_tokens(args),
        expected_output_tokens=args.output_tokens,
        batch=args.batch,
    )


def run_estimate(app: App, args: argparse.Namespace) -> int:
    problem = _bad_numbers(args)
    if problem:
        error(problem)
        return EXIT_USAGE
    deployment = app.catalog.get(args.deployment)
    if args.prompt is not None and args.exact and not args.offline and not args.batch:
        quote = _quote_prompt(app, deployment, args)
    else:
        quote = _quote_offline(deployment, args, _calibration(app) if args.prompt is not None else None)
    if args.json:
        print_json(quote)
    else:
        _print_quote(quote, deployment)
    return 0


def _calibration(app: App) -> UsageCalibration:
    """The usage calibration seeded from the audit log's recent receipts (one bounded read; nothing
    when there is no log yet). The store is closed again: this command writes nothing."""
    import asyncio

    async def seeded() -> UsageCalibration:
        try:
            return await app.seeded_calibration()
        finally:
            await app.audit.aclose()

    return asyncio.run(seeded())


def _quote_prompt(app: App, deployment: Deployment, args: argparse.Namespace) -> Quote:
    """Counted by the provider's API where a key is set and the policy lets the prompt go there."""
    import asyncio

    from polyroute import cost
    from polyroute.tokencount import api_count_refusal
    from polyroute.types import CompletionRequest

    request = CompletionRequest.from_prompt(args.prompt, system=args.system, max_tokens=_max_tokens(args))
    defaults = app.settings.defaults
    refusal = api_count_refusal(app.policy, defaults, deployment, args.jurisdiction, args.data_class)
    estimate = cost.estimate(
        deployment,
        request,
        app.settings,
        expected_output_tokens=args.output_tokens,
        send_refusal=refusal,
        exact=True,
        calibration=_calibration(app),
    )
    return asyncio.run(estimate)


def run_compare(app: App, args: argparse.Namespace) -> int:
    problem = _bad_numbers(args)
    if problem:
        error(problem)
        return EXIT_USAGE
    targets = [app.catalog.get(d) for d in args.deployment] if args.deployment else list(app.catalog)
    calibration = _calibration(app) if args.prompt is not None else None
    quotes, unpriced = _quote_all(targets, args, calibration, skip_unpriced=not args.deployment)
    quotes.sort(key=lambda q: (q.expected_usd, q.deployment))
    if args.json:
        print_json({"quotes": quotes, "unpriced": unpriced})
        return 0
    rows = [
        (
            q.deployment + (" *" if q.price_caveat else ""),
            _tokens(q),
            usd(q.min_usd),
            usd(q.expected_usd),
            usd(q.max_usd),
            "yes" if q.fits_context else "NO",
        )
        for q in quotes
    ]
    print_table(
        rows, ("deployment", "input tokens", "min", "expected", "max", "fits"), title="Cost, cheapest first"
    )
    sys.stdout.write("".join(f"* {q.deployment}: {q.price_caveat}\n" for q in quotes if q.price_caveat))
    sys.stdout.write("".join(f"not priced: {row['deployment']}: {row['reason']}\n" for row in unpriced))
    return 0


def _quote_all(
    targets: list[Deployment],
    args: argparse.Namespace,
    calibration: UsageCalibration | None,
    *,
    skip_unpriced: bool,
) -> tuple[list[Quote], list[dict[str, str]]]:
    """Quotes for the targets; over the whole catalog, one deployment without a price is set aside."""
    from polyroute.errors import ConfigError

    quotes: list[Quote] = []
    unpriced: list[dict[str, str]] = []
    for target in targets:
        try:
            quotes.append(_quote_offline(target, args, calibration))
        except ConfigError as problem:
            if not skip_unpriced:
                raise
            unpriced.append({"deployment": target.id, "reason": str(problem)})
    return quotes, unpriced


def _tokens(quote: Quote) -> str:
    if quote.error_band == 0:
        return f"{quote.input_tokens:,} {quote.input_method}"
    calibrated = f" (calibrated, {quote.calibrated_calls} calls)" if quote.calibrated_calls else ""
    return f"{quote.input_tokens:,} ±{quote.error_band:.0%}{calibrated}"


def _print_quote(quote: Quote, deployment: Deployment) -> None:
    out = sys.stdout
    out.write(f"{quote.deployment} ({deployment.model}){' — batch' if quote.batch else ''}\n")
    spread = f", {quote.input_tokens_min:,}–{quote.input_tokens_max:,}" if quote.error_band else ""
    band = f", ±{quote.error_band:.0%}" if quote.error_band else ""
    fields = [
        ("input tokens", f"{quote.input_tokens:,} ({quote.input_method}, {quote.tokenizer}{band}{spread})"),
        ("output tokens", f"expected {quote.expected_output_tokens:,}, max {quote.max_output_tokens:,}"),
        ("min", usd(quote.min_usd)),
        ("expected", usd(quote.expected_usd)),
        ("max", usd(quote.max_usd)),
        ("fits context", f"{'yes' if quote.fits_context else 'NO'} (window {quote.context_window:,})"),
        ("prices", quote.price_source),
        *((("CAVEAT", quote.price_caveat),) if quote.price_caveat else ()),
    ]
    out.write("".join(f"  {name + ':':<15}{value}\n" for name, value in fields))
    if quote.notes:
        out.write("notes:\n" + "".join(f"  - {note}\n" for note in quote.notes))
