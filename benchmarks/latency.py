"""Latency of the offline pipeline: `python benchmarks/latency.py [--repeat N]`.

Prints, measured in this one run:
- per-answer latency, warm (model and index loaded): match by answer, match by question, offline judge,
  and the whole evaluate() call, over the ordering test's answers;
- the CLI's wall time cold (empty EVALUATOR_HOME: index assembled from the shipped vectors) and warm
  (index cached), and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cli_seconds(home: str) -> float:
    env = {**os.environ, "EVALUATOR_HOME": home}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), str(ROOT / "examples" / "answer.txt"), "--format", "json"],
        check=True, env=env, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - start


def ms(values: list[float]) -> str:
    p90 = sorted(values)[int(0.9 * (len(values) - 1))]
    return f"median {1000 * statistics.median(values):7.1f} ms  p90 {1000 * p90:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        cold = cli_seconds(home)
        warm = min(cli_seconds(home) for _ in range(args.repeat))
        os.environ["EVALUATOR_HOME"] = home
        from evaluator import Evaluator
        from evaluator.judges import JudgeRequest

        ev = Evaluator(judge="offline")
        ev.match(question="warm-up")
        cases = yaml.safe_load((ROOT / "tests" / "data" / "ordering.yaml").read_text(encoding="utf-8"))
        answers = [(c["id"], c[k]) for c in cases for k in ("complete", "partial", "wrong")]
        timings: dict[str, list[float]] = {
            "match by answer": [],
            "match by question": [],
            "offline judge": [],
            "evaluate()": [],
        }
        judge = ev.offline_judge()
        for _ in range(args.repeat):
            for qid, answer in answers:
                q = ev.bank.get(qid)
                for name, fn in (
                    ("match by answer", lambda a=answer: ev.match(answer=a)),
                    ("match by question", lambda q=q: ev.match(question=q.question)),
                    ("offline judge", lambda q=q, a=answer: judge.judge(JudgeRequest(question=q, answer=a))),
                    ("evaluate()", lambda a=answer: ev.evaluate(a)),
                ):
                    ev.embedder.forget_recent()  # each answer is new to the model, as in real use
                    t = time.perf_counter()
                    fn()
                    timings[name].append(time.perf_counter() - t)
    print(f"bank: {len(ev.bank)} questions; {len(answers)} answers x {args.repeat} repeats, warm")
    for name, values in timings.items():
        print(f"  {name:18s} {ms(values)}")
    print(f"CLI cold (empty cache, shipped vectors): {cold:6.2f} s")
    print(f"CLI warm (index cached):                 {warm:6.2f} s")
    print(f"cold / warm ratio:                       {cold / warm:6.2f}x")


if __name__ == "__main__":
    main()
