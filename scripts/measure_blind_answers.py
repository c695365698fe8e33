"""The offline evaluator on the blind answer set: `python scripts/measure_blind_answers.py`.

eval_data/blind_answers.jsonl holds answers written by someone who saw only the questions, graded by a
separate grader (eval_data/BLIND.md); nothing in the product is fitted on it. Each answer is graded
by question id (matching is measured elsewhere). Prints agreement with the grades, each style's mean
score beside its mean grade, how many correct answers (strong, english) are told they made a wrong
claim, how many fluent-wrong answers are told so, and on how many questions the short correct
answer scores above the fluent-wrong one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=ROOT / "eval_data" / "blind_answers.jsonl")
    parser.add_argument("--show", type=int, default=6, help="wrong claims reported on correct answers to print")
    args = parser.parse_args()
    os.environ.setdefault("EVALUATOR_HOME", tempfile.mkdtemp(prefix="blind-answers-"))
    from scipy.stats import pearsonr, spearmanr

    from evaluator import Evaluator

    rows = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    ev = Evaluator(judge="offline")
    scores: list[float] = []
    errors: list[tuple[str, ...]] = []
    for r in rows:
        result = ev.evaluate(r["answer"], question_id=r["question_id"])
        scores.append(float(result.score or 0.0))
        errors.append(result.errors)
    grades = np.array([float(r["grade"]) for r in rows])
    predicted = np.array(scores)
    print(f"{len(rows)} answers, {len({r['question_id'] for r in rows})} questions ({args.file.name})")
    print(
        f"Pearson {pearsonr(predicted, grades)[0]:.3f}  Spearman {spearmanr(predicted, grades)[0]:.3f}  "
        f"MAE {np.mean(np.abs(predicted - grades)):.1f}  RMSE {np.sqrt(np.mean((predicted - grades) ** 2)):.1f}"
    )
    by_style: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_style[r["style"]].append(i)
    print("style          n   grade  score  with a wrong claim reported")
    for style, idx in sorted(by_style.items()):
        flagged = sum(1 for i in idx if errors[i])
        print(
            f"{style:12s} {len(idx):3d}   {statistics.mean(grades[idx]):5.1f}  {statistics.mean(predicted[idx]):5.1f}"
            f"  {flagged}/{len(idx)}"
        )
    short = {r["question_id"]: i for i, r in enumerate(rows) if r["style"] == "short"}
    wrong = {r["question_id"]: i for i, r in enumerate(rows) if r["style"] == "fluent-wrong"}
    both = sorted(set(short) & set(wrong))
    above = sum(1 for q in both if predicted[short[q]] > predicted[wrong[q]])
    print(f"short correct answer above the fluent-wrong one: {above}/{len(both)} questions")
    shown = 0
    for i, r in enumerate(rows):
        if r["style"] in ("strong", "english") and errors[i] and shown < args.show:
            print(f"  {r['id']} ({r['style']}, graded {r['grade']}): reported {errors[i][0][:90]}")
            shown += 1


if __name__ == "__main__":
    main()
