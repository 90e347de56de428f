"""The demo's script: drive the suite server with a real MCP client and print what each tool answers.

Every figure printed comes from a tool result over the wire (structured content), never from the
library directly, so the demo shows exactly what an assistant connected to Polyroute would see.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from mcp import Client

from polyroute_servers.demo_view import (
    allowed_cell,
    choose_showcase,
    count_of,
    dep_id,
    deployments_of,
    footprint,
    live_failure_of,
    plan_summary,
    quote_cell,
    quotes_of,
    reason_text,
    shorten,
    usage_of,
)
from polyroute_servers.output import table, usd

CASES: tuple[tuple[str, str, str], ...] = (
    ("SA", "government_secret", "Saudi government-secret data"),
    ("EU", "personal", "EU personal data"),
    ("AE", "personal", "UAE personal data"),
)
PROMPTS: tuple[tuple[str, str], ...] = (
    ("English", "Summarise the attached procurement memo in three bullet points for the steering committee."),
    ("Arabic", "لخّص مذكرة المشتريات المرفقة في ثلاث نقاط للجنة التوجيهية."),
)
ROUTED: tuple[tuple[str, str, str], ...] = (
    ("SA", "government_secret", "SA government_secret, Arabic"),
    ("EU", "personal", "EU personal, English"),
)
MAX_TOKENS = 400


class DemoFailure(Exception):
    """A step did not produce what the demo needs; the message says which and why."""


class Demo:
    """One walk through the suite's tools, printing readable tables to `out`."""

    def __init__(
        self, client: Client, out: TextIO = sys.stdout, *, live: frozenset[str] = frozenset()
    ) -> None:
        self.client = client
        self.out = out
        self.live = live  # providers reached for real (--live); every other one is a stand-in
        self.provider_of: dict[str, str] = {}
        self.showcase: list[dict[str, Any]] = []
        self.receipt_id: str | None = None

    async def call(
        self, tool: str, arguments: dict[str, Any], *, expect_error: bool = False, may_succeed: bool = False
    ) -> dict[str, Any]:
        """One tool call; its structured result, or its error message under 'error' when one is expected
        (`may_succeed`: an error is allowed, not required)."""
        result = await self.client.call_tool(tool, arguments)
        text = " ".join(block.text for block in result.content if hasattr(block, "text"))  # pyright: ignore
        if result.is_error:
            if expect_error:
                return {"error": text}
            raise DemoFailure(f"{tool} returned an error: {text}")
        if expect_error and not may_succeed:
            raise DemoFailure(f"{tool} was expected to refuse but answered")
        content = result.structured_content
        if isinstance(content, dict):
            return content  # pyright: ignore[reportUnknownVariableType]
        if content is not None:
            return {"result": content}
        try:
            return {"result": json.loads(text or "null")}
        except ValueError:
            return {"result": text}

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def heading(self, number: int, title: str, tool: str) -> None:
        self.say()
        self.say(f"{number}. {title}   [{'tools' if ',' in tool else 'tool'}: {tool}]")

    def pairs(self, rows: Sequence[tuple[str, Any]]) -> None:
        width = max(len(key) for key, _ in rows)
        for key, value in rows:
            self.say(f"   {key.ljust(width)}  {value}")

    def print_table(self, rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
        self.say("   " + table(rows, headers).replace("\n", "\n   "))

    async def run(self) -> None:
        await self.models()
        await self.residency()
        await self.costs()
        await self.completion()
        await self.refusal()
        await self.receipt()
        await self.audit()
        await self.verify()

    async def models(self) -> None:
        listing = await self.call("list_models", {})
        deployments = deployments_of(listing)
        if not deployments:
            raise DemoFailure("list_models returned no deployments")
        self.showcase = choose_showcase(deployments)
        self.provider_of = {dep_id(d): str(d.get("provider")) for d in deployments}
        self.heading(
            1, f"The catalog: {len(deployments)} deployments; a few with different footprints", "list_models"
        )
        self.print_table(
            [(dep_id(d), d.get("provider"), d.get("model"), footprint(d)) for d in self.showcase],
            ["deployment", "provider", "model", "may process in"],
        )
        self.say("   (every deployment: `polyroute catalog list`)")

    async def residency(self) -> None:
        tools = "check_residency, list_allowed_deployments"
        self.heading(2, "Residency: may this data go there? (fails closed)", tools)
        verdicts: dict[tuple[str, str], dict[str, Any]] = {}
        for jurisdiction, data_class, _ in CASES:
            for deployment in self.showcase:
                verdicts[(jurisdiction, dep_id(deployment))] = await self.call(
                    "check_residency",
                    {
                        "jurisdiction": jurisdiction,
                        "data_class": data_class,
                        "deployment": dep_id(deployment),
                    },
                )
        headers = ["deployment", *(f"{j} {c}" for j, c, _ in CASES)]
        rows = [
            [
                dep_id(d),
                *("allowed" if verdicts[(j, dep_id(d))]["allowed"] else "DENIED" for j, _, _ in CASES),
            ]
            for d in self.showcase
        ]
        self.print_table(rows, headers)
        for jurisdiction, data_class, label in CASES:
            mine = {name: v for (j, name), v in verdicts.items() if j == jurisdiction}
            allowed = [name for name, v in mine.items() if v["allowed"]]
            case = {"jurisdiction": jurisdiction, "data_class": data_class}
            whole = await self.call("list_allowed_deployments", case)
            total = len(whole.get("allowed", [])) + len(whole.get("denied", []))
            self.say(f"   {label}: {len(whole.get('allowed', []))} of {total} deployments may take it"
                     f"; in this table: {', '.join(allowed) or 'none'}")  # fmt: skip
            for name in [name for name in mine if name not in allowed][:2]:
                self.say(f"     denied {name}: {reason_text(mine[name], name)}")
        self.say("   A deployment is allowed only if every place it may process or store data is allowed.")

    async def costs(self) -> None:
        self.heading(
            3, f"Cost: one prompt in English and in Arabic (max {MAX_TOKENS} output tokens)", "compare_costs"
        )
        ids = [dep_id(d) for d in self.showcase]
        quotes: dict[str, dict[str, dict[str, Any]]] = {}
        for language, prompt in PROMPTS:
            comparison = await self.call(
                "compare_costs", {"prompt": prompt, "deployments": ids, "max_tokens": MAX_TOKENS}
            )
            for quote in quotes_of(comparison):
                quotes.setdefault(str(quote.get("deployment")), {})[language] = quote
        rows = [
            [name, *(quote_cell(by_language.get(language)) for language, _ in PROMPTS)]
            for name, by_language in quotes.items()
        ]
        self.print_table(
            rows, ["deployment", *(f"{language}: tokens, expected (max)" for language, _ in PROMPTS)]
        )
        self.say(
            "   Token counts: exact where an offline tokenizer exists,"
            " else a heuristic with its error band (±)."
        )
        caveats = {q["price_caveat"] for by in quotes.values() for q in by.values() if q.get("price_caveat")}
        for caveat in sorted(caveats):
            self.say(f"   * {caveat}")

    async def completion(self) -> None:
        self.heading(4, "Routed completions: each goes only where its data may go", "route_request, complete")
        rows: list[tuple[Any, ...]] = []
        notes: list[str] = []
        for jurisdiction, data_class, label in ROUTED:
            arguments = {
                "prompt": PROMPTS[1][1] if jurisdiction == "SA" else PROMPTS[0][1],
                "jurisdiction": jurisdiction, "data_class": data_class, "max_tokens": MAX_TOKENS,
            }  # fmt: skip
            plan = await self.call("route_request", arguments)
            answer = await self.call("complete", arguments, expect_error=bool(self.live), may_succeed=True)
            notes.append(f"{label}: dry run {plan_summary(plan)}")
            live_failure = live_failure_of(answer, self.provider_of, self.live)
            answered_live = self.provider_of.get(str(answer.get("deployment"))) in self.live
            if live_failure is not None and not answered_live:  # no stand-in echo passed off as the answer
                rows.append((label, f"FAILED (live): {shorten(live_failure, 40)}", *["-"] * 6))
                notes.append(f"  no answer shown: the live provider failed ({live_failure})")
                continue
            self.receipt_id = self.receipt_id or str(answer["receipt_id"])
            rows.append((
                label, answer["deployment"], footprint(answer),
                f"{usage_of(answer, 'input_tokens')}/{usage_of(answer, 'output_tokens')}",
                usd(answer.get("estimated_cost_usd")), usd(answer.get("cost_usd")),
                f"{float(answer.get('latency_ms', 0)):.0f} ms", len(answer.get("attempts", [])),
            ))  # fmt: skip
            notes.append(f"  answer from {answer['deployment']}: {shorten(str(answer.get('text', '')), 90)}")
            if live_failure is not None:
                notes.append(f"  (after a live attempt failed: {live_failure})")
        headers = ["request", "routed to", "processes in", "tokens in/out", "estimated", "actual", "latency"]
        headers.append("attempts")
        self.print_table(rows, headers)
        for line in notes:
            self.say(f"   {line}")
        self.say("   (answers from LOCAL STAND-INs echo the prompt)")

    async def refusal(self) -> None:
        self.heading(
            5, "The same secret data pinned to a global deployment: refused, not rerouted", "complete"
        )
        pinned = next(
            (dep_id(d) for d in self.showcase if "ANY" in (d.get("processing_locations") or [])), None
        )
        if pinned is None:
            self.say("   (no global deployment in the catalog to pin)")
            return
        refused = await self.call(
            "complete",
            {
                "prompt": PROMPTS[0][1],
                "jurisdiction": "SA",
                "data_class": "government_secret",
                "model": pinned,
            },
            expect_error=True,
        )
        self.say(f"   model={pinned} → isError:")
        message = refused["error"].split(";")[0].replace(f": {pinned}: ", ": ")
        self.say(f"     {shorten(message, 200)}")

    async def receipt(self) -> None:
        self.heading(6, "The receipt of the first routed call", "get_receipt")
        if self.receipt_id is None:
            self.say("   (no routed call was answered, so there is no completion receipt to show)")
            return
        event = await self.call("get_receipt", {"receipt_id": self.receipt_id})
        event = event["event"] if isinstance(event.get("event"), dict) else event
        details = event.get("details") or {}
        candidates, excluded = count_of(details, "candidates"), count_of(details, "exclusions")
        self.pairs([
            ("receipt / seq", f"{self.receipt_id} / {event.get('seq')} ({event.get('event_type')})"),
            ("principal", event.get("principal")),
            ("classification", f"{event.get('jurisdiction')} / {event.get('data_class')}"),
            ("chosen", event.get("deployment")),
            ("candidates / excluded", f"{candidates} / {excluded}"),
            ("prompt", f"{shorten(str(event.get('prompt_digest')), 28)} (keyed digest; text not stored)"),
            ("hash ← prev_hash", f"{str(event.get('hash'))[:20]}… ← {str(event.get('prev_hash'))[:20]}…"),
        ])  # fmt: skip

    async def audit(self) -> None:
        self.heading(7, "The audit trail so far", "query_events")
        result = await self.call("query_events", {"limit": 20})
        events = result.get("events", [])
        rows = [
            (e.get("seq"), e.get("event_type"), e.get("deployment") or "-", allowed_cell(e.get("allowed")),
             "-" if e.get("cost_usd") is None else usd(e.get("cost_usd")))
            for e in events
        ]  # fmt: skip
        self.print_table(rows, ["seq", "type", "deployment", "allowed", "cost"])

    async def verify(self) -> None:
        self.heading(8, "Verify the hash chain and signed heads", "verify_log")
        result = await self.call("verify_log", {})
        if not result.get("ok"):
            raise DemoFailure(
                f"verify_log: chain broken at seq {result.get('first_bad_seq')}: {result.get('reason')}"
            )
        heads, key = result.get("heads_checked", 0), result.get("key_id") or "?"
        checked = result["events_checked"]
        self.say(f"   ok: {checked} events, hash chain intact; {heads} signed head(s) valid (key {key})")
