"""The practice page, the API docs and the transcript HTML report in headless Chromium (Debian's
`chromium`), driven over the DevTools protocol.

The browser runs with the network off (every host name but 127.0.0.1 fails to resolve), so a page that
needs a CDN shows it. Each test saves a screenshot under $EVALUATOR_SCREENSHOTS (default: the test's
temp dir) to look at. Chromium missing: skipped on a workstation, a failure under CI (CI=1), where
.ci/run installs it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_service import ANSWER, QID, running
from websockets.sync.client import ClientConnection, connect

from evaluator import Evaluator
from evaluator.models import TurnResult
from evaluator.reports.answer import LABELS
from evaluator.reports.transcript import to_html
from evaluator.service.app import create_app

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-allow-origins=*",
    "--remote-debugging-port=0",
    "--window-size=1200,1600",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # the network is off: loopback only
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    message = "Chromium is not installed (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run the browser test")
    pytest.skip(message)


class Page:
    """A minimal DevTools-protocol client for one page target: commands by id, events collected."""

    def __init__(self, ws: ClientConnection):
        self._ws = ws
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, timeout: float = 60, **params: Any) -> dict[str, Any]:
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})  # type: ignore[no-any-return]
            self.events.append(message)

    def js(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {expression}; status: {self.js(STATUS)!r}")
            time.sleep(0.1)

    def screenshot(self, folder: Path, name: str) -> Path:
        """Save what the page shows (the whole page) as folder/name.png, to look at."""
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path = folder / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def click(self, selector: str) -> None:
        """A real mouse click at the element's centre (not element.click())."""
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView();"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)


STATUS = "document.getElementById('status').textContent"


