"""Requests-per-minute quotas: configuration, the sliding window's edges, concurrency on a real ledger
file, and the routed path (refused before the intent, with a receipt, taking no slot and no budget)."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from routing_fixtures import Clock, make_app

from polyroute.audit import AuditEvent, EventQuery
from polyroute.budgetfile import SQLiteBudgetLedger
from polyroute.errors import ConfigError, QuotaExceeded
from polyroute.quota import Quotas, RateKey, rate_refusal
from polyroute.routing import RoutedCompletion, RouteRequest
from polyroute.settings import Budget, Settings, load_settings
from polyroute.testing import FakeProviders
from polyroute.types import CompletionRequest

T0 = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC


def quotas(tmp_path: Path, clock: Clock, *budgets: Budget) -> Quotas:
    settings = Settings(data_dir=tmp_path, budgets=list(budgets), teams={"legal": ["alice", "bob"]})
    ledger = SQLiteBudgetLedger(tmp_path / "budget.db")
    return Quotas(settings, lambda: ledger, clock=clock)


def rpm(scope: str, limit: int) -> Budget:
    return Budget(scope=scope, requests_per_minute=limit)


def test_config_entries_carry_spend_requests_per_minute_or_both(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[teams]\nlegal = ["local:alice"]\n'
        '[[budgets]]\nscope = "team:legal"\nperiod = "month"\nlimit_usd = "500"\n'  # as before
        '[[budgets]]\nscope = "principal:local:alice"\nrequests_per_minute = 30\n'
        '[[budgets]]\nscope = "team:legal"\nperiod = "day"\nlimit_usd = "20"\nrequests_per_minute = 120\n'
    )
    budgets = load_settings(config_file=config).budgets
    assert [(b.period, b.limit_usd, b.requests_per_minute) for b in budgets] == [
        ("month", Decimal("500"), None), (None, None, 30), ("day", Decimal("20"), 120),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('scope = "team:x"', "no limit given"),
        ('scope = "team:x"\nperiod = "day"', "period and limit_usd go together"),
        ('scope = "team:x"\nlimit_usd = "5"', "period and limit_usd go together"),
        ('scope = "team:x"\nrequests_per_minute = 0', "greater than or equal to 1"),
        ('scope = "team:x"\nrequests_per_minute = true', "valid integer"),
        ('scope = "team:x"\nrequests_per_minute = "30"', "valid integer"),
        ('scope = "team:x"\nrequests_per_mintue = 30', "did you mean 'requests_per_minute'"),
    ],
)
def test_a_half_or_mistyped_limit_is_refused_at_load(tmp_path: Path, entry: str, problem: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[[budgets]]\n{entry}\n")
    with pytest.raises(ConfigError, match=problem):
        load_settings(config_file=config)


def test_teams_are_the_configured_ones_and_those_the_identity_carries(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, teams={"legal": ["alice"]})
    assert settings.teams_of("alice", ["finance", "legal"]) == ["finance", "legal"]
    assert settings.limit_scopes("bob", ["finance"]) == {"principal:bob", "team:finance"}
    assert settings.teams == {"legal": ["alice"]}  # nothing learnt from a call is kept


def test_keys_cover_principal_and_teams_and_the_lower_of_two_entries_holds(tmp_path: Path) -> None:
    spend = Budget(scope="team:ops", period="day", limit_usd=Decimal(1))
    entries = [rpm("principal:alice", 5), rpm("team:legal", 9), rpm("team:legal", 7), rpm("team:finance", 3)]
    limits = quotas(tmp_path, Clock(), *entries, spend)
    assert limits.keys_for("alice") == [RateKey("principal:alice", 5), RateKey("team:legal", 7)]
    assert limits.keys_for("carol", ["finance"]) == [RateKey("team:finance", 3)]
    assert limits.keys_for("carol") == []
    assert limits.take("carol") is None  # no quota applies: nothing taken, nothing counted


def test_the_window_slides_the_limit_holds_in_every_60_s_span_and_the_retry_time_is_exact(
    tmp_path: Path,
) -> None:
    clock = Clock()
    limits = quotas(tmp_path, clock, rpm("principal:alice", 3))
    for at in (T0, T0 + 10, T0 + 20):
        clock.now = at
        limits.take("alice")
    clock.now = T0 + 59.9
    with pytest.raises(QuotaExceeded) as refused:
        limits.take("alice")
    assert (refused.value.retry_after_s, refused.value.retry_at) == (1, T0 + 60)  # the first slot leaves
    assert str(refused.value) == (
        "no call made: the requests-per-minute quota of principal alice is used up (3 per minute, 3 calls "
        "in the last 60 s); retry in 1 s, at 2026-11-18 11:07:40 UTC"
    )
    clock.now = T0 + 60  # (now − 60, now]: the slot taken at T0 is out
    limits.take("alice")
    clock.now = T0 + 61
    with pytest.raises(QuotaExceeded) as again:  # the refused calls took no slot: the next frees at +70
        limits.take("alice")
    assert (again.value.retry_after_s, again.value.retry_at) == (9, T0 + 70)
    assert [s.used for s in limits.status("alice")] == [3]


def test_a_fixed_minute_boundary_gives_no_second_allowance(tmp_path: Path) -> None:
    clock = Clock()
    limits = quotas(tmp_path, clock, rpm("principal:alice", 2))
    clock.now = 1_795_000_079.0  # 11:07:59, a second before the minute turns
    limits.take("alice")
    limits.take("alice")
    clock.now += 2  # 11:08:01: a fixed-minute counter would have reset
    with pytest.raises(QuotaExceeded, match="retry in 58 s"):
        limits.take("alice")


def test_a_lowered_limit_names_when_enough_slots_leave(tmp_path: Path) -> None:
    ledger = SQLiteBudgetLedger(tmp_path / "budget.db")
    for second in range(5):
        ledger.take([RateKey("team:legal", 5)], slot_id=f"s{second}", now=T0 + second)
    with pytest.raises(QuotaExceeded) as refused:  # 5 in the window, limit now 2: wait for 4 to leave
        ledger.take([RateKey("team:legal", 2)], slot_id="late", now=T0 + 30)
    assert refused.value.retry_at == T0 + 3 + 60
    assert rate_refusal(RateKey("team:legal", 2), 1, None, T0) is None


def test_a_refused_team_quota_takes_no_slot_on_the_principal_either(tmp_path: Path) -> None:
    clock = Clock()
    limits = quotas(tmp_path, clock, rpm("principal:alice", 10), rpm("team:legal", 1))
    limits.take("bob")
    with pytest.raises(QuotaExceeded, match="quota of team legal"):
        limits.take("alice")
    assert [(s.scope, s.used) for s in limits.status("alice")] == [("principal:alice", 0), ("team:legal", 1)]


def test_a_slot_given_back_frees_its_place(tmp_path: Path) -> None:
    limits = quotas(tmp_path, Clock(), rpm("principal:alice", 1))
    slot = limits.take("alice")
    asyncio.run(limits.give_back_async(slot))
    assert limits.take("alice") is not None


def test_n_threads_on_separate_ledger_connections_never_exceed_the_limit(tmp_path: Path) -> None:
    key = RateKey("team:legal", 7)
    admitted: list[str] = []
    refused: list[int] = []
    start = threading.Barrier(12)

    def caller(index: int) -> None:
        ledger = SQLiteBudgetLedger(tmp_path / "budget.db")  # its own connection, as another process has
        start.wait()
        for call in range(5):
            try:
                ledger.take([key], slot_id=f"{index}-{call}", now=T0 + call * 0.001)
                admitted.append(f"{index}-{call}")
            except QuotaExceeded as error:
                refused.append(error.retry_after_s)
        ledger.close()

    threads = [threading.Thread(target=caller, args=(index,)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 7 and len(refused) == 60 - 7
    assert all(wait == 60 for wait in refused)  # every slot was taken within the same few ms


# ---- the routed path ------------------------------------------------------------------------------


def route(principal: str = "local:tester", **fields: object) -> RouteRequest:
    request = CompletionRequest.from_prompt("Hello router", max_tokens=100)
    return RouteRequest.model_validate({"request": request, "principal": principal, "jurisdiction": "SA",
                                        "data_class": "personal", **fields})  # fmt: skip


def routed_app(fakes: FakeProviders, tmp_path: Path, clock: Clock, budgets: list[Budget]):  # type: ignore[no-untyped-def]
    app = make_app(fakes, tmp_path / "data", clock, budgets)
    app.router.quotas.clock = clock
    return app


@pytest.fixture
def provider_env(fakes: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> FakeProviders:
    for name, value in fakes.env().items():
        monkeypatch.setenv(name, value)
    fakes.clear()
    return fakes


def test_over_quota_the_call_is_refused_before_the_intent_with_a_receipt_and_no_budget(
    provider_env: FakeProviders, tmp_path: Path, clock: Clock
) -> None:
    spend = Budget(scope="team:legal", period="day", limit_usd=Decimal("100"))
    app = routed_app(provider_env, tmp_path, clock, [rpm("principal:local:tester", 2), spend])

    async def go() -> tuple[list[RoutedCompletion | QuotaExceeded], list[AuditEvent]]:
        outcomes: list[RoutedCompletion | QuotaExceeded] = []
        try:
            for _ in range(3):
                try:
                    outcomes.append(await app.router.complete(route()))
                except QuotaExceeded as refused:
                    outcomes.append(refused)
            return outcomes, await app.audit.query(EventQuery())
        finally:
            await app.aclose()

    (first, second, third), events = asyncio.run(go())
    assert isinstance(first, RoutedCompletion) and isinstance(second, RoutedCompletion)
    assert isinstance(third, QuotaExceeded) and third.retry_after_s == 60
    assert len([r for server in provider_env.servers for r in server.seen()]) == 2  # no third request
    assert sorted(e.event_type for e in events) == ["completion", "completion", "intent", "intent", "refusal"]
    (refusal,) = [e for e in events if e.event_type == "refusal"]
    assert refusal.allowed is False and refusal.intent_id is None and str(third) in refusal.reasons
    assert refusal.details["error"] == "QuotaExceeded"
    assert refusal.details["quota"] == {"scope": "principal:local:tester", "requests_per_minute": 2,
                                        "retry_after_s": 60}  # fmt: skip
    (status,) = app.router.budgets.status("local:tester")
    assert status.reserved_usd == 0 and status.spent_usd == first.cost_usd + second.cost_usd


def test_a_call_refused_by_policy_or_budget_takes_no_slot(
    provider_env: FakeProviders, tmp_path: Path, clock: Clock
) -> None:
    tiny = Budget(scope="principal:local:tester", period="day", limit_usd=Decimal("0.0000001"))
    app = routed_app(provider_env, tmp_path, clock, [rpm("principal:local:tester", 1), tiny])

    async def go() -> None:
        try:
            for _ in range(3):
                with pytest.raises(Exception, match="budget|may not take") as refused:
                    await app.router.complete(route())
                assert not isinstance(refused.value, QuotaExceeded)
        finally:
            await app.aclose()

    asyncio.run(go())
    assert [s.used for s in app.router.quotas.status("local:tester")] == [0]


def test_teams_carried_by_the_call_count_for_quotas_without_joining_settings(
    provider_env: FakeProviders, tmp_path: Path, clock: Clock
) -> None:
    app = routed_app(provider_env, tmp_path, clock, [rpm("team:finance", 1)])

    async def go() -> None:
        try:
            await app.router.complete(route("oauth:agent", teams=["finance"]))
            await app.router.complete(route("oauth:agent"))  # carries no team this time: not limited
            with pytest.raises(QuotaExceeded, match="quota of team finance"):
                await app.router.complete(route("oauth:other", teams=["finance"]))
        finally:
            await app.aclose()

    asyncio.run(go())
    assert "finance" not in app.settings.teams



def test_a_call_the_budget_stops_after_its_slot_was_taken_gives_the_slot_back(
    provider_env: FakeProviders, tmp_path: Path, clock: Clock
) -> None:
    request = route(model="sa-mid")
    probe = make_app(provider_env, tmp_path / "probe", clock)
    room = probe.router.plan(request).candidates[0].max_cost_usd * 3 / 2  # one reservation at a time
    spend = Budget(scope="principal:local:tester", period="day", limit_usd=room)
    app = routed_app(provider_env, tmp_path, clock, [rpm("principal:local:tester", 100), spend])

    async def one() -> RoutedCompletion | Exception:
        try:
            return await app.router.complete(request)
        except Exception as refused:  # noqa: BLE001 - the budget's refusal, at plan or at attempt time
            return refused

    async def go() -> tuple[list[RoutedCompletion | Exception], list[AuditEvent]]:
        try:
            outcomes = await asyncio.gather(*(one() for _ in range(6)))
            return outcomes, await app.audit.query(EventQuery())
        finally:
            await app.aclose()

    outcomes, events = asyncio.run(go())
    done = [o for o in outcomes if isinstance(o, RoutedCompletion)]
    assert done and all(isinstance(o, RoutedCompletion) or "budget" in str(o) for o in outcomes)
    late = [e for e in events if e.event_type == "refusal" and e.intent_id is not None]
    assert late  # some were stopped by the budget after their intent (and slot): the path under test
    assert [s.used for s in app.router.quotas.status("local:tester")] == [len(done)]
