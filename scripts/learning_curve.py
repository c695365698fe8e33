"""How much the interviewer's own grades improve the offline grade: a measured learning curve.

ADS (Chinese short answers with human grades): the 15 questions and their references are added to a
user bank (`evaluator.bank.user.add_entry`, rubric derived from the references) on top of the bundled
bank. Each question's non-empty answers are split (seeded) into a pool the interviewer grades and a
held-out part. The pool's human grades go through the feedback store (`evaluator.bank.feedback.add_grade`,
what `evaluate grade` and `POST /v1/feedback` call) a few at a time, and after 0, 3, 5, 10, 20, 40
and all graded answers per question every held-out answer is graded by a fresh evaluator over the
user bank as it then is (offline judge).

Bundled bank on eval_data/answers.jsonl: the same with the bundled questions, their written rubrics
and anchors; the interviewer's grades are the calibration part's answers (1-3 per question), the test
part is held out.

    .venv/bin/python scripts/learning_curve.py            # writes docs/learning-curve.{md,png,json}

Needs matplotlib for the plot (`.venv/bin/pip install matplotlib`).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluator import Evaluator  # noqa: E402
from evaluator.bank.feedback import add_grade  # noqa: E402
from evaluator.bank.user import add_entry  # noqa: E402
from evaluator.calibration.benchmark import preload  # noqa: E402
from evaluator.calibration.labelled import LabelledAnswer, ads_answers, ads_id, auto_rubric, load_ads, load_labelled  # noqa: E402
from evaluator.calibration.metrics import agreement  # noqa: E402
from evaluator.calibration.user import MIN_USER_GRADES, calibrate_user  # noqa: E402
from evaluator.encoders.embedder import Embedder  # noqa: E402

Row = dict[str, float | int | str]

ADS = Path("/work/shared/datasets/ads/train.jsonl")
LEVELS = (0, 3, 5, 10, 20, 40, None)  # None: all of the question's pool
HELD_OUT_SHARE = 0.3
SEED = 18


def split_per_question(
    answers: list[LabelledAnswer], share: float, seed: int
) -> tuple[dict[str, list[LabelledAnswer]], list[LabelledAnswer]]:
    by_q: dict[str, list[LabelledAnswer]] = defaultdict(list)
    for a in answers:
        by_q[a.question_id].append(a)
    pool: dict[str, list[LabelledAnswer]] = {}
    held: list[LabelledAnswer] = []
    rng = random.Random(seed)
    for qid, items in sorted(by_q.items()):
        items = items[:]
        rng.shuffle(items)
        cut = max(1, round(len(items) * share))
        held += items[:cut]
        pool[qid] = items[cut:]
    return pool, held


def grade_all(ev: Evaluator, held: list[LabelledAnswer]) -> tuple[list[float], list[float], list[int]]:
    pred, gold, used = [], [], []
    for a in held:
        result = ev.evaluate(a.answer, question_id=a.question_id)
        if result.score is None:
            continue
        pred.append(result.score)
        gold.append(a.grade)
        used.append(result.user_anchors)
    return pred, gold, used


def row(name: str, blend: str, label: str, pred: list[float], gold: list[float], used: list[int]) -> Row:
    m = agreement(pred, gold)
    mean_used = round(sum(used) / len(used), 1) if used else 0.0
    print(f"{name} [{blend}]: {label:>4} graded/question (mean used {mean_used:5.1f}): n={len(pred)} "
          f"pearson={m['pearson']:.3f} rmse={m['rmse']:.2f}", flush=True)  # fmt: skip
    return {"set": name, "blend": blend, "graded_per_question": label, "mean_graded_used": mean_used,
            "n": len(pred), "pearson": m["pearson"], "spearman": m["spearman"], "rmse": m["rmse"]}  # fmt: skip


def curve(
    name: str,
    base: Evaluator,
    user_bank: Path,
    pool: dict[str, list[LabelledAnswer]],
    held: list[LabelledAnswer],
    levels: tuple[int | None, ...],
) -> list[Row]:
    """After each level: the held-out answers graded with the shipped blend, and with the blend refitted
    on the interviewer's graded answers (`evaluate calibrate --user`) once there are enough of them."""
    rows: list[Row] = []
    given: dict[str, int] = defaultdict(int)
    for level in levels:
        for qid, items in pool.items():
            upto = len(items) if level is None else min(level, len(items))
            for a in items[given[qid] : upto]:
                add_grade(user_bank, question_id=qid, answer=a.answer, grade=a.grade, source="import")
            given[qid] = max(given[qid], upto)
        label = "all" if level is None else str(level)
        ev = base.reloaded()
        if not rows:
            preload(ev, held + [a for items in pool.values() for a in items])  # batched: one pass of the model
        rows.append(row(name, "shipped", label, *grade_all(ev, held)))
        fitted, n, _before, _after = calibrate_user(ev, f"learning-curve-{label}")
        if fitted is None:
            print(f"{name}: {n} graded answers, too few for calibrate --user (needs {MIN_USER_GRADES})", flush=True)
            continue
        refit = base.reloaded().with_calibration(fitted)  # the judge is made with the fitted thresholds too
        rows.append(row(name, "calibrate --user", label, *grade_all(refit, held)))
    return rows


