"""Fit the question matcher's weights and confidence rule; writes evaluator/data/question_match.json.

    .venv/bin/python scripts/fit_question_match.py [--dry-run]

Fitting data, all from the bank and the development set (never the blind set):
- each phrasing (question or alias) searched with itself left out: it must find its entry through
  the entry's other phrasings (positives);
- each entry's question searched with the whole entry left out: a question the bank lacks, which
  must not be matched confidently (hard negatives: the entry's siblings are still there);
- tests/data/matching_dev.jsonl: user-typed variants and out-of-bank questions.
Choice: the most confident-and-right positives with at most 1% confident-and-wrong, at most 5% of
the development set's out-of-bank questions and at most MAX_HARD_NEGATIVE of the hard negatives
matched confidently.
"""

from __future__ import annotations

import argparse
import itertools
import json
from datetime import date
from pathlib import Path

import numpy as np

from evaluator import Evaluator
from evaluator.question_match import QuestionMatchParams, save_params
from evaluator.question_text import focus

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "matching_dev.jsonl"
MAX_WRONG = 0.01
MAX_OUT_OF_BANK = 0.05
MAX_HARD_NEGATIVE = 0.35


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    ev = Evaluator(judge="offline")
    index = ev.question_index
    pos, neg_hard, neg_dev = [], [], []  # (features, right entry index or None, excluded entry or None)
    row = 0
    for i, q in enumerate(ev.bank):
        phrasings = list(dict.fromkeys(q.phrasings))
        seen = set()
        for p in phrasings:
            r = index.rows.index(focus(p)) if focus(p) in index.rows else None
            if r is None or r in seen:
                continue
            seen.add(r)
            if len(index._rows_of[i]) > 1:
                pos.append((index.features(p, index.matrix[r], exclude_row=r), i, None))
        neg_hard.append((index.features(q.question, index.matrix[index._rows_of[i][0]]), None, i))
        row += 1
    dev = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    vectors = ev.question_embedder.encode([focus(d["text"]) for d in dev])
    for d, v in zip(dev, vectors, strict=True):
        feats = index.features(d["text"], v)
        if d["expected"]:
            pos.append((feats, index.ids.index(d["expected"]), None))
        else:
            neg_dev.append((feats, None, None))
    print(f"positives {len(pos)}, hard negatives {len(neg_hard)}, out-of-bank (dev) {len(neg_dev)}")

    best: tuple[float, QuestionMatchParams, dict[str, float]] | None = None
    for lex, term, conflict in itertools.product((0.0, 0.1, 0.2, 0.3), (0.0, 0.05, 0.1, 0.15, 0.2, 0.3),
                                                 (0.0, 0.02, 0.04, 0.08)):  # fmt: skip
        params = QuestionMatchParams(lexical=lex, term=term, conflict=conflict)
        index.params = params
        P = np.array([_top2(index.combine(*f), right, ex) for f, right, ex in pos])
        H = np.array([_top2(index.combine(*f), None, ex) for f, _, ex in neg_hard])
        D = np.array([_top2(index.combine(*f), None, ex) for f, _, ex in neg_dev])
        for lo, mg, sure in itertools.product(np.arange(0.80, 1.01, 0.01), np.arange(0.0, 0.081, 0.005),
                                              np.arange(0.9, 1.21, 0.02)):  # fmt: skip
            def conf(a: np.ndarray) -> np.ndarray:
                return (a[:, 0] >= sure) | ((a[:, 0] >= lo) & (a[:, 1] >= mg))  # noqa: B023

            cp, ch, cd = conf(P), conf(H), conf(D)
            right = float(np.mean(cp & (P[:, 2] > 0)))
            wrong = float(np.mean(cp & (P[:, 2] == 0)))
            hard, oob = float(np.mean(ch)), float(np.mean(cd)) if len(D) else 0.0
            if wrong > MAX_WRONG or oob > MAX_OUT_OF_BANK or hard > MAX_HARD_NEGATIVE:
                continue
            if best is None or right > best[0]:
                found = params.model_copy(update={"min_score": round(float(lo), 3), "margin": round(float(mg), 3),
                                                  "sure": round(float(sure), 3)})  # fmt: skip
                best = (right, found, {"right": right, "wrong": wrong, "hard_negative": hard, "out_of_bank": oob,
                                       "top1": float(np.mean(P[:, 2] > 0))})  # fmt: skip
    assert best is not None, "no parameters meet the constraints"
    right, params, metrics = best
    params = params.model_copy(update={"fitted_on": f"{len(pos)} positives, {len(neg_hard)} hard negatives, "
                                                    f"{len(neg_dev)} out-of-bank; {date.today().isoformat()}"})  # fmt: skip
    print(params.model_dump())
    print({k: round(v, 4) for k, v in metrics.items()})
    if not args.dry_run:
        save_params(params)
        print("wrote evaluator/data/question_match.json")


def _top2(score: np.ndarray, right: int | None, exclude: int | None) -> tuple[float, float, float]:
    s = score.copy()
    if exclude is not None:
        s[exclude] = -np.inf
    order = np.argsort(-s)[:2]
    return float(s[order[0]]), float(s[order[0]] - s[order[1]]), float(right is not None and order[0] == right)


if __name__ == "__main__":
    main()
