"""Nothing stale, nothing lost: results keyed by everything that decides them, shared state that
threads and processes can use at once, and transcript jobs that survive a server restart.

Everything is real: the m3e model, FAISS, SQLite files, uvicorn on a loopback socket, `evaluate`
processes, and a Chat Completions server on 127.0.0.1 (tests/chat_server.py) as the LLM endpoint."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from chat_server import ChatServer
from test_service import running

from evaluator import Evaluator
from evaluator.encoders.embedder import Embedder
from evaluator.encoders.vector_store import read_store, shipped_path, text_key
from evaluator.judges.cache import JudgeCache
from evaluator.judges.openai_judge import JudgeOptions
from evaluator.matching.index import _read, bank_texts, index_dir
from evaluator.models import TranscriptReport, TranscriptTurn, TurnResult
from evaluator.service.app import JOBS_FILE, create_app
from evaluator.transcripts.batch import calibration_id, run_turns

ROOT = Path(__file__).resolve().parent.parent
WORKERS = Path(__file__).with_name("reliability_workers.py")
IDS = ["attention-scale-sqrt-dk", "kv-cache-no-q-cache", "layernorm-vs-batchnorm", "lora-principle"]


def turns_of(bank: Path, ids: list[str] = IDS) -> list[TranscriptTurn]:
    """One turn per bank question: its question and its best graded anchor, pinned by id."""
    from evaluator.bank.loader import QuestionBank

    qs = QuestionBank.load(bank)
    turns = []
    for i, qid in enumerate(ids, 1):
        q = qs.get(qid)
        best = max(q.rubric.anchors, key=lambda a: a.score)
        turns.append(TranscriptTurn(index=i, question=q.question, answer=best.answer, question_id=qid))
    return turns


def write_transcript(path: Path, turns: list[TranscriptTurn]) -> Path:
    rows = [{"question": t.question, "answer": t.answer, "question_id": t.question_id} for t in turns]
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVALUATOR_"))}
    return {**env, "PYTHONIOENCODING": "utf-8", "EVALUATOR_HOME": str(home), **extra}


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=ROOT)  # fmt: skip


def models_asked(server: ChatServer, since: int = 0) -> list[str]:
    return [str(r.body.get("model")) for r in server.requests[since:]]


# -- resume ------------------------------------------------------------------------------------------


def test_resume_after_a_model_change_regrades_every_turn_and_says_so(
    small_bank: Any, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = small_bank(IDS[:3])
    home = tmp_path / "home"
    turns = turns_of(bank, IDS[:3])
    transcript = write_transcript(tmp_path / "interview.json", turns)
    results = tmp_path / "run.jsonl"
    with ChatServer() as server:
        env = cli_env(home, OPENAI_API_KEY="test-key", OPENAI_BASE_URL=server.url)
        common = ["transcript", str(transcript), "--judge", "openai", "--results", str(results), "--bank", str(bank),
                  "--format", "json"]  # fmt: skip
        first = run_cli(env, *common, "--model", "model-a")
        assert first.returncode == 0, first.stderr
        assert models_asked(server) == ["model-a"] * 3

        # the same settings: every stored result is reused, no request is made
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        options = JudgeOptions(model="model-a", base_url=server.url)
        same = Evaluator(bank=bank, judge="openai", embedder=embedder, home=home, judge_options=options)
        again = run_turns(same, turns, results=results, resume=True)
        assert (again.reused, again.regraded, len(server.requests)) == (3, 0, 3)

        changed = run_cli(env, *common, "--model", "model-b", "--resume")
        assert changed.returncode == 0, changed.stderr
        assert models_asked(server, 3) == ["model-b"] * 3  # model-a's verdicts are neither reused nor cached
    report = TranscriptReport.model_validate_json(changed.stdout)
    assert report.regraded == 3 and report.reused == 0
    assert report.regraded_because == ("model model-a -> model-b",)
    assert [t.evaluation.judge_meta.model for t in report.turns if t.evaluation] == ["model-b"] * 3
    assert "0 turn(s) reused" in changed.stderr and "3 re-graded" in changed.stderr
    assert "model model-a -> model-b" in changed.stderr


def test_resume_regrades_after_a_new_calibration_or_a_bank_edit(
    small_bank: Any, tmp_path: Path, embedder: Embedder
) -> None:
    bank = small_bank(IDS[:2])
    home, results = tmp_path / "home", tmp_path / "run.jsonl"
    turns = turns_of(bank, IDS[:2])
    ev = Evaluator(bank=bank, judge="offline", embedder=embedder, home=home)
    first = run_turns(ev, turns, results=results)
    assert [t.status for t in first.turns] == ["graded", "graded"]

    calibration = ev.calibration.model_copy(update={"version": "recalibrated"})
    recalibrated = Evaluator(bank=bank, judge="offline", embedder=embedder, home=home, calibration=calibration)
    report = run_turns(recalibrated, turns, results=results, resume=True)
    assert (report.reused, report.regraded) == (0, 2)
    before, after = calibration_id(ev.calibration), calibration_id(calibration)
    assert after.startswith("recalibrated+")
    assert report.regraded_because == (f"calibration version {before} -> {after}",)
    # a refit that kept its version string is a new calibration all the same
    refit = calibration.model_copy(update={"alpha": calibration.alpha / 2})
    report = run_turns(Evaluator(bank=bank, judge="offline", embedder=embedder, home=home, calibration=refit),
                       turns, results=results, resume=True)  # fmt: skip
    assert report.regraded == 2 and report.regraded_because[0].startswith("calibration version recalibrated+")

    reference = bank / "reference_answers" / f"{IDS[1]}.md"
    reference.write_text(reference.read_text(encoding="utf-8") + "\n补充一句新的说明。", encoding="utf-8")
    edited = Evaluator(bank=bank, judge="offline", embedder=embedder, home=home, calibration=refit)
    report = run_turns(edited, turns, results=results, resume=True)
    # The bank's hash covers every entry: matching and the offline judge read the whole bank.
    assert report.regraded == 2 and len(report.regraded_because) == 1
    assert report.regraded_because[0].startswith("bank content ")
    assert all(t.basis is not None and t.basis.bank == edited.bank.content_hash for t in report.turns)
    assert run_turns(edited, turns, results=results, resume=True).reused == 2


# -- shared state ------------------------------------------------------------------------------------


def test_lazy_index_and_judge_are_built_once_when_threads_ask_at_once(
    small_bank: Any, tmp_path: Path, embedder: Embedder
) -> None:
    ev = Evaluator(bank=small_bank(IDS), judge="offline", embedder=embedder, home=tmp_path / "home")
    n = 8
    gate = threading.Barrier(n)

    def first_use(_: int) -> tuple[int, int]:
        gate.wait(timeout=60)
        return id(ev.index), id(ev.judge)

    with ThreadPoolExecutor(max_workers=n) as pool:
        seen = list(pool.map(first_use, range(n)))
    assert len({i for i, _ in seen}) == 1, "the index was built more than once"
    assert len({j for _, j in seen}) == 1, "the judge was built more than once"


def start_workers(kind: str, *args: str) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    cmd = [sys.executable, str(WORKERS), kind]
    pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    return [subprocess.Popen([*cmd, name, *args], env=env, cwd=ROOT, **pipes) for name in ("p1", "p2")]


def finish(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    ended = [proc.communicate(timeout=600) for proc in procs]
    failed = [err[-3000:] for proc, (_, err) in zip(procs, ended, strict=True) if proc.returncode != 0]
    assert not failed, "\n".join(failed)
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in ended]


def test_two_processes_build_the_index_at_once_and_both_end_correct(
    small_bank: Any, tmp_path: Path, embedder: Embedder
) -> None:
    bank = small_bank(IDS[:2])
    # a sentence no store has: both processes embed it and write the vector store at the same moment
    reference = bank / "reference_answers" / f"{IDS[0]}.md"
    reference.write_text(reference.read_text(encoding="utf-8") + "\n两个进程同时写入的新句子。", encoding="utf-8")
    home = tmp_path / "home"
    rounds = 40
    found = finish(start_workers("index", str(bank), str(home), str(tmp_path / "barrier"), str(rounds)))

    for name, result in zip(("p1", "p2"), found, strict=True):
        assert result["torn"] == 0, f"{name} read half an index {result['torn']} times"
        assert result["best"] == result["question"], result  # its own index matches the bank question
        assert result["mine"] == sorted(f"{name}-{i}" for i in range(rounds)), "vectors lost from the store"
    ev = Evaluator(bank=bank, judge="offline", embedder=embedder, home=home)
    texts = bank_texts(ev.bank)
    persisted = _read(index_dir(home, ev.bank, embedder.name), texts)
    assert persisted is not None, "no whole index on disk"
    fresh = embedder.encode(texts)
    cosines = np.einsum("ij,ij->i", np.stack([persisted[t] for t in texts]), fresh)
    assert cosines.min() > 0.999, (cosines.min(), texts[int(cosines.argmin())])
    store = read_store(home / "vectors" / shipped_path(embedder.name).name)
    new_texts = {text_key(t) for t in texts} - set(read_store(shipped_path(embedder.name)))
    assert len(new_texts) >= 2 and new_texts <= set(store)
    assert len(store) == 2 * rounds + len(new_texts)  # each process's own keys and the bank's new texts
    leftovers = [p.name for p in home.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_threads_and_processes_hammer_the_judge_cache_without_losing_or_crossing_entries(tmp_path: Path) -> None:
    path = tmp_path / "judge-cache.sqlite3"
    threads, per_thread = 8, 25
    found = finish(start_workers("cache", str(path), str(tmp_path / "barrier"), str(threads), str(per_thread)))
    assert [r["problems"] for r in found] == [[], []]
    cache = JudgeCache(path)
    assert len(cache) == 2 * threads * per_thread
    for name in ("p1", "p2"):
        for t in range(threads):
            for i in range(per_thread):
                got = cache.get(f"{name}/{t}/{i}")
                assert got is not None and got[0].feedback == f"{name}/{t}/{i}"
                assert (got[1].input_tokens, got[1].output_tokens) == (t, i)
    cache.close()
    with sqlite3.connect(path) as con:  # readers never wait for a writer
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- the service -------------------------------------------------------------------------------------


def distinct_requests(ev: Evaluator, n: int) -> list[dict[str, str]]:
    """N different answers to different questions, sent by id, by question text and by answer alone."""
    bodies: list[dict[str, str]] = []
    for k, q in enumerate(sorted(ev.bank, key=lambda q: q.id)):
        if len(bodies) == n:
            break
        anchor = q.rubric.anchors[k % len(q.rubric.anchors)]
        how = k % 3
        body = {"answer": anchor.answer}
        if how == 0:
            body["question_id"] = q.id
        elif how == 1:
            body["question"] = q.question
        bodies.append(body)
    assert len({b["answer"] for b in bodies}) == n
    return bodies


def test_fifty_distinct_answers_in_parallel_each_get_their_own_grade(evaluator: Evaluator) -> None:
    bodies = distinct_requests(evaluator, 50)
    with running(create_app(evaluator, token="", workers=8)) as url, httpx.Client(base_url=url, timeout=300) as c:

        def post(body: dict[str, str]) -> tuple[int, Any]:
            r = c.post("/v1/evaluate", json=body)
            return r.status_code, r.json()

        with ThreadPoolExecutor(max_workers=16) as pool:
            parallel = list(pool.map(post, bodies))
        one_by_one = [post(b) for b in bodies]
    graded = [p for p in parallel if p[0] == 200]
    assert len(graded) >= 30 and len({p[1]["score"] for p in graded}) > 10
    for body, together, alone in zip(bodies, parallel, one_by_one, strict=True):
        assert together == alone, body["answer"][:40]
        if "question_id" in body:
            assert together[1]["question_id"] == body["question_id"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not start")


def poll(client: httpx.Client, job_id: str, until: Any, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if until(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_service_restart_mid_job_keeps_finished_turns_and_reports_the_job_state(
    small_bank: Any, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank, home = small_bank(IDS), tmp_path / "home"
    turns = turns_of(bank)
    body = {"transcript": write_transcript(tmp_path / "t.json", turns).read_text("utf-8"), "format": "json",
            "concurrency": 1}  # fmt: skip
    with ChatServer() as chat:
        chat.delay = 1.0  # a judge call takes a second: the server is killed mid-job
        # no judge cache: a turn judged again shows as a request
        llm = {"OPENAI_BASE_URL": chat.url, "OPENAI_API_KEY": "test-key", "EVALUATOR_MODEL": "test-model",
               "EVALUATOR_NO_CACHE": "1"}  # fmt: skip
        url = f"http://127.0.0.1:{free_port()}"
        cmd = [sys.executable, str(ROOT / "cli.py"), "serve", "--port", url.rsplit(":", 1)[1], "--bank", str(bank),
               "--judge", "openai"]  # fmt: skip
        proc = subprocess.Popen(cmd, env=cli_env(home, **llm), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            wait_for(url, proc)
            with httpx.Client(base_url=url, timeout=60) as c:
                r = c.post("/v1/transcripts", json=body)
                assert r.status_code == 202, r.text
                job_id = r.json()["id"]
                poll(c, job_id, lambda j: j["finished"] >= 2)
            proc.kill()  # no shutdown at all: a crash or a power cut
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        with sqlite3.connect(home / JOBS_FILE) as con:
            rows = con.execute("SELECT result FROM job_turns WHERE job_id = ?", (job_id,)).fetchall()
        kept = {r.key: r for r in (TurnResult.model_validate_json(row[0]) for row in rows)}
        assert 2 <= len(kept) < 4 and all(r.status == "graded" for r in kept.values())
        asked = len(chat.requests)

        # Restarted without the LLM judge the job ran with: it is reported as interrupted, turns kept.
        offline = Evaluator(bank=bank, judge="offline", embedder=embedder, home=home)
        with running(create_app(offline, token="")) as url_b, httpx.Client(base_url=url_b, timeout=60) as c:
            job = poll(c, job_id, lambda j: j["status"] not in ("queued", "running"))
        assert job["status"] == "interrupted" and job["error"]["type"] == "judge_unavailable", job
        assert job["resumed"] == 1 and job["finished"] == len(kept) and job["report"] is None
        assert {t["key"] for t in job["turns"]} == set(kept)
        assert len(chat.requests) == asked

        # Restarted with it: the job resumes and judges only the turns it had not finished.
        for name, value in llm.items():
            monkeypatch.setenv(name, value)
        judged = Evaluator(bank=bank, judge="openai", embedder=embedder, home=home)
        with running(create_app(judged, token="")) as url_c, httpx.Client(base_url=url_c, timeout=60) as c:
            state = c.get(f"/v1/jobs/{job_id}").json()
            assert state["resumed"] == 2 and state["finished"] >= len(kept), state
            assert state["status"] in ("queued", "running", "done"), state
            job = poll(c, job_id, lambda j: j["status"] not in ("queued", "running"))
        assert len(chat.requests) - asked == len(turns) - len(kept)
    assert job["status"] == "done", job
    report = TranscriptReport.model_validate(job["report"])
    assert [t.status for t in report.turns] == ["graded"] * len(turns) and report.reused == len(kept)
    for t in report.turns:
        if t.key in kept:
            assert t.evaluation == kept[t.key].evaluation  # the finished turn itself, not a new grade


def test_a_server_stopping_mid_job_marks_it_interrupted_and_the_next_start_resumes_it(tmp_path: Path) -> None:
    from evaluator.service.app import JobStore, TranscriptRequest

    gate = threading.Event()
    runs: list[list[str]] = []

    def runner(request: Any, default_judge: str, progress: Any) -> TranscriptReport:
        """A batch of three turns that finishes one, then waits: as `run_turns` drives the observer."""
        kept = {r.turn.index for r in progress.kept}
        runs.append(sorted(r.key for r in progress.kept))
        progress.started(3, len(kept))
        finished = list(progress.kept)
        for index in (i for i in (1, 2, 3) if i not in kept):
            turn = TranscriptTurn(index=index, question=f"问题{index}？", answer="回答")
            result = TurnResult(key=f"turn-{index}", turn=turn, status="unanswered")
            progress.finished(result)  # raises when the store is closing: the batch stops here
            finished.append(result)
            gate.wait(timeout=30)
        from evaluator.transcripts.summary import summarize

        ordered = tuple(sorted(finished, key=lambda r: r.turn.index))
        return TranscriptReport(source="<transcript>", judge="offline", complete=True, turns=ordered,
                                summary=summarize(ordered, total=3), reused=len(kept))  # fmt: skip

    path = tmp_path / JOBS_FILE
    first = JobStore(path, runner)
    job = first.submit(TranscriptRequest(transcript="问：a？\n答：b"), "offline")
    deadline = time.monotonic() + 30
    while (view := first.view(job.id)) is None or view.finished < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first.close()  # the server stops while the job waits in its second turn
    gate.set()
    while (view := first.view(job.id)) is None or view.status == "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert view.status == "interrupted" and view.error is not None and view.error["type"] == "interrupted"
    assert view.turns is not None and [t.key for t in view.turns] == ["turn-1", "turn-2"]

    second = JobStore(path, runner)  # the next start
    assert second.resume() == [job.id]
    while (view := second.view(job.id)) is None or view.status != "done":
        assert time.monotonic() < deadline, view
        time.sleep(0.02)
    assert runs == [[], ["turn-1", "turn-2"]]  # the second run started from the finished turns
    assert view.report is not None and view.report.reused == 2 and view.resumed == 1
    assert [t.key for t in view.report.turns] == ["turn-1", "turn-2", "turn-3"]
    second.close()
