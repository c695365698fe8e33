"""Transcript batch benchmarks (not part of the unit-test run).

    python benchmarks/transcript_batch.py llm       # serial vs --concurrency 8 against the local test
                                                    # OpenAI server with 0.5 s latency per call (target ≥ 5×)
    python benchmarks/transcript_batch.py offline   # the offline judge over 30 turns, warm (target < 10 s)

Both use a 30-turn transcript built from the bundled bank (each question's text, answered with its best
graded anchor answer), run through the real pipeline: batched m3e embedding, FAISS matching, judge, score.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from evaluator import Evaluator  # noqa: E402
from evaluator.models import TranscriptReport, TranscriptTurn  # noqa: E402
from evaluator.transcripts.batch import match_texts, run_turns  # noqa: E402

TURNS = 30
LATENCY_S = 0.5


def thirty_turns(ev: Evaluator, n: int = TURNS) -> list[TranscriptTurn]:
    turns: list[TranscriptTurn] = []
    for q in sorted(ev.bank, key=lambda q: q.id):
        good = sorted((a for a in q.rubric.anchors if a.score >= 60), key=lambda a: -a.score)
        if not good:
            continue
        turns.append(TranscriptTurn(index=len(turns) + 1, question=q.question, answer=good[0].answer))
        if len(turns) == n:
            break
    return turns


def timed(ev: Evaluator, turns: list[TranscriptTurn], concurrency: int) -> tuple[float, TranscriptReport]:
    t0 = time.perf_counter()
    report = run_turns(ev, turns, concurrency=concurrency)
    return time.perf_counter() - t0, report


def describe(report: TranscriptReport) -> str:
    s = report.summary
    return f"{s.graded} graded, {s.unmatched} unmatched, {s.failed} failed, overall {s.overall}"


def bench_llm() -> None:
    from chat_server import ChatServer

    from evaluator.judges.openai_judge import JudgeOptions

    with ChatServer() as server:
        server.delay = LATENCY_S
        options = JudgeOptions(model="bench-model", base_url=server.url, cache=False, concurrency=8)
        ev = Evaluator(judge="openai", judge_options=options)
        turns = thirty_turns(ev)
        ev.index  # noqa: B018  (load the model and the index before timing)
        ev.embedder.encode(["warm-up"])
        serial, r1 = timed(ev, turns, 1)
        calls = len(server.requests)
        parallel, r8 = timed(ev, turns, 8)
        t0 = time.perf_counter()  # the CPU part every run does once: embedding the questions and answers
        ev.embedder.encode([t for turn in turns for t in match_texts(turn)])
        fixed = time.perf_counter() - t0
        print(f"{len(turns)} turns, {LATENCY_S} s per judge call, {calls} calls per run, cpu count {os.cpu_count()}")
        print(f"serial (--concurrency 1): {serial:6.2f} s  ({describe(r1)})")
        print(f"--concurrency 8:          {parallel:6.2f} s  ({describe(r8)}), max in flight {server.max_in_flight}")
        print(f"speed-up: {serial / parallel:.1f}x (target >= 5x)")
        print(
            f"of which embedding {len(turns)} questions + answers (same in both runs): {fixed:.2f} s; "
            f"speed-up of the rest: {(serial - fixed) / max(parallel - fixed, 1e-3):.1f}x"
        )


def bench_offline() -> None:
    ev = Evaluator(judge="offline")
    turns = thirty_turns(ev)
    cold, _ = timed(ev, turns, 4)
    warm, report = timed(ev, turns, 4)
    print(f"{len(turns)} turns, offline judge, cpu count {os.cpu_count()}")
    print(f"first run (loads model + index): {cold:6.2f} s")
    print(f"warm run:                        {warm:6.2f} s  ({describe(report)}) (target < 10 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["llm", "offline", "both"], nargs="?", default="both")
    args = parser.parse_args()
    if args.which in ("llm", "both"):
        bench_llm()
    if args.which in ("offline", "both"):
        bench_offline()


if __name__ == "__main__":
    main()
