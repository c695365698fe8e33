"""Measure the shipped claim verifier on held-out questions: `python scripts/measure_verifier.py`.

The held-out questions (a fixed hash of their ids, see scripts/build_verifier_pairs.py) are never in
the verifier's training pairs. Prints, through the same inference path and thresholds the offline
judge uses:

- contradiction recall: the share of those questions' common errors (against the point they negate)
  and rule perturbations of their statements that the verifier reads as contradicting;
- false contradiction: the share of their reference sentences and of the units of their anchors
  graded ≥ 85 that the verifier reads as contradicting any statement the judge checks them against
  (the question's statements closest to them);
- three-way accuracy on all held-out pairs, for the record.

`--judge` measures the offline judge that uses it instead, on the whole pipeline: eval_data's short
answers against the wrong ones to the same question, the test part's wrong answers and keyword salads
(below 50?) and its Spearman, answers meeting every point with no wrong claim (at least 85?), the
ordering test's complete > vague > wrong, and how many of the bank's own correct texts (reference
answers, anchors graded ≥ 85) are accused of a wrong claim.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from build_verifier_pairs import SEED, WELL_GRADED, anchor_units, build, is_heldout, statements  # noqa: E402

from evaluator.bank.audit import CORRECT_ANCHOR_MIN, accusations  # noqa: E402
from evaluator.bank.statements import reference_units  # noqa: E402
from evaluator.judges.offline import CHECKED_STATEMENTS, restates, wrong_claim_threshold  # noqa: E402
from evaluator.judges.verifier import CONTRADICTS, LABELS, Verifier  # noqa: E402
from evaluator.matching.index import embed_with_stores  # noqa: E402

if TYPE_CHECKING:
    from evaluator import Evaluator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=ROOT / "build" / "verifier" / "heldout.jsonl")
    parser.add_argument("--model", type=Path, default=None, help="verifier folder (default: the shipped one)")
    parser.add_argument("--judge", action="store_true", help="measure the offline judge instead (minutes)")
    args = parser.parse_args()
    if args.judge:
        measure_judge()
        return
    os.environ.setdefault("EVALUATOR_HOME", str(Path(tempfile.gettempdir()) / "verifier-pairs-home"))
    if args.pairs.is_file():
        rows = [json.loads(line) for line in args.pairs.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        rows = build(SEED)[1]
    verifier = Verifier(args.model) if args.model else Verifier()
    threshold = wrong_claim_threshold()
    probs = verifier.probabilities([(r["premise"], r["hypothesis"]) for r in rows])
    predicted = [LABELS[i] for i in probs.argmax(axis=1)]
    accuracy = float(np.mean([p == r["label"] for p, r in zip(predicted, rows, strict=True)]))
    contra = [(r, p) for r, p in zip(rows, probs, strict=True) if r["label"] == "contradicts"]
    # As the judge reads it: the statement's own words are never a contradiction of it.
    caught = [bool(p[CONTRADICTS] >= threshold) and not restates(r["premise"], r["hypothesis"]) for r, p in contra]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for (r, _), c in zip(contra, caught, strict=True):
        by_kind[r["kind"]].append(c)
    qids = sorted({r["question_id"] for r in rows})

    from evaluator import Evaluator

    ev = Evaluator(judge="offline")
    correct_units: list[tuple[str, str]] = []  # (question id, unit)
    for qid in qids:
        q = ev.bank.get(qid)
        assert is_heldout(qid)
        correct_units += [(qid, u) for u in dict.fromkeys([*reference_units(q), *anchor_units(q, WELL_GRADED)])]
    best_correct, contradicted = strongest_contradictions(verifier, ev, correct_units)
    accused = best_correct >= threshold
    examples = [(contradicted[n], u, float(best_correct[n])) for n, (_, u) in enumerate(correct_units) if accused[n]]

    print(f"held-out questions: {len(qids)}; pairs: {len(rows)} {dict(Counter(r['label'] for r in rows))}")
    print(f"wrong-claim threshold (P(contradicts)): {threshold:.2f}")
    core = [c for (r, _), c in zip(contra, caught, strict=True) if not r["kind"].startswith("anchor-")]
    print(f"contradiction recall, common errors and perturbations: {np.mean(core):.3f} ({sum(core)}/{len(core)})")
    print(f"contradiction recall, also perturbed anchor units: {np.mean(caught):.3f} ({sum(caught)}/{len(caught)})")
    for kind, hits in sorted(by_kind.items()):
        print(f"  {kind:24s} {np.mean(hits):.3f} ({sum(hits)}/{len(hits)})")
    print(
        f"false contradiction on reference sentences and units of anchors >= {WELL_GRADED}: "
        f"{np.mean(accused):.4f} ({int(accused.sum())}/{len(accused)} units, "
        f"{CHECKED_STATEMENTS} closest statements each)"
    )
    for s, u, p in examples[:8]:
        print(f"  accused ({p:.2f}): 「{u[:60]}」 vs 「{s[:60]}」")
    print(f"three-way accuracy on all held-out pairs (argmax): {accuracy:.3f}")
    written = measure_written(verifier, ev, threshold)
    print("by threshold (recall: common errors + perturbations | false: bank units | written: recall / false):")
    for t in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.995):
        core_t = [
            bool(p[CONTRADICTS] >= t) and not restates(r["premise"], r["hypothesis"])
            for r, p in contra
            if not r["kind"].startswith("anchor-")
        ]
        line = f"  {t:.3f}: recall {np.mean(core_t):.3f} | false {np.mean(best_correct >= t):.4f}"
        if written is not None:
            w_recall, w_false = written(t)
            line += f" | written {w_recall:.3f} / {w_false:.4f}"
        print(line)


def strongest_contradictions(
    verifier: Verifier, ev: Evaluator, items: list[tuple[str, str]]
) -> tuple[np.ndarray, list[str]]:
    """For each (question id, sentence), read as the judge reads a unit: the highest P(contradicts)
    over the question's statements closest to it (restating a statement is never contradicting it),
    and that statement ("" where none is above 0)."""
    stmts = {qid: [t for t, _ in statements(ev.bank.get(qid))] for qid in dict.fromkeys(q for q, _ in items)}
    texts = list({t for _, t in items} | {t for group in stmts.values() for t in group})
    vectors = embed_with_stores(texts, ev.embedder, ev.home)
    checks: list[tuple[int, str]] = []
    for n, (qid, text) in enumerate(items):
        sims = np.array([vectors[t] @ vectors[text] for t in stmts[qid]])
        checks += [(n, stmts[qid][int(i)]) for i in np.argsort(-sims)[:CHECKED_STATEMENTS]]
    probs = verifier.probabilities([(s, items[n][1]) for n, s in checks])
    best = np.zeros(len(items))
    contradicted = [""] * len(items)
    for (n, s), p in zip(checks, probs, strict=True):
        value = 0.0 if restates(s, items[n][1]) else float(p[CONTRADICTS])
        if value > best[n]:
            best[n], contradicted[n] = value, s
    return best, contradicted


def measure_written(
    verifier: Verifier, ev: Evaluator, threshold: float
) -> Callable[[float], tuple[float, float]] | None:
    """The held-out questions' sentences in candidates' own words (scripts/verifier_data/heldout-written.jsonl,
    written from the question and rubric, never trained on), read as the judge reads a unit: against
    the question's statements closest to it. Wrong ones caught (recall); true ones accused (false)."""
    path = ROOT / "scripts" / "verifier_data" / "heldout-written.jsonl"
    if not path.is_file():
        return None
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert all(is_heldout(r["question_id"]) for r in rows), "heldout-written.jsonl: a training question"
    best, worst_pair = strongest_contradictions(verifier, ev, [(r["question_id"], r["text"]) for r in rows])
    wrong = np.array([r["label"] == "contradicts" for r in rows])

    def rates(t: float) -> tuple[float, float]:
        return float(np.mean(best[wrong] >= t)), float(np.mean(best[~wrong] >= t))

    recall, false = rates(threshold)
    print(
        f"candidate-worded sentences of the held-out questions ({len(rows)}: {int(wrong.sum())} wrong, "
        f"{int((~wrong).sum())} true): wrong ones caught {recall:.3f}, true ones accused {false:.4f}"
    )
    accused = [n for n in range(len(rows)) if not wrong[n] and best[n] >= threshold]
    for n in accused[:6]:
        print(f"  accused ({best[n]:.2f}): 「{rows[n]['text'][:60]}」 vs 「{worst_pair[n][:60]}」")
    return rates


