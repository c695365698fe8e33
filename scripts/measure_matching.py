"""Print question-matching rates on labelled sets of user-typed questions.

.venv/bin/python scripts/measure_matching.py tests/data/matching_blind.jsonl [--failures]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from evaluator import Evaluator
from evaluator.matching.quality import load_cases, measure


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--failures", action="store_true", help="list every miss")
    args = parser.parse_args()
    ev = Evaluator(judge="offline")
    ev.match(question="warm-up")
    for path in args.sets:
        cases = load_cases(path)
        start = time.perf_counter()
        report = measure(lambda t: ev.match(question=t), cases)
        per = (time.perf_counter() - start) / max(len(cases), 1) * 1000
        print(f"{path}: {len(cases)} questions, {per:.1f} ms each")
        for k, v in report.rates().items():
            print(f"  {k:24s} {v}")
        if args.failures:
            for o in report.outcomes:
                if o.case.expected is None and o.confident:
                    print(f"  OOB-MATCHED {o.case.text!r} -> {o.top}")
                elif o.case.expected is not None and not o.right:
                    tag = "WRONG" if o.wrong else ("REFUSED" if o.case.expected in o.shown else "NOT-SHOWN")
                    print(f"  {tag:9s} {o.case.text!r} expected {o.case.expected}, got {o.shown[:3]}")


if __name__ == "__main__":
    main()
