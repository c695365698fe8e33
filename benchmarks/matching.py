"""Question matching speed: warm latency per question and the cold-start cost of its model.

    .venv/bin/python benchmarks/matching.py

Prints, measured in one run: the e5 model's load time, the question index's build time (vectors
from the shipped store), then the warm median / p90 of matching a user-typed question, beside the
same for matching an answer (m3e), the path that existed before.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from evaluator import Evaluator
from evaluator.encoders.multilingual import MultilingualEmbedder

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "tests" / "data" / "matching_dev.jsonl"


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    texts = [json.loads(line)["text"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    load = _timed(lambda: MultilingualEmbedder().encode(["warm-up"]))
    ev = Evaluator(judge="offline")
    build = _timed(lambda: ev.question_index)
    ev.match(question=texts[0])
    question_ms = [1000 * _timed(lambda t=t: ev.match(question=t)) for t in texts]
    ev.match(answer="warm-up answer")
    answers = [ev.bank.get(i).reference[:200] for i in ev.bank.ids[:60]]
    answer_ms = [1000 * _timed(lambda a=a: ev.match(answer=a)) for a in answers]

    def p90(xs: list[float]) -> float:
        return sorted(xs)[int(0.9 * (len(xs) - 1))]

    print(f"e5 model load (first text embedded): {load:.2f} s")
    print(f"question index build (shipped vectors): {build:.2f} s")
    print(f"{'':28s}{'median ms':>10s}{'p90 ms':>10s}")
    print(f"{'match a question (e5)':28s}{statistics.median(question_ms):10.1f}{p90(question_ms):10.1f}")
    print(f"{'match an answer (m3e)':28s}{statistics.median(answer_ms):10.1f}{p90(answer_ms):10.1f}")
    print(f"ratio question / answer (median): {statistics.median(question_ms) / statistics.median(answer_ms):.2f}")


if __name__ == "__main__":
    main()
