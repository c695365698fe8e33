"""Bounded loopback load on the HTTP API: `python benchmarks/load.py [-n 60] [-c 8] [--url URL]`.

Starts `evaluate serve` on a free 127.0.0.1 port (or uses --url, which must be a loopback address),
sends N POST /v1/evaluate requests, at most C in flight, each a graded anchor answer of a bank
question (pinned by id, so every request is graded), and prints throughput, latency percentiles and
the error count. Exit code 1 when any request failed. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from evaluator.service import is_loopback

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loopback(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")


def workload(n: int, seed: int) -> list[dict[str, str]]:
    """N requests: graded anchor answers of bank questions, pinned by id, in a fixed random order."""
    from evaluator.bank import QuestionBank
    from evaluator.config import default_bank_dir

    bank = QuestionBank.load(default_bank_dir())
    pool = [{"answer": a.answer, "question_id": q.id} for q in bank for a in q.rubric.anchors]
    rng = random.Random(seed)
    return [rng.choice(pool) for _ in range(n)]


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


async def run_load(url: str, bodies: list[dict[str, str]], concurrency: int, token: str | None) -> tuple[
    list[float], Counter[str], float
]:  # fmt: skip
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    gate = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits, headers=headers) as client:

        async def one(body: dict[str, str]) -> None:
            async with gate:
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/evaluate", json=body)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    return
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200 or r.json().get("score") is None:
                    errors[f"HTTP {r.status_code}" if r.status_code != 200 else "unscored"] += 1

        await one(bodies[0])  # one warm request, not counted
        latencies.clear()
        errors.clear()
        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        wall = time.perf_counter() - started
    return latencies, errors, wall


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--requests", type=int, default=60, help="requests to send (at most 2000)")
    parser.add_argument("-c", "--concurrency", type=int, default=8, help="requests in flight (at most 64)")
    parser.add_argument("--workers", type=int, default=8, help="the started server's --workers")
    parser.add_argument("--url", help="an already running server on a loopback address")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not 1 <= args.requests <= 2000 or not 1 <= args.concurrency <= 64:
        raise SystemExit("bounded load: 1-2000 requests, 1-64 in flight")
    if args.url and not loopback(args.url):
        raise SystemExit(f"{args.url}: this benchmark only talks to loopback addresses")

    bodies = workload(args.requests, args.seed)
    proc = None
    url = args.url.rstrip("/") if args.url else None
    if url is None:
        url = f"http://127.0.0.1:{free_port()}"
        proc = start_server(int(url.rsplit(":", 1)[1]), args.workers)
    try:
        ready = wait_ready(url, proc)
        health = httpx.get(url + "/healthz", timeout=10).json()
        latencies, errors, wall = asyncio.run(
            run_load(url, bodies, args.concurrency, os.environ.get("EVALUATOR_API_TOKEN") if args.url else None)
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

    cpus = os.cpu_count()
    print(f"server: {url} (judge {health['judge']}, {health['questions']} questions"
          f"{f', ready in {ready:.1f} s' if proc else ''}); client and server share {cpus} CPUs")  # fmt: skip
    print(f"requests: {args.requests} POST /v1/evaluate, {args.concurrency} in flight, server workers {args.workers}")
    print(f"wall: {wall:.2f} s   throughput: {len(latencies) / wall:.2f} req/s")
    if latencies:
        ms = [1000 * x for x in latencies]
        print(f"latency ms: p50 {pct(ms, 50):.0f}  p90 {pct(ms, 90):.0f}  p99 {pct(ms, 99):.0f}  "
              f"max {max(ms):.0f}  mean {statistics.fmean(ms):.0f}")  # fmt: skip
    total_errors = sum(errors.values())
    print(f"errors: {total_errors}" + (f" ({dict(errors)})" if errors else ""))
    sys.exit(1 if total_errors else 0)


if __name__ == "__main__":
    main()
