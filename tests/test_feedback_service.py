"""POST /v1/feedback over a real socket: grades stored whole under parallel requests, used at once."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from test_service import running

from evaluator import Evaluator
from evaluator.bank.feedback import GRADES_FILE, read_grades
from evaluator.encoders.embedder import Embedder
from evaluator.service.app import create_app

ROOT = Path(__file__).resolve().parent.parent
ANSWER = (ROOT / "examples" / "answer.txt").read_text(encoding="utf-8")
QID = "attention-scale-sqrt-dk"


def test_parallel_feedback_loses_no_grade_tears_no_line_and_stores_a_repeat_once(
    embedder: Embedder, tmp_path: Path
) -> None:
    ev = Evaluator(judge="offline", embedder=embedder, home=tmp_path)
    with running(create_app(ev, token="")) as url, httpx.Client(base_url=url, timeout=600) as client:
        first = client.post("/v1/evaluate", json={"answer": ANSWER, "question_id": QID})
        assert first.status_code == 200, first.text
        assert first.json()["user_anchors"] == 0
        eval_id = first.json()["evaluation_id"]

        bodies = [{"question_id": QID, "answer": f"{ANSWER} 补充说明第 {i} 点。", "grade": i % 101} for i in range(40)]
        bodies += [{"evaluation_id": eval_id, "grade": 77, "note": "同一份提交"}] * 10
        with ThreadPoolExecutor(max_workers=16) as pool:
            replies = list(pool.map(lambda b: client.post("/v1/feedback", json=b), bodies))
        assert all(r.status_code == 200 for r in replies), [r.text for r in replies if r.status_code != 200]
        assert sum(r.json()["stored"] for r in replies[40:]) == 1  # the repeated submission is stored once

        lines = (tmp_path / "bank" / GRADES_FILE).read_text(encoding="utf-8").splitlines()
        assert len(lines) == 41 and all(json.loads(line)["source"] == "api" for line in lines)
        assert sorted(g.grade for g in read_grades(tmp_path / "bank"))[:3] == [0, 1, 2]

        later = client.post("/v1/evaluate", json={"answer": ANSWER, "question_id": QID})
        assert later.status_code == 200 and later.json()["user_anchors"] == 41

        unknown = client.post("/v1/feedback", json={"evaluation_id": "0123456789abcdef", "grade": 50})
        assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "unknown_evaluation"
        for bad in (150, -1, "high"):
            refused = client.post("/v1/feedback", json={"evaluation_id": eval_id, "grade": bad})
            assert refused.status_code == 400 and "grade" in refused.json()["error"]["message"], refused.text
        assert client.post("/v1/feedback", json={"grade": 50}).status_code == 400
        given = client.post("/v1/evaluate", json={"answer": ANSWER, "question": "为什么要缩放点积？",
                                                  "reference": "点积的方差随维度 d_k 增大，除以根号 d_k 让方差回到 1，"
                                                               "避免 softmax 饱和、梯度消失。"})  # fmt: skip
        assert given.status_code == 200 and given.json()["question_source"] == "given" and given.json()["auto_rubric"]
    assert len((tmp_path / "bank" / GRADES_FILE).read_text(encoding="utf-8").splitlines()) == 41  # nothing written


WRITER = """
import sys
from pathlib import Path
from evaluator.bank.feedback import add_grade
root, n = Path(sys.argv[1]), int(sys.argv[2])
for i in range(25):
    add_grade(root, question_id="q", answer=f"进程 {n} 的第 {i} 个回答" + "长" * 3000, grade=i, source="cli")
"""


def test_grades_from_several_processes_at_once_are_all_kept_whole(tmp_path: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(n)], cwd=ROOT) for n in range(4)]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    lines = (tmp_path / GRADES_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 100 and len(read_grades(tmp_path)) == 100
