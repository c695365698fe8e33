"""The HTTP API over a real socket: httpx against uvicorn started here on 127.0.0.1 (a free port)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from evaluator import Evaluator
from evaluator.judges import JudgeRequest
from evaluator.models import JudgeVerdict
from evaluator.service.app import MAX_BODY_BYTES, create_app

ROOT = Path(__file__).resolve().parent.parent
ANSWER = (ROOT / "examples" / "answer.txt").read_text(encoding="utf-8")
QID = "attention-scale-sqrt-dk"
TRANSCRIPT = """面试官：为什么 Attention 要除以根号 d？
候选人：q 和 k 点积的方差随 d_k 增大，数值太大 softmax 会饱和、梯度很小，所以除以根号 d_k 把方差拉回 1。
面试官：LoRA 的原理是什么？
候选人：冻结预训练权重，只训练两个低秩矩阵 A 和 B，增量是 BA，参数量小，推理时可以合并回原权重。
"""


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300  # the first warm-up builds the index (slow on a busy CPU)
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def base_url(evaluator: Evaluator) -> Iterator[str]:
    with running(create_app(evaluator, token="")) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as c:
        yield c


def error_type(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"], body
    return str(body["error"]["type"])


# -- reading the bank -------------------------------------------------------------------------------


def test_healthz_and_docs(client: httpx.Client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["questions"] > 100 and r.json()["judge"] == "offline"
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/evaluate", "/v1/transcripts", "/v1/jobs/{job_id}", "/v1/questions"} <= set(paths)


def test_questions_filter_search_and_reveal(client: httpx.Client) -> None:
    everything = client.get("/v1/questions").json()
    assert everything["total"] == len(everything["questions"]) > 100
    assert "attention" in everything["topics"]
    attention = client.get("/v1/questions", params={"topic": "attention"}).json()
    assert 0 < attention["total"] < everything["total"]
    assert {q["topic"] for q in attention["questions"]} == {"attention"}
    found = client.get("/v1/questions", params={"q": "根号"}).json()
    assert found["matched_by"] == "text" and QID in [q["id"] for q in found["questions"]]
    similar = client.get("/v1/questions", params={"q": "注意力分数为什么要除以一个缩放因子"}).json()
    assert similar["matched_by"] == "similarity"  # no literal hit: the matcher's nearest questions
    assert similar["questions"][0]["id"] == QID, [q["id"] for q in similar["questions"][:3]]

    hidden = client.get(f"/v1/questions/{QID}").json()
    assert hidden["question"] and hidden["reference"] is None and hidden["criteria"] is None
    shown = client.get(f"/v1/questions/{QID}", params={"reveal": "true"}).json()
    assert len(shown["reference"]) > 50 and shown["criteria"]

    random_q = client.get("/v1/questions/random", params={"topic": "attention"}).json()
    assert random_q["topic"] == "attention"


def test_question_errors(client: httpx.Client) -> None:
    r = client.get("/v1/questions/no-such-question")
    assert r.status_code == 404 and error_type(r) == "unknown_question"
    r = client.get("/v1/questions", params={"topic": "astrology"})
    assert r.status_code == 400 and error_type(r) == "unknown_topic"
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and error_type(r) == "not_found"


# -- evaluating -------------------------------------------------------------------------------------


def test_evaluate_by_id_by_question_and_by_answer(client: httpx.Client) -> None:
    r = client.post("/v1/evaluate", json={"answer": ANSWER, "question_id": QID})
    assert r.status_code == 200, r.text
    ev = r.json()
    assert ev["question_id"] == QID and isinstance(ev["score"], float) and ev["score"] > 50
    assert ev["criteria"] and {c["level"] for c in ev["criteria"]} <= {"met", "partial", "missing"}
    assert any(c["evidence"] and c["evidence"] in ANSWER for c in ev["criteria"])
    assert ev["reference"] is None and ev["judge"] == "offline"

    by_question = client.post(
        "/v1/evaluate", json={"answer": ANSWER, "question": "为什么 Attention 要除以根号 d？", "reveal": True}
    ).json()
    assert by_question["question_id"] == QID and by_question["reference"]
    by_answer = client.post("/v1/evaluate", json={"answer": ANSWER, "judge": "offline"}).json()
    assert by_answer["question_id"] == QID and by_answer["score"] == ev["score"]


def test_no_confident_match_is_422_with_candidates(client: httpx.Client) -> None:
    r = client.post("/v1/evaluate", json={"answer": "今天天气很好，我们下午去公园散步，晚上吃火锅。"})
    assert r.status_code == 422, r.text
    assert error_type(r) == "no_confident_match"
    candidates = r.json()["error"]["candidates"]
    assert candidates and {"id", "question", "cosine", "score"} <= set(candidates[0])


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({}, 400, "invalid_request"),
        ({"answer": ""}, 400, "invalid_request"),
        ({"answer": "   \n  "}, 400, "invalid_input"),
        ({"answer": "x" * 20_001}, 400, "invalid_request"),
        ({"answer": 42}, 400, "invalid_request"),
        ({"answer": "a", "unknown_field": 1}, 400, "invalid_request"),
        ({"answer": "a", "judge": "gpt-9"}, 400, "invalid_request"),
        ({"answer": "a", "question_id": "no-such-question"}, 404, "unknown_question"),
        ({"answer": "a", "judge": "openai"}, 400, "judge_unavailable"),  # no endpoint configured in tests
    ],
)
def test_bad_evaluate_requests(client: httpx.Client, body: dict[str, Any], status: int, kind: str) -> None:
    r = client.post("/v1/evaluate", json=body)
    assert r.status_code == status, r.text
    assert error_type(r) == kind


def test_malformed_and_oversized_bodies(client: httpx.Client) -> None:
    r = client.post("/v1/evaluate", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_type(r) == "invalid_request"
    big = b'{"answer": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    r = client.post("/v1/evaluate", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and error_type(r) == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        yield b'{"answer": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}'

    r = client.post("/v1/evaluate", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and error_type(r) == "body_too_large"
    assert client.get("/healthz").status_code == 200  # the server is fine afterwards


# -- the page ---------------------------------------------------------------------------------------


def test_page_and_assets_are_served_locally(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "提交评分" in r.text and "default-src 'self'" in r.headers["content-security-policy"]
    for asset, kind in (("/static/app.js", "javascript"), ("/static/style.css", "text/css")):
        a = client.get(asset)
        assert a.status_code == 200 and kind in a.headers["content-type"]
        assert "http://" not in a.text and "https://" not in a.text  # nothing from a CDN


# -- transcripts ------------------------------------------------------------------------------------


def test_transcript_job_reports_progress_and_the_report(client: httpx.Client) -> None:
    r = client.post("/v1/transcripts", json={"transcript": TRANSCRIPT})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}" and job["status"] in ("queued", "running")
    deadline = time.monotonic() + 120
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = client.get(f"/v1/jobs/{job['id']}").json()
    assert job["status"] == "done", job
    assert job["total"] == 2 and job["finished"] == 2
    report = job["report"]
    assert report["summary"]["total"] == 2 and report["summary"]["graded"] >= 1
    assert [t["turn"]["index"] for t in report["turns"]] == [1, 2]

    now = client.post("/v1/transcripts", params={"wait": "true"}, json={"transcript": TRANSCRIPT})
    assert now.status_code == 200 and now.json()["summary"]["total"] == 2


def test_transcript_errors(client: httpx.Client) -> None:
    r = client.post("/v1/transcripts", json={"transcript": "没有任何说话人标签的一段话"})
    assert r.status_code == 400 and error_type(r) == "invalid_input"
    # a one-line body that names a server file is transcript text, never a path to read
    r = client.post("/v1/transcripts", json={"transcript": str(ROOT / "examples" / "interview_zh.md")})
    assert r.status_code == 400 and error_type(r) == "invalid_input"
    r = client.get("/v1/jobs/0123456789abcdef")
    assert r.status_code == 404 and error_type(r) == "unknown_job"


# -- auth -------------------------------------------------------------------------------------------


def test_bearer_token_guards_the_api(evaluator: Evaluator) -> None:
    secret = "s3cret-token-value"
    with running(create_app(evaluator, token=secret)) as url, httpx.Client(base_url=url, timeout=60) as c:
        assert c.get("/healthz").json()["auth"] is True
        assert c.get("/").status_code == 200  # the page itself holds no data
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": secret}):
            r = c.get("/v1/questions", headers=headers)
            assert r.status_code == 401 and error_type(r) == "unauthorized"
            assert secret not in r.text
            r = c.post("/v1/evaluate", json={"answer": ANSWER}, headers=headers)
            assert r.status_code == 401
        ok = c.post("/v1/evaluate", json={"answer": ANSWER, "question_id": QID},
                    headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
        assert ok.status_code == 200 and ok.json()["score"] is not None


# -- concurrency ------------------------------------------------------------------------------------


class HeldJudge:
    """The offline judge behind a network call that returns only when the test releases it: what a slow
    LLM judge looks like to the server. Counts the calls in flight."""

    name = "offline"

    def __init__(self, inner: Any):
        self.inner = inner
        self.release = threading.Event()
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def judge(self, request: JudgeRequest) -> JudgeVerdict:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self.release.wait(timeout=120)
            return self.inner.judge(request)  # type: ignore[no-any-return]
        finally:
            with self._lock:
                self.in_flight -= 1

    async def ajudge(self, request: JudgeRequest) -> JudgeVerdict:
        raise NotImplementedError


def test_concurrent_requests_are_served_while_judge_calls_are_in_flight(evaluator: Evaluator) -> None:
    held = HeldJudge(evaluator.offline_judge())
    ev = Evaluator(bank=evaluator.bank, judge=held, embedder=evaluator.embedder, home=evaluator.home)
    n = 6
    with running(create_app(ev, workers=n)) as url, httpx.Client(base_url=url, timeout=120) as c:

        def post(_: int) -> httpx.Response:
            return c.post("/v1/evaluate", json={"answer": ANSWER, "question_id": QID})

        with ThreadPoolExecutor(max_workers=n) as pool:
            futures = [pool.submit(post, i) for i in range(n)]
            deadline = time.monotonic() + 120
            while held.in_flight < n:  # every request is inside its judge call at once
                assert time.monotonic() < deadline and not any(f.done() for f in futures), held.in_flight
                time.sleep(0.02)
            health = c.get("/healthz")
            listing = c.get("/v1/questions", params={"topic": "attention"})
            # answered while every judge call was still blocked: nothing had been released yet
            blocked_meanwhile = held.in_flight == n and not any(f.done() for f in futures)
            held.release.set()
            results = [f.result() for f in futures]
    assert health.status_code == 200 and listing.status_code == 200
    assert blocked_meanwhile
    assert held.most_in_flight == n
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    assert len({r.json()["score"] for r in results}) == 1


def test_job_store_bounds_active_jobs_and_reports_failures(tmp_path: Path) -> None:
    from evaluator.errors import InputError, TooManyJobs
    from evaluator.service.app import JobStore, TranscriptRequest

    gate = threading.Event()

    def blocked(request: Any, default_judge: str, progress: Any) -> Any:
        gate.wait(timeout=30)
        raise InputError("bad transcript")

    store = JobStore(tmp_path / "jobs.sqlite3", blocked, max_active=2, keep=1)
    body = TranscriptRequest(transcript=TRANSCRIPT)
    jobs = [store.submit(body, "offline"), store.submit(body, "offline")]
    with pytest.raises(TooManyJobs) as refused:
        store.submit(body, "offline")
    assert refused.value.http_status == 429
    gate.set()
    deadline = time.monotonic() + 30
    while any((v := store.view(j.id)) is not None and v.status != "failed" for j in jobs):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    last = store.view(jobs[-1].id)
    assert last is not None and last.error == {"type": "invalid_input", "message": "bad transcript"}
    store.submit(body, "offline")  # room again; finished jobs beyond `keep` are dropped
    assert store.view(jobs[0].id) is None
    store.close()


def test_loopback_default() -> None:
    from evaluator.service.app import DEFAULT_HOST, is_loopback

    assert is_loopback(DEFAULT_HOST) and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
