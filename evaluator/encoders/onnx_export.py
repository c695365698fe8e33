"""Export a Hugging Face model folder to ONNX (needs torch + transformers; scripts/install.sh runs it).

`python -m evaluator.encoders.onnx_export` exports the configured embedding model (m3e-small) where the CLI
finds it; `--model DIR --task sequence-classification` exports a cross-encoder the same way. Every
export is checked against torch on probe texts before it is moved into place, so a wrong graph
never replaces a good one. Run it from Python with `export_model(model_dir, out_dir, task)`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from evaluator.encoders.embedder import hub_offline
from evaluator.encoders.onnx_runtime import (
    META_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    ExportMeta,
    OnnxEncoder,
    Task,
    export_dirs,
    pool,
    source_files,
)
from evaluator.errors import ExportError

OPSET = 17
# Texts whose outputs must agree between torch and the export: short and long, Chinese, English,
# mixed, padding in every batch.
PROBES = (
    "为什么 Attention 要除以根号 d？",
    "KV Cache 缓存每一层已经算过的 K 和 V，解码新 token 时只算新的一行，把每步的计算从 O(n²) 降到 O(n)。",
    "LoRA freezes the pretrained weights and learns a low-rank update BA.",
    "ZeRO-3 把参数、梯度和优化器状态都切分到各张卡上；" * 20,
    "好",
)
# Below this cosine (or above this logit difference) an export is refused, not installed.
MIN_COSINE = 0.9999
MAX_LOGIT_DIFF = 1e-3


def read_pooling(model_dir: Path) -> str:
    """How the sentence-transformers model in `model_dir` pools (mean when it has no modules.json:
    that is how sentence-transformers wraps a plain transformers folder)."""
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file():
        return "mean"
    for module in json.loads(modules_file.read_text(encoding="utf-8")):
        if module.get("type", "").endswith("Pooling"):
            config = json.loads((model_dir / module["path"] / "config.json").read_text(encoding="utf-8"))
            mode = config.get("pooling_mode")
            if mode in ("mean", "cls"):
                return str(mode)
            if config.get("pooling_mode_mean_tokens"):
                return "mean"
            if config.get("pooling_mode_cls_token"):
                return "cls"
            raise ExportError(f"{model_dir}: pooling {config} is not supported (mean or cls)")
    return "mean"


def read_max_length(model_dir: Path, tokenizer: Any, config: Any) -> int:
    st_config = model_dir / "sentence_bert_config.json"
    if st_config.is_file():
        value = json.loads(st_config.read_text(encoding="utf-8")).get("max_seq_length")
        if value:
            return int(value)
    limits = [int(getattr(config, "max_position_embeddings", 512))]
    if 0 < int(getattr(tokenizer, "model_max_length", 0)) < 100_000:
        limits.append(int(tokenizer.model_max_length))
    return min(limits)


def export_model(
    model_dir: Path, out_dir: Path, task: Task, *, quantize: bool = False, max_length: int | None = None
) -> ExportMeta:
    """Write `out_dir` (model.onnx, tokenizer.json, export.json) from the model in `model_dir`.

    `max_length` caps the tokens per text (or pair) below the model's own limit.

    The export is checked against torch before it replaces `out_dir`: sentence embeddings within
    cosine MIN_COSINE (fp32; quantized exports are checked by the caller's own measure), logits
    within MAX_LOGIT_DIFF.
    """
    with hub_offline():  # a local folder, loaded without network (see embedding.HUB_OFFLINE_ENV)
        import torch
        import transformers
        from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer

        transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        config = AutoConfig.from_pretrained(model_dir)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if not getattr(tokenizer, "is_fast", False):
            raise ExportError(f"{model_dir}: no fast tokenizer (tokenizer.json), which the runtime needs")
        loader = AutoModel if task == "feature-extraction" else AutoModelForSequenceClassification
        # Eager attention traces to plain ops; the sdpa path carries Python-side shortcuts a trace freezes.
        # float32 whatever the stored dtype (fp16 weights): onnxruntime's CPU kernels are fp32.
        model = loader.from_pretrained(model_dir, attn_implementation="eager", dtype=torch.float32).eval()
    inputs = tuple(n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names)
    output = "last_hidden_state" if task == "feature-extraction" else "logits"

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return getattr(self.model(**dict(zip(inputs, tensors, strict=True))), output)  # type: ignore[no-any-return]

    # Two rows of different length: the traced graph handles a padded batch (a trace of an
    # unpadded one may drop the attention mask as a constant).
    dummy = tokenizer(list(PROBES[:2]), padding=True, return_tensors="pt")
    axes: dict[str, dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in inputs}
    axes[output] = {0: "batch", 1: "sequence"} if task == "feature-extraction" else {0: "batch"}
    labels: tuple[str, ...] = ()
    if task == "sequence-classification":
        id2label = getattr(config, "id2label", None) or {}
        labels = tuple(str(id2label[i]) for i in sorted(id2label))
    meta = ExportMeta(
        task=task,
        inputs=inputs,
        max_length=min(read_max_length(model_dir, tokenizer, config), max_length or 1 << 30),
        pad_id=int(tokenizer.pad_token_id or 0),
        hidden_size=int(config.hidden_size),
        pooling=read_pooling(model_dir) if task == "feature-extraction" else None,  # type: ignore[arg-type]
        labels=labels,
        quantized=quantize,
        source=source_files(model_dir),
    )
    # Before the export: torch.onnx.export leaves the model in training mode (dropout on).
    expected = reference_outputs(meta, model, tokenizer, torch)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}-"))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide a system-wide install's export from its users
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer's notes on Python-side branches: the padded dummy batch and the check below
            # are what show the graph is right.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Wrapped(), tuple(dummy[n] for n in inputs), str(tmp / MODEL_FILE),
                input_names=list(inputs), output_names=[output], dynamic_axes=axes,
                opset_version=OPSET, dynamo=False,
            )  # fmt: skip
        tokenizer.backend_tokenizer.save(str(tmp / TOKENIZER_FILE))
        (tmp / META_FILE).write_text(meta.model_dump_json(indent=2), encoding="utf-8")
        checked = check_export(tmp, meta, expected)
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            fp32 = tmp / "fp32.onnx"
            (tmp / MODEL_FILE).rename(fp32)
            quantize_dynamic(str(fp32), str(tmp / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True)
            fp32.unlink()
            # int8 is never as close as fp32: recorded for the caller to judge, not refused here.
            checked = agreement(tmp, meta, expected)
        meta = meta.model_copy(update={"agreement": round(checked, 6)})
        (tmp / META_FILE).write_text(meta.model_dump_json(indent=2), encoding="utf-8")
        shutil.rmtree(out_dir, ignore_errors=True)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def reference_outputs(meta: ExportMeta, model: Any, tokenizer: Any, torch: Any) -> np.ndarray:
    """torch's outputs on the probes: pooled embeddings, or a cross-encoder's logits on probe pairs."""
    if meta.task == "feature-extraction":
        batch = tokenizer(list(PROBES), padding=True, truncation=True, max_length=meta.max_length, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**{n: batch[n] for n in meta.inputs}).last_hidden_state.numpy()
        return pool(hidden, batch["attention_mask"].numpy(), meta)
    first, second = zip(*probe_pairs(), strict=True)
    batch = tokenizer(list(first), list(second), padding=True, truncation=True, max_length=meta.max_length,
                      return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        return np.asarray(model(**{n: batch[n] for n in meta.inputs}).logits.numpy(), dtype=np.float32)


def probe_pairs() -> list[tuple[str, str]]:
    return [(PROBES[i], PROBES[(i + 1) % len(PROBES)]) for i in range(len(PROBES))]


def agreement(folder: Path, meta: ExportMeta, expected: np.ndarray) -> float:
    """The export against torch on the probes: the lowest cosine (embeddings) or the largest
    absolute logit difference (pair classifiers)."""
    encoder = OnnxEncoder(folder, meta)
    if meta.task == "feature-extraction":
        return float(np.min(np.sum(expected * encoder.embed(PROBES), axis=1)))
    return float(np.max(np.abs(expected - encoder.logits(probe_pairs()))))


def check_export(folder: Path, meta: ExportMeta, expected: np.ndarray) -> float:
    value = agreement(folder, meta, expected)
    if meta.task == "feature-extraction" and value < MIN_COSINE:
        raise ExportError(f"{folder}: export disagrees with torch (cosine {value:.5f} < {MIN_COSINE})")
    if meta.task == "sequence-classification" and value > MAX_LOGIT_DIFF:
        raise ExportError(f"{folder}: export disagrees with torch (logit difference {value:.5f})")
    return value


def default_out_dir(name: str) -> Path:
    """The package's export folder when it is writable, else EVALUATOR_HOME/onnx."""
    dirs = export_dirs(name)
    package = dirs[0]
    probe = package.parent
    while not probe.exists():
        probe = probe.parent
    if os.access(probe, os.W_OK) or len(dirs) == 1:
        return package
    return dirs[1]


def main(argv: list[str] | None = None) -> int:
    from evaluator.config import embedding_model_name
    from evaluator.encoders.embedder import resolve_model_path
    from evaluator.errors import EvaluatorError

    parser = argparse.ArgumentParser(
        prog="python -m evaluator.encoders.onnx_export", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--model", help="model name or folder (default: the embedding model)")
    parser.add_argument("--name", help="name the runtime finds it by (default: the --model value)")
    parser.add_argument("--task", choices=["feature-extraction", "sequence-classification"],
                        default="feature-extraction")  # fmt: skip
    parser.add_argument("--out", type=Path, help="export folder (default: where the CLI looks for it)")
    parser.add_argument("--quantize", action="store_true", help="int8 weights (dynamic quantization)")
    parser.add_argument("--max-length", type=int, help="tokens per text or pair (default: the model's limit)")
    args = parser.parse_args(argv)
    name = args.model or embedding_model_name()
    try:
        model_dir = Path(resolve_model_path(name))
    except EvaluatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 5
    if not (model_dir / "config.json").is_file():
        print(f"error: {model_dir}: not a model folder (no config.json)", file=sys.stderr)
        return 5
    out = args.out or default_out_dir(args.name or name)
    try:
        meta = export_model(model_dir, out, args.task, quantize=args.quantize, max_length=args.max_length)
    except (ExportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    what = "lowest cosine" if meta.task == "feature-extraction" else "largest logit difference"
    print(f"exported {name} ({meta.task}{', int8' if meta.quantized else ''}) to {out}; "
          f"against torch on probe texts: {what} {meta.agreement}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
