"""Worker processes for tests/test_reliability.py: several processes on one EVALUATOR_HOME at once.

    python tests/reliability_workers.py index NAME BANK HOME BARRIER ROUNDS
    python tests/reliability_workers.py cache NAME PATH BARRIER THREADS PER_THREAD

Each waits at a file barrier (BARRIER/<name> per process, until PEERS are there) so that the processes
really overlap, then prints one JSON line of findings for the test to check.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PEERS = 2


def barrier(folder: Path, name: str, peers: int = PEERS, timeout: float = 300) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).touch()
    deadline = time.monotonic() + timeout
    while len(list(folder.iterdir())) < peers:
        if time.monotonic() > deadline:
            raise SystemExit(f"{name}: the other process never reached the barrier")
        time.sleep(0.001)


def index_worker(name: str, bank_dir: Path, home: Path, barrier_dir: Path, rounds: int) -> dict[str, object]:
    """Build the bank index at the same moment as a peer, then keep rewriting it and the vector store
    while the peer does too: every read must see a whole index, every stored vector must survive."""
    import numpy as np

    from evaluator import Evaluator
    from evaluator.encoders.embedder import Embedder
    from evaluator.encoders.vector_store import merge_store, read_store, shipped_path
    from evaluator.matching.index import _read, _write, bank_texts, index_dir

    embedder = Embedder()
    ev = Evaluator(bank=bank_dir, judge="offline", embedder=embedder, home=home)
    embedder.encode(["预热"])  # the model loads before the barrier: both processes build at once
    barrier(barrier_dir, name)
    index = ev.index
    bank = ev.bank
    question = next(iter(bank))
    found = ev.match(question=question.question).best

    folder, texts = index_dir(home, bank, embedder.name), bank_texts(bank)
    matrix = np.stack([index.vector(t) for t in texts])
    store = home / "vectors" / shipped_path(embedder.name).name
    torn = 0
    for i in range(rounds):
        barrier(barrier_dir / f"round-{i}", name, timeout=60)  # each round starts in both processes at once
        merge_store(store, {f"{name}-{i}": matrix[i % len(texts)]})
        _write(folder, texts, matrix)
        if _read(folder, texts) is None:
            torn += 1
    kept = sorted(k for k in read_store(store) if k.startswith(f"{name}-"))
    return {"torn": torn, "question": question.id, "best": found.id if found else None, "mine": kept}


def cache_worker(name: str, path: Path, barrier_dir: Path, threads: int, per_thread: int) -> dict[str, object]:
    """`threads` threads each put and read back `per_thread` distinct verdicts in one shared cache."""
    from evaluator.judges.cache import JudgeCache
    from evaluator.models import JudgeVerdict, Usage

    cache = JudgeCache(path)
    problems: list[str] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(per_thread):
            key = f"{name}/{t}/{i}"
            cache.put(key, JudgeVerdict(feedback=key, criteria=[]), Usage(input_tokens=t, output_tokens=i))
            found = cache.get(key)
            if found is None or found[0].feedback != key or (found[1].input_tokens, found[1].output_tokens) != (t, i):
                with lock:
                    problems.append(f"{key}: read back {None if found is None else found[0].feedback}")

    barrier(barrier_dir, name)
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return {"problems": problems}


def main() -> None:
    kind, name, *rest = sys.argv[1:]
    if kind == "index":
        result = index_worker(name, Path(rest[0]), Path(rest[1]), Path(rest[2]), int(rest[3]))
    elif kind == "cache":
        result = cache_worker(name, Path(rest[0]), Path(rest[1]), int(rest[2]), int(rest[3]))
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