def ads_curve(embedder: Embedder, work: Path, share: float, seed: int) -> list[Row]:
    rows = load_ads(ADS)
    ub = work / "ads-bank"
    base = Evaluator(judge="offline", embedder=embedder, home=work, user_bank=ub)
    seen: set[str] = set()
    for r in rows:
        qid = ads_id(r.q_id)
        if qid in seen:
            continue
        seen.add(qid)
        refs = r.references or [r.question]
        add_entry(base.base_bank, ub, question=r.question.strip(), reference=refs[0], qid=qid,
                  rubric=auto_rubric(qid, refs, []), topic="fundamentals")  # fmt: skip
    answers = [a for a in ads_answers(rows, "ads") if a.answer.strip()]
    pool, held = split_per_question(answers, share, seed)
    return curve("ADS", base.reloaded(), ub, pool, held, LEVELS)


def bundled_curve(embedder: Embedder, work: Path) -> list[Row]:
    ub = work / "eval-bank"
    base = Evaluator(judge="offline", embedder=embedder, home=work, user_bank=ub)
    # eval_data's calibration and test parts are different questions; here each question's 4 answers are
    # split instead: 2 graded by the interviewer, 2 held out.
    labelled = [a for a in load_labelled(ROOT / "eval_data" / "answers.jsonl") if a.question_id in base.bank]
    pool, held = split_per_question(labelled, 0.5, SEED)
    return curve("bundled bank, eval_data", base, ub, pool, held, (0, 1, None))


def plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for name in dict.fromkeys(f"{r['set']} ({r['blend']})" for r in rows):
        mine = [r for r in rows if f"{r['set']} ({r['blend']})" == name]
        x = [float(r["mean_graded_used"]) for r in mine]
        ax1.plot(x, [float(r["pearson"]) for r in mine], marker="o", label=name)
        ax2.plot(x, [float(r["rmse"]) for r in mine], marker="o", label=name)
    ax1.set(xlabel="interviewer-graded answers per question (mean used)", ylabel="Pearson with human grades")
    ax2.set(xlabel="interviewer-graded answers per question (mean used)", ylabel="RMSE (0-100 scale)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Offline grade vs. human grade as the interviewer's own grades accumulate")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def table(rows: list[Row]) -> str:
    out = ["| set | blend | graded answers per question | mean used | held-out answers | Pearson | RMSE |",
           "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        out.append(f"| {r['set']} | {r['blend']} | {r['graded_per_question']} | {r['mean_graded_used']} | {r['n']} | "
                   f"{r['pearson']:.3f} | {r['rmse']:.2f} |")  # fmt: skip
    return "\n".join(out)


