"""`evaluate calibrate --user`: the blend refitted on the interviewer's own graded answers.

The fitted parameters go to the user bank (`calibration.json`), never to the package; an evaluator
over that user bank uses them from then on. Each graded answer is left out of its own anchor
estimate while fitting (it is one of the anchors), so the fit cannot learn to copy the grade back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from evaluator.bank.feedback import latest_grades
from evaluator.calibration.params import Calibration
from evaluator.errors import ConfigError

if TYPE_CHECKING:
    from evaluator.calibration.fitting import Sample
    from evaluator.core import Evaluator

USER_CALIBRATION_FILE = "calibration.json"
MIN_USER_GRADES = 30  # fewer graded answers than this: the shipped blend is kept


def load_user_calibration(root: Path | None) -> Calibration | None:
    path = root / USER_CALIBRATION_FILE if root is not None else None
    if path is None or not path.is_file():
        return None
    try:
        return Calibration.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValidationError, ValueError) as exc:
        raise ConfigError(f"{path}: not a valid calibration; delete it or run `evaluate calibrate --user`") from exc


def user_samples(ev: Evaluator) -> list[Sample]:
    from evaluator.calibration.fitting import Sample

    root = ev.user_bank or ev.home / "bank"
    judge = ev.offline_judge()
    out = []
    for qid, grades in sorted(latest_grades(root).items()):
        if qid not in ev.bank:
            continue
        q = ev.bank.get(qid)
        for g in grades:
            out.append(Sample(q, g.answer, g.grade, judge.analyze(q, g.answer), g.answer, False))
    return out


def calibrate_user(ev: Evaluator, version: str) -> tuple[Calibration | None, int, dict[str, float], dict[str, float]]:
    """(fitted calibration or None when too few grades, number of graded answers, metrics before, after)."""
    from evaluator.calibration.fitting import evaluate_params, fit_blend

    samples = user_samples(ev)
    if len(samples) < MIN_USER_GRADES:
        return None, len(samples), {}, {}
    fitted = fit_blend(samples, ev.calibration, version)
    return fitted, len(samples), evaluate_params(samples, ev.calibration), evaluate_params(samples, fitted)


def save_user_calibration(root: Path, cal: Calibration) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / USER_CALIBRATION_FILE
    path.write_text(json.dumps(cal.model_dump(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
