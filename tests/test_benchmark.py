"""Benchmark and imported banks: ADS-format files, auto-rubrics, metrics, the CLI command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evaluator.calibration.labelled import ads_answers, ads_bank, load_ads, load_labelled
from evaluator.calibration.metrics import agreement, pearson, quadratic_weighted_kappa, spearman
from evaluator.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
ADS = Path(__file__).with_name("data") / "ads_small.jsonl"


def test_metrics_on_known_values() -> None:
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [10, 20, 30, 1000]) == pytest.approx(1.0)
    assert quadratic_weighted_kappa([0, 50, 100], [0, 50, 100]) == pytest.approx(1.0)
    assert quadratic_weighted_kappa([0, 0, 100, 100], [100, 100, 0, 0]) < 0
    assert agreement([10, 20], [10, 40])["rmse"] == pytest.approx(14.14, abs=0.01)


def test_ads_import_builds_auto_rubric_bank_with_anchors() -> None:
    rows = load_ads(ADS)
    answers = ads_answers(rows, "r")
    assert [a.grade for a in answers][:3] == [100, 50, 0]
    bank = ads_bank(rows, answers[:4])
    assert len(bank) == 2
    q = bank.get("ads-001")
    assert q.rubric.auto_derived and q.rubric.criteria[0].description.startswith("宜采用链式存储结构")
    assert len(q.rubric.anchors) == 3  # the empty answer is no anchor
    assert bank.get("ads-002").rubric.anchors == ()


def test_bad_labelled_file_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "question_id": "q", "answer": "x", "grade": 150}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:1:grade"):
        load_labelled(path)
    path.write_text("not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:1: invalid JSON"):
        load_labelled(path)


def test_benchmark_cli_on_ads_with_anchors_prints_baselines_side_by_side(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "benchmark", str(ADS), "--anchors", str(ADS), "--format", "json"],
        capture_output=True, text=True, env=env, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["n"] == 8
    assert set(data["systems"]) >= {
        "evaluator", "baseline: always the mean", "baseline: char n-gram TF-IDF cosine", "baseline: embedding cosine",
    }  # fmt: skip
    for metrics in data["systems"].values():
        assert set(metrics) >= {"pearson", "spearman", "qwk", "rmse"}
