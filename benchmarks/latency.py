"""Latency of the offline pipeline, the fast path (ONNX) beside sentence-transformers, in one run.

    python benchmarks/latency.py [--repeat N] [--warm-repeat N] [--cli-only]

Prints, measured in this one run, each row for both embedding backends and their ratio:
- `evaluate --help` and a usage error (no model is loaded: the same for both);
- the CLI's wall time cold (empty EVALUATOR_HOME: index assembled from the shipped vectors) and warm
  (index cached), median of N runs interleaved between the backends, with the CPU time beside it
  (less sensitive to other work on a shared machine than the wall time);
- per-answer latency, warm (model and index loaded; each backend in its own process): match by
  answer, offline judge, the whole evaluate() call, over the ordering test's answers, and the long
  answers' tail (the offline judge on the longest tenth of them: every clause is embedded).
Targets: fast cold CLI <= 3 s, --help <= 0.5 s (2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("onnx", "sentence-transformers")
ANSWER = ROOT / "examples" / "answer.txt"


def timed(args: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one CLI run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"`evaluate {' '.join(args)}` exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def backend_env(backend: str, home: str) -> dict[str, str]:
    return {**os.environ, "EVALUATOR_HOME": home, "EVALUATOR_EMBEDDING_BACKEND": backend}


def median_pair(values: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)


def p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


def warm_timings(backend: str, repeat: int) -> dict[str, list[float]]:
    """Per-answer timings in this process, with the given backend (run in a child process)."""
    sys.path.insert(0, str(ROOT))
    import yaml

    from evaluator import Evaluator
    from evaluator.encoders.embedder import Embedder
    from evaluator.judges import JudgeRequest

    embedder = Embedder(backend=backend)
    ev = Evaluator(judge="offline", embedder=embedder)
    ev.match(answer="warm-up")
    cases = yaml.safe_load((ROOT / "tests" / "data" / "ordering.yaml").read_text(encoding="utf-8"))
    answers = [(c["id"], c[k]) for c in cases for k in ("complete", "partial", "wrong")]
    longest = {a for _, a in sorted(answers, key=lambda qa: len(qa[1]))[-max(1, len(answers) // 10) :]}
    timings: dict[str, list[float]] = {"match by answer": [], "offline judge": [], "evaluate()": [], "long": []}
    judge = ev.offline_judge()
    verifier = getattr(judge, "verifier", None)
    for _ in range(repeat):
        for qid, answer in answers:
            q = ev.bank.get(qid)
            for name, fn in (
                ("match by answer", lambda a=answer: ev.match(answer=a)),
                ("offline judge", lambda q=q, a=answer: judge.judge(JudgeRequest(question=q, answer=a))),
                ("evaluate()", lambda a=answer: ev.evaluate(a)),
            ):
                embedder.forget_recent()  # each answer is new to the model, as in real use
                if verifier is not None and hasattr(verifier, "forget"):
                    verifier.forget()
                t = time.perf_counter()
                fn()
                took = time.perf_counter() - t
                timings[name].append(took)
                if name == "offline judge" and answer in longest:
                    timings["long"].append(took)
    timings["answers"] = [float(len(answers))]
    return timings


def fmt_ms(values: list[float]) -> str:
    return f"median {1000 * statistics.median(values):6.0f} ms  p90 {1000 * p90(values):6.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="CLI runs per row (median)")
    parser.add_argument("--warm-repeat", type=int, default=1, help="passes over the answers, warm")
    parser.add_argument("--cli-only", action="store_true", help="skip the per-answer (warm) timings")
    parser.add_argument("--warm-child", choices=BACKENDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warm_child:
        print(json.dumps(warm_timings(args.warm_child, args.warm_repeat)))
        return

    print(f"load average {os.getloadavg()[0]:.1f} at start; {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        light_env = {**os.environ, "EVALUATOR_HOME": tmp}
        helps = [timed(["--help"], light_env) for _ in range(args.repeat)]
        usage = [timed([str(ROOT / "no-such-answer.txt")], light_env, ok=(2,)) for _ in range(args.repeat)]
        print(f"{'':34s} {'onnx (fast path)':>22s} {'sentence-transformers':>24s} {'ratio':>7s}")
        for label, runs in (("evaluate --help", helps), ("usage error (missing file)", usage)):
            wall, cpu = median_pair(runs)
            print(f"{label:34s} {f'{wall:5.2f} s (cpu {cpu:4.2f})':>22s}", flush=True)
        cold: dict[str, list[tuple[float, float]]] = {b: [] for b in BACKENDS}
        warm: dict[str, list[tuple[float, float]]] = {b: [] for b in BACKENDS}
        for run in range(args.repeat):
            for backend in BACKENDS:  # interleaved: both see the same load on a shared machine
                home = str(Path(tmp) / f"{backend}-{run}")
                cli = [str(ANSWER), "--format", "json"]
                cold[backend].append(timed(cli, backend_env(backend, home)))
                warm[backend].append(timed(cli, backend_env(backend, home)))
    for label, runs in (("CLI cold (empty cache)", cold), ("CLI warm (index cached)", warm)):
        (fw, fc), (sw, sc) = median_pair(runs["onnx"]), median_pair(runs["sentence-transformers"])
        fast, slow = f"{fw:5.2f} s (cpu {fc:5.2f})", f"{sw:5.2f} s (cpu {sc:5.2f})"
        print(f"{label:34s} {fast:>22s} {slow:>24s} {sw / fw:6.1f}x", flush=True)
    if args.cli_only:
        return
    per_answer: dict[str, dict[str, list[float]]] = {}
    for backend in BACKENDS:
        with tempfile.TemporaryDirectory() as home:
            out = subprocess.run(
                [sys.executable, __file__, "--warm-child", backend, "--repeat", str(args.warm_repeat)],
                capture_output=True, text=True, check=True, env={**os.environ, "EVALUATOR_HOME": home},
            )  # fmt: skip
        per_answer[backend] = json.loads(out.stdout.strip().splitlines()[-1])
    n = int(per_answer["onnx"]["answers"][0])
    print(f"per answer, warm ({n} ordering answers x {args.warm_repeat}):")
    for key, label in (
        ("match by answer", "match by answer"),
        ("offline judge", "offline judge"),
        ("evaluate()", "evaluate()"),
        ("long", "long answers (judge, top 10%)"),
    ):
        fast, slow = per_answer["onnx"][key], per_answer["sentence-transformers"][key]
        ratio = statistics.median(slow) / statistics.median(fast)
        print(f"  {label:32s} onnx {fmt_ms(fast)} | sentence-transformers {fmt_ms(slow)} | {ratio:4.1f}x")
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