def levels_off(rows: list[Row]) -> str:
    """The first level after which Pearson gains less than 0.02 at every later level."""
    pearson = [float(r["pearson"]) for r in rows]
    for i, r in enumerate(rows):
        if all(p - pearson[i] < 0.02 for p in pearson[i + 1 :]):
            return str(r["graded_per_question"])
    return str(rows[-1]["graded_per_question"])


def summary(rows: list[Row]) -> list[str]:
    lines = []
    for name in dict.fromkeys(f"{r['set']}|{r['blend']}" for r in rows):
        mine = [r for r in rows if f"{r['set']}|{r['blend']}" == name]
        at = {str(r["graded_per_question"]): r for r in mine}
        first, last = mine[0], mine[-1]
        ten = f"; after 10: Pearson {at['10']['pearson']:.3f}, RMSE {at['10']['rmse']:.2f}" if "10" in at else ""
        lines.append(
            f"- {name.replace('|', ', ')}: Pearson {first['pearson']:.3f} after {first['graded_per_question']} graded "
            f"answers per question{ten}; {last['pearson']:.3f} after {last['graded_per_question']} "
            f"(mean {last['mean_graded_used']}); levels off from {levels_off(mine)} (later gains under 0.02)"
        )
    return lines


def write_markdown(rows: list[Row], path: Path) -> None:
    text = [
        "# Learning curve: the interviewer's own grades as anchors",
        "",
        "Measured 2026-12-04 with `.venv/bin/python scripts/learning_curve.py` (offline judge, seed 18; see the",
        'script\'s docstring for the protocol). Held-out answers are never among the graded ones. "shipped" is the',
        'package\'s blend; "calibrate --user" is the blend refitted on the graded answers so far (what',
        "`evaluate calibrate --user` writes), from 30 graded answers on.",
        "",
        "![learning curve](learning-curve.png)",
        "",
        *summary(rows),
        "",
        table(rows),
        "",
        "Reading it: with the shipped blend the anchor estimate has a small fixed share, so the interviewer's",
        "grades barely move the score; refitted on those grades (`evaluate calibrate --user`) the anchor",
        "regression carries the grade and agreement rises with every graded answer until about 40 per question.",
        "On eval_data the shipped blend was fitted on these very answers and the bundled rubrics and anchors",
        "are hand-written, so one or two more graded answers per question add nothing measurable (the",
        "differences are within noise for 116 answers); there the grades matter for questions of your own.",
        "ADS answers with an empty text are left out (the evaluator refuses empty answers).",
        "",
    ]
    path.write_text("\n".join(text), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where learning-curve.{md,png,json} go")
    parser.add_argument("--held-out", type=float, default=HELD_OUT_SHARE, help="ADS share held out per question")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--from-json", type=Path, help="redraw table and plot from a run's learning-curve.json")
    parser.add_argument("--sets", default="ads,bundled", help="which curves to run (comma-separated)")
    parser.add_argument("--merge", type=Path, help="rows of an earlier run to put first (JSON)")
    args = parser.parse_args()
    if args.from_json:
        rows = json.loads(args.from_json.read_text(encoding="utf-8"))
        plot(rows, args.out / "learning-curve.png")
        write_markdown(rows, args.out / "learning-curve.md")
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        sys.exit("learning_curve: the plot needs matplotlib: .venv/bin/pip install matplotlib")
    embedder = Embedder()
    with tempfile.TemporaryDirectory(prefix="learning-curve-") as tmp:
        work = Path(tmp)
        sets = args.sets.split(",")
        rows = json.loads(args.merge.read_text(encoding="utf-8")) if args.merge else []
        rows += ads_curve(embedder, work, args.held_out, args.seed) if "ads" in sets else []
        rows += bundled_curve(embedder, work) if "bundled" in sets else []
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "learning-curve.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    plot(rows, args.out / "learning-curve.png")
    write_markdown(rows, args.out / "learning-curve.md")
    print(table(rows))


if __name__ == "__main__":
    main()
