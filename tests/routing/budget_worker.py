"""A separate process spending against one budget ledger file (used by test_budget_invariant).

usage: python budget_worker.py DB LIMIT CALLS THREADS MAX_RATIO SEED
Each of THREADS threads makes CALLS calls: reserve a random amount, "call a provider" for a moment,
then settle with amount × a random ratio in [0, MAX_RATIO] (above 1: the quote under-estimated).
It prints "ready", starts when a line arrives on stdin, then prints one JSON line per granted call:
[reserved, actual] as strings, and finally ["refused", count].
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

from polyroute.budget import BudgetKey
from polyroute.budgetfile import SQLiteBudgetLedger
from polyroute.errors import BudgetExceeded

NOW = 1_795_000_000.0


def main(db: str, limit: str, calls: int, threads: int, max_ratio: str, seed: int) -> None:
    ledger = SQLiteBudgetLedger(Path(db))
    key = BudgetKey("team:legal", "day", "2026-11-25", Decimal(limit))
    lock = threading.Lock()
    refused = 0
    print("ready", flush=True)
    sys.stdin.readline()

    def spend(index: int) -> None:
        nonlocal refused
        chance = random.Random(seed * 1000 + index)
        for call in range(calls):
            amount = Decimal(chance.randint(1000, 3000)) / 1_000_000
            actual = (amount * Decimal(chance.randint(0, 100)) / 100 * Decimal(max_ratio)).quantize(amount)
            name = f"{seed}-{index}-{call}"
            try:
                ledger.reserve([key], amount, reservation_id=name, now=NOW)
            except BudgetExceeded:
                with lock:
                    refused += 1
                continue
            time.sleep(chance.uniform(0, 0.004))  # the provider call
            ledger.settle(name, [key], actual)
            with lock:
                print(json.dumps([str(amount), str(actual)]), flush=True)

    workers = [threading.Thread(target=spend, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ledger.close()
    print(json.dumps(["refused", refused]), flush=True)


if __name__ == "__main__":
    db, limit, calls, threads, ratio, seed = sys.argv[1:7]
    main(db, limit, int(calls), int(threads), ratio, int(seed))
