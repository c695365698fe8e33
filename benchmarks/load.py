"""Mixed, distinct-answer load on the HTTP API for a fixed time: `python benchmarks/load.py [-s 60] [-c 8]`.

Starts `evaluate serve` on a free 127.0.0.1 port (or uses --url, which must be a loopback address) and,
for --seconds, keeps C requests in flight: POST /v1/evaluate with a different answer every time (the
bank's graded anchor answers, each sent once; when they run out, with a numbered sentence added, so no
answer repeats and no cache hands back an earlier grade), asked three ways in turn (pinned by
question_id, with the bank question's text, by the answer alone), and every tenth request a question
search (GET /v1/questions?q=). Prints throughput, p50/p90/p99 latency and the errors, 0 expected: a
transport error, a 5xx or unexpected status, an unscored answer, or a grade for another question
than the one pinned or asked. A 422 (no confident match) for an answer sent alone is a valid reply.
Exit code 1 when any request failed. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from evaluator.service.app import is_loopback
from evaluator.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KINDS = ("by id", "by question", "by answer", "search")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loopback(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")


def workload(seed: int) -> Iterator[tuple[str, dict[str, str]]]:
    """Endless (kind, request) pairs, each evaluate request with an answer not sent before."""
    import random

    from evaluator.bank.loader import QuestionBank
    from evaluator.config import default_bank_dir

    bank = QuestionBank.load(default_bank_dir())
    pool = [(q, a.answer) for q in bank for a in q.rubric.anchors]
    random.Random(seed).shuffle(pool)
    n = 0
    for round_ in itertools.count():
        for q, answer in pool:
            n += 1
            if n % 10 == 0:
                yield "search", {"q": q.aliases[0] if q.aliases else q.question[:12]}
                continue
            text = answer if round_ == 0 else f"{answer}\n（补充说明第 {round_} 条：以上是我的理解。）"
            kind = KINDS[n % 3]
            body = {"answer": text}
            if kind == "by id":
                body["question_id"] = q.id
            elif kind == "by question":
                body["question"] = q.question
            yield kind, {**body, "_expect": q.id}


def start_server(port: int, workers: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, str(ROOT / "cli.py"), "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--judge", "offline"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "EVALUATOR_API_TOKEN"}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 600) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise SystemExit(f"the server exited ({proc.returncode}):\n{err[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{url} not ready after {timeout:.0f} s")


def problem(kind: str, body: dict[str, str], r: httpx.Response) -> str | None:
    """Why a reply is wrong, or None."""
    if kind == "search":
        return None if r.status_code == 200 and r.json().get("questions") else f"search HTTP {r.status_code}"
    if kind == "by answer" and r.status_code == 422:
        return None  # the answer alone may not name its question confidently: a valid refusal
    if r.status_code != 200:
        return f"{kind} HTTP {r.status_code}"
    data = r.json()
    if data.get("score") is None:
        return f"{kind} unscored"
    if kind == "by id" and data.get("question_id") != body["_expect"]:
        return "by id: graded against another question"
    # The question's own text may still leave the choice between close siblings to the answer, but an
    # answer graded against a question that was not even a candidate has crossed over from another request.
    if kind == "by question" and body["_expect"] not in [c["id"] for c in data["match"]["candidates"]]:
        return "by question: graded against an unrelated question"
    return None


async def run_load(url: str, seconds: float, concurrency: int, token: str | None, seed: int) -> tuple[
    dict[str, list[float]], Counter[str], float
]:  # fmt: skip
    latencies: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: Counter[str] = Counter()
    requests = workload(seed)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits, headers=headers) as client:

        async def send(kind: str, body: dict[str, str]) -> httpx.Response:
            if kind == "search":
                return await client.get("/v1/questions", params=body)
            return await client.post("/v1/evaluate", json={k: v for k, v in body.items() if k != "_expect"})

        # One request of each kind first, not counted: whatever the server builds on first use is built.
        for kind in KINDS:
            await send(kind, next(b for k, b in requests if k == kind))
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                kind, body = next(requests)
                t0 = time.perf_counter()
                try:
                    r = await send(kind, body)
                except httpx.HTTPError as exc:
                    errors[f"{kind} {type(exc).__name__}"] += 1
                    continue
                latencies[kind].append(time.perf_counter() - t0)
                why = problem(kind, body, r)
                if why:
                    errors[why] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return latencies, errors, wall


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-s", "--seconds", type=float, default=60.0, help="how long to keep the load on (at most 600)")
    parser.add_argument("-c", "--concurrency", type=int, default=8, help="requests in flight (at most 64)")
    parser.add_argument("--workers", type=int, default=8, help="the started server's --workers")
    parser.add_argument("--url", help="an already running server on a loopback address")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not 1 <= args.seconds <= 600 or not 1 <= args.concurrency <= 64:
        raise SystemExit("bounded load: 1-600 seconds, 1-64 in flight")
    if args.url and not loopback(args.url):
        raise SystemExit(f"{args.url}: this benchmark only talks to loopback addresses")

    proc = None
    url = args.url.rstrip("/") if args.url else None
    if url is None:
        url = f"http://127.0.0.1:{free_port()}"
        proc = start_server(int(url.rsplit(":", 1)[1]), args.workers)
    try:
        ready = wait_ready(url, proc)
        health = httpx.get(url + "/healthz", timeout=10).json()
        token = Settings.secret(get_settings().api_token) if args.url else None
        latencies, errors, wall = asyncio.run(run_load(url, args.seconds, args.concurrency, token, args.seed))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

    every = [x for xs in latencies.values() for x in xs]
    print(f"server: {url} (judge {health['judge']}, {health['questions']} questions"
          f"{f', ready in {ready:.1f} s' if proc else ''}); client and server share {os.cpu_count()} CPUs")  # fmt: skip
    print(f"load: {args.seconds:g} s, {args.concurrency} in flight, server workers {args.workers}; "
          f"every evaluate request a different answer")  # fmt: skip
    print(f"requests: {len(every)} in {wall:.1f} s   throughput: {len(every) / wall:.2f} req/s")
    for kind in ("all", *KINDS):
        xs = every if kind == "all" else latencies[kind]
        if xs:
            ms = [1000 * x for x in xs]
            print(f"  {kind:<12} n={len(ms):<5} p50 {pct(ms, 50):6.0f} ms  p90 {pct(ms, 90):6.0f} ms  "
                  f"p99 {pct(ms, 99):6.0f} ms  max {max(ms):6.0f} ms  mean {statistics.fmean(ms):6.0f} ms")  # fmt: skip
    total_errors = sum(errors.values())
    print(f"errors: {total_errors}" + (f" ({dict(errors)})" if errors else ""))
    sys.exit(1 if total_errors else 0)


if __name__ == "__main__":
    main()
