"""What accounts cost: the permission check per question beside retrieval, measured in the
same run, and how many logins and token checks one process makes per second.

    python eval/bench_accounts.py [--questions 40]

The seed is ingested into collections hr and eng of a fresh index; alice reads hr. Each seed
question is asked as the UI asks it: ``chosen`` (the account read, the collection checked,
the user's view opened: the check) then ``retrieve`` on that view, each timed alone; then the
same retrieval without accounts. Logins are ``Lockout.login`` with the right password (an
Argon2id hash each); token checks are ``Accounts.by_token`` (a SHA-256 and a lookup).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["Which leader voiced support for Macron's stance?",
             "Who opposed the idea, fearing it could sow discord among allies?",
             "Which newspaper reported Macron's confidential discussions?",
             "What did Macron propose?", "Who is the Estonian Prime Minister?"]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def per_second(call, seconds: float) -> float:
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        call()
        n += 1
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=40)
    args = parser.parse_args()
    os.environ.setdefault("QA_BACKEND", "extractive")
    from qa import QA
    from qa.accounts import Accounts, Lockout
    from qa.ui.app import chosen

    asked = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.questions)]
    with tempfile.TemporaryDirectory() as work:
        ix = Path(work) / "ix"
        with QA(ix, collection="hr", backend="extractive") as qa:
            qa.ingest(ROOT / "seeds")
            qa.collection("eng").ingest(ROOT / "seeds")
            plain: list[float] = []
            for q in asked:  # without accounts
                started = time.perf_counter()
                qa.retrieve(q)
                plain.append(time.perf_counter() - started)
            accounts = Accounts(ix)
            accounts.add("alice", "alice-passw0rd", read=["hr"])
            check, retrieval = [], []
            for q in asked:
                started = time.perf_counter()
                view = chosen(qa, "hr", "alice")
                checked = time.perf_counter()
                view.retrieve(q)
                check.append(checked - started)
                retrieval.append(time.perf_counter() - checked)
        lockout = Lockout(accounts)
        logins = per_second(lambda: lockout.login("alice", "alice-passw0rd", "127.0.0.1"), 5)
        token = accounts.issue_token("alice")
        tokens = per_second(lambda: accounts.by_token(token), 3)
    print(json.dumps({
        "questions": len(asked), "load_average": os.getloadavg()[0],
        "check_ms": {"p50": pct(check, 0.5), "p95": pct(check, 0.95)},
        "retrieval_ms": {"p50": pct(retrieval, 0.5), "p95": pct(retrieval, 0.95)},
        "retrieval_without_accounts_ms": {"p50": pct(plain, 0.5), "p95": pct(plain, 0.95)},
        "check_share_of_retrieval_p50": statistics.median(check) / statistics.median(retrieval),
        "logins_per_s": round(logins, 2), "token_checks_per_s": round(tokens),
    }, indent=2))


if __name__ == "__main__":
    main()
