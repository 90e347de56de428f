"""`polyroute residency check --jurisdiction J --data-class C --deployment ID [--json]` and
`polyroute residency explain [--jurisdiction J] [--json]`.

A check exits 0 when allowed and 1 when denied. Something named on the command line that does not
exist (deployment, jurisdiction, data class) is still a denial (the policy fails closed, and `--json`
prints that verdict), but exits 2 like every other usage error, with one line on stderr naming the
closest known ids.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from polyroute_servers.commands import Subparsers
from polyroute_servers.output import error, print_json, print_table

if TYPE_CHECKING:
    from polyroute.app import App
    from polyroute.residency import Verdict

CLASSES_HELP = (
    "public, internal, confidential, personal, sensitive_personal, financial_regulated, health, "
    "government_restricted or government_secret"
)


def register(subparsers: Subparsers) -> None:
    residency = subparsers.add_parser(
        "residency", help="may this data go to this deployment? (residency policy)"
    )
    actions = residency.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="check one deployment against the policy")
    check.add_argument("--jurisdiction", required=True, help="e.g. SA, AE, AE-DIFC, EU, GB, US")
    check.add_argument("--data-class", required=True, help=CLASSES_HELP)
    check.add_argument("--deployment", required=True, help="a catalog id (`polyroute catalog list`)")
    check.add_argument("--json", action="store_true", help="print the verdict as one JSON document")
    check.set_defaults(handler=check_residency)
    explain = actions.add_parser("explain", help="list the rules in force and what they cite")
    explain.add_argument("--jurisdiction", help="only this jurisdiction's rules")
    explain.add_argument("--json", action="store_true", help="one JSON document")
    explain.set_defaults(handler=explain_policy)


def check_residency(app: App, args: argparse.Namespace) -> int:
    deployment = app.catalog.find(args.deployment)
    verdict = app.policy.check(args.jurisdiction, args.data_class, deployment, deployment_id=args.deployment)
    if args.json:
        print_json(verdict)
    unknown = _unknown_names(app, args, known_deployment=deployment is not None)
    if unknown:
        error(f"denied: {'; '.join(unknown)}")
        return 2
    if verdict.rule is None:
        error(f"denied: {'; '.join(verdict.reasons)}")
    elif not args.json:
        _print_verdict(verdict)
    return 0 if verdict.allowed else 1


def _unknown_names(app: App, args: argparse.Namespace, *, known_deployment: bool) -> list[str]:
    """What the command line named that does not exist, each with the closest names that do."""
    from polyroute.errors import UnknownDeployment
    from polyroute.residency import DATA_CLASSES, canonical_jurisdiction
    from polyroute_servers.suggestion import did_you_mean

    problems: list[str] = []
    jurisdictions = app.policy.jurisdictions
    if canonical_jurisdiction(args.jurisdiction) not in jurisdictions:
        hint = did_you_mean(canonical_jurisdiction(args.jurisdiction), jurisdictions, show_all=True)
        problems.append(f"unknown jurisdiction {args.jurisdiction!r}{hint}")
    if args.data_class not in DATA_CLASSES:
        hint = did_you_mean(args.data_class, DATA_CLASSES)
        problems.append(f"unknown data class {args.data_class!r}{hint}")
    if not known_deployment:
        try:
            app.catalog.get(args.deployment)
        except UnknownDeployment as unknown:  # its message names the closest ids
            problems.append(str(unknown))
    return problems


def _print_verdict(verdict: Verdict) -> None:
    out = sys.stdout
    word = "ALLOWED" if verdict.allowed else "DENIED"
    out.write(f"{word}: {verdict.jurisdiction} {verdict.data_class} data → {verdict.deployment}\n")
    fields = [
        ("rule", verdict.rule),
        ("allowed locations", ", ".join(verdict.allowed_locations) or "nowhere"),
        ("processing", ", ".join(verdict.processing_locations)),
        ("storage", ", ".join(verdict.storage_locations)),
        ("policy version", verdict.policy_version),
    ]
    out.write("".join(f"  {name + ':':<19}{value}\n" for name, value in fields))
    out.write("reasons:\n" + "".join(f"  - {reason}\n" for reason in verdict.reasons))
    out.write("sources:\n" + "".join(f"  - {source}\n" for source in verdict.citations))
    if verdict.note:
        out.write(f"note: {verdict.note}\n")


def explain_policy(app: App, args: argparse.Namespace) -> int:
    from polyroute.residency import canonical_jurisdiction

    policy = app.policy
    if (
        args.jurisdiction is not None
        and canonical_jurisdiction(args.jurisdiction) not in policy.jurisdictions
    ):
        error(
            f"unknown jurisdiction {args.jurisdiction!r}; "
            f"the policy has rules for {', '.join(policy.jurisdictions)}"
        )
        return 2
    explanation = policy.explain(args.jurisdiction)
    if args.json:
        print_json(explanation)
        return 0
    rows = [
        (
            rule.id,
            ", ".join(rule.allowed) or "nowhere",
            _requirements(rule.requirements.model_dump(exclude_defaults=True)),
            rule.origin,
            rule.citations[0] if rule.citations else "",
        )
        for rule in explanation.rules
    ]
    headers = ["rule", "allowed", "requirements", "origin", "source"]
    print_table(rows, headers, title=f"policy {explanation.version}")
    return 0


def _requirements(values: dict[str, object]) -> str:
    return ", ".join(f"{key}={value}" for key, value in values.items()) or "-"
