"""The practice page: grade an answer to your own question and reference, then give your own grade."""

from __future__ import annotations

import json
from pathlib import Path

from test_browser import STATUS, Page, browser, page  # noqa: F401  (fixtures)
from test_service import ANSWER, running

from evaluator import Evaluator
from evaluator.bank.feedback import GRADES_FILE
from evaluator.encoders.embedder import Embedder
from evaluator.service.app import create_app

OWN_QUESTION = "为什么缩放点积注意力要除以根号 d_k？"
OWN_REFERENCE = (
    "q 与 k 的点积方差随维度 d_k 线性增长，数值过大使 softmax 进入饱和区、梯度接近 0；除以根号 d_k 把方差拉回 1。"
)


def test_own_question_with_a_reference_is_graded_and_my_grade_is_used_next_time(
    embedder: Embedder,
    page: Page,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    ev = Evaluator(judge="offline", embedder=embedder, home=tmp_path)
    with running(create_app(ev, token="")) as url:
        page.send("Page.navigate", url=url + "/")
        page.wait_for("document.body && document.body.dataset.ready === 'true'")
        page.js("document.getElementById('own-box').open = true")
        for field, text in (("own-question", OWN_QUESTION), ("own-reference", OWN_REFERENCE), ("answer", ANSWER)):
            page.js(f"document.getElementById('{field}').focus()")
            page.send("Input.insertText", text=text)
        page.click("#submit")
        page.wait_for("document.getElementById('score').dataset.score")
        origin = page.js("document.getElementById('origin').textContent")
        assert "按你给出的参考答案评分" in origin and "评过分" not in origin

        assert page.js("getComputedStyle(document.getElementById('my-grade-box')).display") != "none"
        page.js("document.getElementById('my-grade').focus()")
        page.send("Input.insertText", text="150")
        page.click("#send-grade")
        assert "0 到 100" in page.wait_for(STATUS)
        assert not (tmp_path / "bank" / GRADES_FILE).exists()  # refused in the page: nothing sent
        page.js("document.getElementById('my-grade').value = ''")
        page.js("document.getElementById('my-grade').focus()")
        page.send("Input.insertText", text="85")
        page.click("#send-grade")
        page.wait_for(f"{STATUS}.includes('已记下')")
        [line] = (tmp_path / "bank" / GRADES_FILE).read_text(encoding="utf-8").splitlines()
        assert json.loads(line)["grade"] == 85 and json.loads(line)["source"] == "api"

        page.js("document.getElementById('score').dataset.score = ''")
        page.click("#submit")
        page.wait_for("document.getElementById('score').dataset.score")
        assert "你评过分的 1 个回答参与了这次评分" in page.js("document.getElementById('origin').textContent")