KINDS = ("complete", "partial", "wrong")


def measure_judge() -> None:
    import yaml

    from evaluator import Evaluator, Level
    from evaluator.calibration.labelled import load_labelled
    from evaluator.calibration.metrics import agreement

    os.environ.setdefault("EVALUATOR_HOME", str(Path(tempfile.gettempdir()) / "verifier-pairs-home"))
    ev = Evaluator(judge="offline")
    labelled = load_labelled(ROOT / "eval_data" / "answers.jsonl")
    results = {a.id: ev.evaluate(a.answer, question_id=a.question_id) for a in labelled}
    score = {k: float(r.score or 0.0) for k, r in results.items()}
    by_q: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for a in labelled:
        by_q[a.question_id][a.style].append(score[a.id])
    pairs = [(min(s["short"]), max(s["wrong"]), q) for q, s in by_q.items() if s.get("short") and s.get("wrong")]
    above = sum(short > wrong for short, wrong, _ in pairs)
    print(f"eval_data: short above wrong on {above} of {len(pairs)} questions")
    for short, wrong, q in pairs:
        if short <= wrong:
            print(f"  {q}: short {short:.1f} <= wrong {wrong:.1f}")
    test = [a for a in labelled if a.split == "test"]
    for style in ("wrong", "keyword-salad"):
        group = [a for a in test if a.style == style]
        high = [(a.id, a.question_id, score[a.id]) for a in group if score[a.id] >= 50]
        print(f"test part {style}: {len(group) - len(high)} of {len(group)} below 50; at or above: {high}")
    metrics = agreement([score[a.id] for a in test], [a.grade for a in test])
    print(f"test part agreement: {metrics}")
    full = [
        (a.id, score[a.id])
        for a in labelled
        if not results[a.id].errors
        and results[a.id].criteria
        and all(c.level is Level.met for c in results[a.id].criteria)
    ]
    print(f"every point met, no wrong claim: {len(full)} answers; below 85: {[x for x in full if x[1] < 85]}")
    accused = sum(bool(r.errors) for a, r in zip(labelled, results.values(), strict=True) if a.style == "complete")
    print(f"complete answers with a wrong claim reported: {accused} of {sum(a.style == 'complete' for a in labelled)}")
    cases = yaml.safe_load((ROOT / "tests" / "data" / "ordering.yaml").read_text(encoding="utf-8"))
    ordered = []
    for case in cases:
        s3 = [
            float(ev.evaluate(case[k], question_id=case["id"]).score or 0.0) for k in ("complete", "partial", "wrong")
        ]
        if s3[0] > s3[1] > s3[2]:
            ordered.append(case["id"])
        else:
            print(f"  ordering {case['id']}: complete {s3[0]:.1f} partial {s3[1]:.1f} wrong {s3[2]:.1f}")
    print(f"ordering: complete > vague > wrong on {len(ordered)} of {len(cases)}")
    judge = ev.offline_judge()
    flagged = [(q.id, a.describe()) for q in ev.bank for a in accusations(judge, q)]
    checked = sum(1 + sum(a.score >= CORRECT_ANCHOR_MIN for a in q.rubric.anchors) for q in ev.bank)
    print(f"wrong claims read in the bank's own correct texts: {len(flagged)} ({checked} texts)")
    for qid, problem in flagged[:10]:
        print(f"  {qid}: {problem[:120]}")


if __name__ == "__main__":
    main()