@pytest.fixture(scope="module")
def browser() -> Iterator[str]:
    """Headless Chromium with a fresh profile; yields the DevTools HTTP endpoint."""
    exe = chromium_path()
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    proc = subprocess.Popen(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port_file.read_text().splitlines()[0]}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: str) -> Iterator[Page]:
    targets = httpx.get(f"{browser}/json/list", timeout=30).json()
    target = next(t for t in targets if t["type"] == "page")
    with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as ws:
        p = Page(ws)
        p.send("Runtime.enable")
        p.send("Page.enable")
        p.send("Network.enable")
        yield p


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("EVALUATOR_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def local_only(urls: list[str]) -> None:
    outside = [u for u in urls if not u.startswith(("http://127.0.0.1", "data:", "file:", "about:", "blob:"))]
    assert not outside, outside


def test_answer_a_question_and_read_the_score(evaluator: Evaluator, page: Page, shots: Path) -> None:
    expected = evaluator.evaluate(ANSWER, question_id=QID)
    assert expected.score is not None
    with running(create_app(evaluator, token="")) as url:
        page.send("Page.navigate", url=url + "/")
        page.wait_for("document.body && document.body.dataset.ready === 'true'")
        assert page.js("document.title") == "大模型面试答题练习"
        topics = page.js("[...document.querySelectorAll('#topic option')].map(o => o.textContent)")
        assert "注意力机制" in topics
        assert page.js("getComputedStyle(document.getElementById('token-box')).display") == "none"  # no token set

        # choose the topic, then the question, as a user does (change events drive the page)
        page.js("(() => { const s = document.getElementById('topic'); s.value = 'attention';"
                " s.dispatchEvent(new Event('change')); })()")  # fmt: skip
        page.wait_for(f"[...document.querySelectorAll('#question option')].some(o => o.value === '{QID}')"
                      " && [...document.querySelectorAll('#question option')].length < 100")  # fmt: skip
        page.js(f"(() => {{ const s = document.getElementById('question'); s.value = '{QID}';"
                " s.dispatchEvent(new Event('change')); })()")  # fmt: skip
        assert page.js("document.getElementById('question-text').textContent") == expected.question

        # type the answer and click 提交评分
        page.js("document.getElementById('answer').focus()")
        page.send("Input.insertText", text=ANSWER)
        assert page.js("document.getElementById('answer').value") == ANSWER
        page.click("#submit")
        shown = page.wait_for("document.getElementById('score').dataset.score")
        assert float(shown) == expected.score
        # The page prints whole points as the CLI does (f"{score:.0f}", a half to even).
        assert page.js("document.getElementById('score').textContent") == f"{expected.score:.0f}"
        assert page.js("document.getElementById('report').hidden") is False

        # per-criterion verdicts with the quoted evidence; advice
        items = page.js("[...document.querySelectorAll('#criteria li')].map(li => li.className)")
        assert items == [c.level.value for c in expected.criteria]
        quotes = page.js("[...document.querySelectorAll('#criteria blockquote')].map(b => b.textContent)")
        assert quotes and all(q.strip("“”") in ANSWER for q in quotes)
        if expected.feedback:
            assert page.js("document.getElementById('feedback').textContent") == expected.feedback

        # the reference answer only on demand
        assert page.js("document.getElementById('reference-box').hidden") is True
        page.click("#reveal")
        reference = page.wait_for("!document.getElementById('reference-box').hidden"
                                  " && document.getElementById('reference').textContent")  # fmt: skip
        assert reference == evaluator.bank.get(QID).reference

        # in Chinese throughout, and the candidate-facing part shows no similarities or thresholds
        assert page.js("document.documentElement.lang") == "zh-CN"
        levels = page.js("[...document.querySelectorAll('#criteria .level')].map(e => e.textContent)")
        assert levels == [LABELS[c.level.value][0] for c in expected.criteria]
        comments = page.js("[...document.querySelectorAll('#criteria .meta')].map(e => e.textContent)")
        assert comments and not any(re.search(r"\d\.\d", c) for c in comments), comments
        assert page.js("document.getElementById('band').textContent") == LABELS[expected.band][0]

        # the details section: every part times its share adds up to the score shown
        assert page.js("document.getElementById('details-box').open") is False
        page.click("#details-box summary")
        parts = page.wait_for(
            "document.getElementById('details-box').open && document.getElementById('parts').innerText"
        )
        assert expected.parts is not None
        assert ("与评分样例对比" in parts) == (expected.parts.anchor is not None)  # shown exactly when it counts
        terms = re.findall(r"([\d.]+) × ([\d.]+)", parts)
        penalty = re.search(r"错误说法扣分 ([\d.]+)", parts)
        total = sum(float(v) * float(w) for v, w in terms) - (float(penalty.group(1)) if penalty else 0.0)
        assert total == pytest.approx(expected.score, abs=0.3), parts
        assert parts.endswith(f"= {expected.score:.1f}")
        page.screenshot(shots, "practice-page-zh")

        # a random question from the chosen topic
        page.click("#random")
        page.wait_for("document.getElementById('report').hidden")
        assert page.js("document.getElementById('question').value")

    thrown = [e for e in page.events if e.get("method") == "Runtime.exceptionThrown"]
    assert not thrown, thrown


def test_api_docs_render_with_the_network_off(evaluator: Evaluator, page: Page, shots: Path) -> None:
    with running(create_app(evaluator, token="")) as url:
        page.send("Page.navigate", url=url + "/docs")
        page.wait_for("document.querySelectorAll('.opblock').length > 0", timeout=60)
        paths = page.js("[...document.querySelectorAll('.opblock-summary-path')].map(e => e.textContent)")
        assert "/v1/evaluate" in [p.replace("\u200b", "") for p in paths]
        assert "interview-evaluator" in page.js("document.querySelector('.info .title').textContent")
        page.screenshot(shots, "api-docs")
        page.send("Page.navigate", url=url + "/redoc")
        page.wait_for("document.body && document.body.innerText.includes('/v1/evaluate')", timeout=60)
    local_only(page.requested_urls())


def test_transcript_report_in_chinese(evaluator: Evaluator, page: Page, shots: Path, tmp_path: Path) -> None:
    report = evaluator.evaluate_transcript(ROOT / "examples" / "interview_zh.md")
    graded = [r for r in report.turns if r.evaluation is not None and r.evaluation.score is not None]
    assert graded and any(r.status == "unmatched" for r in report.turns)
    # One graded turn at exactly 0, as an answer that earns nothing is graded, so its bar is checked.
    zero = graded[-1]
    assert zero.evaluation is not None
    turns = tuple(
        r.model_copy(update={"evaluation": zero.evaluation.model_copy(update={"score": 0.0})}) if r is zero else r
        for r in report.turns
    )
    report = report.model_copy(update={"turns": turns})
    path = tmp_path / "report.html"
    path.write_text(to_html(report), encoding="utf-8")

    page.send("Page.navigate", url=path.as_uri())
    page.wait_for("document.readyState === 'complete'")
    assert page.js("document.documentElement.lang") == "zh-CN"
    assert page.js("document.querySelector('h1').textContent") == "模拟面试报告"
    headings = page.js("[...document.querySelectorAll('h2, h3')].map(e => e.textContent)")
    assert {"各主题得分", "接下来学什么", "每轮得分", "各轮结果", "逐轮详情"} <= set(headings), headings
    text = page.js("document.body.innerText")
    for english in ("Mock interview", "Study next", "Score by topic", "graded", "not in the bank", "closest"):
        assert english not in text, english

    # every graded turn shows a bar, a 0 included; an ungraded one shows an empty track
    bars = page.js(
        "[...document.querySelectorAll('#turns tr')].slice(1).map(tr => {"
        " const s = tr.querySelector('.bar > span'); return s ? s.getBoundingClientRect().width : -1; })"
    )
    for r, width in zip(report.turns, bars, strict=True):
        assert (width > 0) if _graded(r) else (width == -1), (r.turn.index, width)
    columns = page.js("[...document.querySelectorAll('svg[aria-label=\"每轮得分\"] rect[data-score]')]"
                      ".map(e => [e.dataset.score, e.getBoundingClientRect().height])")  # fmt: skip
    assert ["0", columns[-1][1]] in columns and all(h >= 2 for _, h in columns)

    # the topic chart's labels read at 14 px or more, in Chinese
    sizes = page.js(
        "[...document.querySelectorAll('#topics svg text[text-anchor=\"end\"]')]"
        ".map(e => [e.textContent, e.getBoundingClientRect().height])"
    )
    assert sizes and all(h >= 14 for _, h in sizes), sizes
    assert all(re.search(r"[\u4e00-\u9fff]", name) for name, _ in sizes), sizes

    # "closest" once per unmatched turn, with no numbers; "study next" says to correct wrong claims
    page.js("document.querySelectorAll('details').forEach(d => d.open = true)")
    for r in report.turns:
        if r.status == "unmatched" and r.candidates:
            detail = page.js(f"document.getElementById('turn-{r.turn.index}').innerText")
            assert detail.count("题库中最接近的题目") == 1 and not re.search(r"\d\.\d\d", detail), detail
    study = page.js("[...document.querySelectorAll('#study li')].map(li => li.innerText)")
    for item, shown in zip(report.summary.study_next, study, strict=True):
        assert shown.startswith("纠正错误说法：") == bool(item.wrong_claim), shown
    page.screenshot(shots, "transcript-report-zh")
    local_only(page.requested_urls())


def _graded(r: TurnResult) -> bool:
    return r.evaluation is not None and r.evaluation.score is not None
