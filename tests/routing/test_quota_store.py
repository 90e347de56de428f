"""The request window on both stores — a SQLite file and a real PostgreSQL database — shared by several
ledgers (replicas) and, for the file, by several processes: together they never admit more than the limit."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from polyroute.budget import Ledger
from polyroute.budgetfile import SQLiteBudgetLedger
from polyroute.errors import QuotaExceeded
from polyroute.quota import RateKey

T0 = 1_795_000_000.0
KEY = RateKey("team:legal", 5)
OpenLedger = Callable[[], Ledger]


def test_two_replicas_share_one_window(open_ledger: OpenLedger) -> None:
    one, two = open_ledger(), open_ledger()
    for second in range(5):
        (one if second % 2 else two).take([KEY], slot_id=f"s{second}", now=T0 + second)
    with pytest.raises(QuotaExceeded) as refused:
        one.take([KEY], slot_id="late", now=T0 + 30)
    assert (refused.value.scope, refused.value.retry_after_s, refused.value.retry_at) == (
        "team:legal", 30, T0 + 60
    )  # fmt: skip
    [status] = two.rates([KEY], T0 + 30)
    assert (status.used, status.retry_after_s) == (5, 30)
    two.take([KEY], slot_id="on-time", now=T0 + 60)  # the slot taken at T0 has left (now − 60, now]


def test_a_refusal_on_one_key_takes_nothing_on_the_others(open_ledger: OpenLedger) -> None:
    ledger = open_ledger()
    roomy, full = RateKey("principal:alice", 100), RateKey("team:legal", 1)
    ledger.take([full], slot_id="a", now=T0)
    with pytest.raises(QuotaExceeded, match="quota of team legal"):
        ledger.take([roomy, full], slot_id="b", now=T0 + 1)
    assert [s.used for s in ledger.rates([roomy, full], T0 + 1)] == [0, 1]


def test_give_back_and_a_repeated_slot_id(open_ledger: OpenLedger) -> None:
    ledger = open_ledger()
    ledger.take([KEY], slot_id="a", now=T0)
    ledger.take([KEY], slot_id="a", now=T0)  # a retry after a lost acknowledgement counts once
    assert ledger.rates([KEY], T0)[0].used == 1
    ledger.give_back("a")
    ledger.give_back("never-taken")
    assert ledger.rates([KEY], T0)[0].used == 0


def test_old_slots_are_swept(open_ledger: OpenLedger) -> None:
    ledger = open_ledger()
    for index in range(5):
        ledger.take([KEY], slot_id=f"old{index}", now=T0 + index)
    ledger.take([KEY], slot_id="new", now=T0 + 1000)
    ledger.give_back("new")
    assert ledger.rates([KEY], T0 + 4)[0].used == 0  # deleted, so not even a window ending then sees them


def test_replicas_racing_never_admit_more_than_the_limit(open_ledger: OpenLedger) -> None:
    replicas = [open_ledger() for _ in range(4)]
    admitted: list[str] = []
    start = threading.Barrier(8)

    def race(index: int) -> None:
        ledger = replicas[index % 4]
        start.wait()
        for call in range(6):
            try:
                ledger.take([KEY], slot_id=f"{index}-{call}", now=T0 + call / 1000)
            except QuotaExceeded:
                continue
            admitted.append(f"{index}-{call}")

    threads = [threading.Thread(target=race, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == KEY.limit
    assert replicas[0].rates([KEY], T0 + 1)[0].used == KEY.limit


WORKER = """
import json, sys
from pathlib import Path
from polyroute.budgetfile import SQLiteBudgetLedger
from polyroute.errors import QuotaExceeded
from polyroute.quota import RateKey
ledger = SQLiteBudgetLedger(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()
admitted = 0
for call in range(int(sys.argv[3])):
    try:
        key = RateKey("team:legal", int(sys.argv[2]))
        ledger.take([key], slot_id=f"{sys.argv[4]}-{call}", now=1795000000.0)
        admitted += 1
    except QuotaExceeded:
        pass
print(json.dumps(admitted), flush=True)
"""


def test_processes_sharing_one_ledger_file_never_admit_more_than_the_limit(tmp_path: Path) -> None:
    db = tmp_path / "budget.db"
    SQLiteBudgetLedger(db).close()
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(db), "25", "20", str(index)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        for index in range(4)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:  # all four start together
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    admitted = [json.loads(worker.communicate(timeout=60)[0]) for worker in workers]
    assert sum(admitted) == 25  # 80 calls in the same instant, 25 per minute, across four processes
    assert SQLiteBudgetLedger(db).rates([RateKey("team:legal", 25)], T0)[0].used == 25
