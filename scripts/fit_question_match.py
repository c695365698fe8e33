"""Fit the question matcher's weights and confidence model; writes evaluator/data/question_match.json.

    .venv/bin/python scripts/fit_question_match.py [--dry-run]

Fitting data, all from the bank and the tuning sets (never tests/data/matching_blind.jsonl):
- user-typed questions: tests/data/matching_dev.jsonl and tests/data/matching_tune.jsonl (variants of
  bank questions, questions the bank lacks, small talk);
- each bank phrasing (question or alias) searched with itself left out: it must find its entry
  through the entry's other phrasings;
- each entry's question searched with the whole entry left out: a question the bank lacks whose
  siblings are still there (hard negatives).
1. The ranking weights maximize how often the right entry ranks first (user-typed questions count
   fully, left-out phrasings a quarter).
2. The confidence model is a logistic regression of "the top hit is right" on the top hit's
   features; its threshold gives the most confident-and-right user-typed questions with at most
   MAX_WRONG of them confidently wrong, at most MAX_OUT_OF_BANK of the out-of-bank ones matched and
   at most MAX_HARD_NEGATIVE of the hard negatives matched.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from evaluator import Evaluator
from evaluator.matching.question_match import (
    EntryFeatures,
    QuestionHit,
    QuestionIndex,
    QuestionMatchParams,
    confidence_features,
    load_question_index,
    save_params,
    top_hits,
)
from evaluator.matching.question_text import focus

ROOT = Path(__file__).resolve().parent.parent
TUNING_SETS = [ROOT / "tests" / "data" / "matching_dev.jsonl", ROOT / "tests" / "data" / "matching_tune.jsonl"]
MAX_WRONG = 0.01
MAX_OUT_OF_BANK = 0.02
MAX_HARD_NEGATIVE = 0.35
LEFT_OUT_SHARE = 0.25
SEED = 0


@dataclass
class Query:
    features: EntryFeatures
    right: int | None  # index of the right entry; None: the bank lacks it
    exclude: int | None  # an entry left out of the bank for this query
    kind: str  # "user" | "left-out" | "hard-negative"


def collect(ev: Evaluator, index: QuestionIndex) -> list[Query]:
    queries: list[Query] = []
    for i, q in enumerate(ev.bank):
        seen: set[int] = set()
        for p in dict.fromkeys(q.phrasings):
            f = focus(p)
            if f not in index.rows:
                continue
            r = index.rows.index(f)
            if r in seen or len(index.rows_of(i)) < 2:
                continue
            seen.add(r)
            queries.append(Query(index.features(p, index.matrix[r], exclude_row=r), i, None, "left-out"))
        first = int(index.rows_of(i)[0])
        queries.append(Query(index.features(q.question, index.matrix[first]), None, i, "hard-negative"))
    rows = [json.loads(line) for path in TUNING_SETS if path.is_file()
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]  # fmt: skip
    vectors = ev.question_embedder.encode([focus(r["text"]) for r in rows])
    for r, v in zip(rows, vectors, strict=True):
        right = index.ids.index(r["expected"]) if r.get("expected") else None
        queries.append(Query(index.features(r["text"], v), right, None, "user"))
    return queries


def hits_of(index: QuestionIndex, q: Query) -> list[QuestionHit]:
    score = index.combine(q.features)
    if q.exclude is not None:
        score[q.exclude] = -np.inf
    return top_hits(index, q.features, score, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    ev = Evaluator(judge="offline")
    # Fitting starts from the defaults, never from the parameters it is about to replace.
    index = load_question_index(ev.bank, ev.question_embedder, ev.home, QuestionMatchParams())
    queries = collect(ev, index)
    user = [q for q in queries if q.kind == "user"]
    print(f"user-typed {len(user)} ({sum(q.right is None for q in user)} out of bank), "
          f"left-out phrasings {sum(q.kind == 'left-out' for q in queries)}, "
          f"hard negatives {sum(q.kind == 'hard-negative' for q in queries)}")  # fmt: skip

    best_rank: tuple[float, QuestionMatchParams] | None = None
    for lex, term, conflict in itertools.product((0.0, 0.1, 0.2, 0.3), (0.0, 0.03, 0.06, 0.1, 0.15, 0.2),
                                                 (0.0, 0.01, 0.02, 0.04)):  # fmt: skip
        index.params = QuestionMatchParams(lexical=lex, term=term, conflict=conflict)
        gain = 0.0
        for q in queries:
            if q.right is not None:
                top = hits_of(index, q)[0].qid == index.ids[q.right]
                gain += top * (1.0 if q.kind == "user" else LEFT_OUT_SHARE)
        if best_rank is None or gain > best_rank[0]:
            best_rank = (gain, index.params)
    assert best_rank is not None
    index.params = best_rank[1]
    print(f"ranking: {index.params.model_dump(include={'lexical', 'term', 'conflict'})}")

    feats = np.array([confidence_features(hits_of(index, q)) for q in queries])
    right = np.array([q.right is not None and hits_of(index, q)[0].qid == index.ids[q.right] for q in queries])
    weight = np.array([1.0 if q.kind == "user" else LEFT_OUT_SHARE for q in queries])
    model = LogisticRegression(C=10.0, max_iter=1000, random_state=SEED).fit(feats, right, sample_weight=weight)
    params = index.params.model_copy(update={"weights": tuple(round(float(w), 4) for w in model.coef_[0]),
                                             "bias": round(float(model.intercept_[0]), 4)})  # fmt: skip
    index.params = params
    prob = np.array([index.confidence(hits_of(index, q)) for q in queries])
    is_user = np.array([q.kind == "user" for q in queries])
    in_bank = np.array([q.right is not None for q in queries])
    hard = np.array([q.kind == "hard-negative" for q in queries])
    best: tuple[float, float, dict[str, float]] | None = None
    for threshold in np.arange(0.30, 0.991, 0.01):
        conf = prob >= threshold
        pos = is_user & in_bank
        stats = {
            "right": float(np.mean(conf[pos] & right[pos])),
            "wrong": float(np.mean(conf[pos] & ~right[pos])),
            "out_of_bank": float(np.mean(conf[is_user & ~in_bank])) if np.any(is_user & ~in_bank) else 0.0,
            "hard_negative": float(np.mean(conf[hard])),
            "left_out_right": float(np.mean((conf & right)[~is_user & in_bank])),
        }
        if stats["wrong"] > MAX_WRONG or stats["out_of_bank"] > MAX_OUT_OF_BANK:
            continue
        if stats["hard_negative"] > MAX_HARD_NEGATIVE:
            continue
        if best is None or stats["right"] > best[1]:
            best = (float(threshold), stats["right"], stats)
    assert best is not None, "no threshold meets the constraints"
    top_right = np.array(
        [hits_of(index, q)[0].score for q, r in zip(queries, right, strict=True) if r and q.kind == "user"]
    )
    params = params.model_copy(update={
        "threshold": round(best[0], 2),
        "min_score": round(float(np.percentile(top_right, 5)), 3),
        "fitted_on": f"{int(is_user.sum())} user-typed questions, {int((~is_user & in_bank).sum())} left-out "
                     f"phrasings, {int(hard.sum())} hard negatives; seed {SEED}; {date.today().isoformat()}",
    })  # fmt: skip
    print(params.model_dump())
    print({k: round(v, 4) for k, v in best[2].items()}, "top-1 (user-typed):",
          round(float(np.mean(right[is_user & in_bank])), 4))  # fmt: skip
    if not args.dry_run:
        save_params(params)
        print("wrote evaluator/data/question_match.json")


if __name__ == "__main__":
    main()
