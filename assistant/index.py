"""Stage 4: the search index. Chroma (dense vectors) + bm25s (lexical), built atomically.

Layout under ``settings.index_dir``::

    CURRENT                 id of the build that queries use (switched with os.replace)
    .build.lock             flock held while a build runs
    builds/<build_id>/      chroma/ (embedded mode), bm25/, chunks.jsonl, vocabulary.npz, manifest.json

``vocabulary.npz`` holds a vector for each word of the BM25 vocabulary that names something (see
``_named_words``): English questions are bridged to the corpus's words by them.

A build writes a fresh ``builds/<build_id>/`` and only then switches ``CURRENT``, so a build
killed at any point leaves the previous index usable; the next build removes the leftovers.
The manifest is written last: a build dir without one never finished. In server mode the
vectors live in a Chroma server, in a collection named after the build, and everything else
stays on local disk.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import bm25s
import numpy as np

from assistant.chunking import CHUNKER_VERSION, Chunk
from assistant.config import InvalidSetting, Settings

FORMAT_VERSION = 1
BUILD_CMD = "python -m assistant index"
REBUILD_CMD = "python -m assistant index --rebuild"
_EMBED_BATCH = 32
_STOP = KeyboardInterrupt | SystemExit | GeneratorExit  # never converted into index errors
_NAMING_RE = re.compile(r"[ァ-ヺ\u4e00-\u9fff々]")
_HIRAGANA_RE = re.compile(r"[ぁ-ゖ]")


def hnsw_ef_search(n_chunks: int) -> int:
    """The HNSW search breadth a build uses for ``n_chunks`` vectors.

    Chroma's default (100) is approximate: on this corpus about 2 % of a top-50 differed from
    exact cosine search, and differently in each process, so the same question could get another
    answer after a restart. A breadth of at least the collection size makes the search exact and
    reproducible, at well under a millisecond for a corpus of this size; the cap keeps a much
    larger corpus from paying for exactness.
    """
    return min(max(n_chunks, 100), 5000)


class IndexUnavailable(Exception):
    """Base of every index error; ``str(exc)`` is a Japanese message saying what to do."""


class IndexMissing(IndexUnavailable):
    def __init__(self, index_dir: Path | str = "") -> None:
        super().__init__(f"インデックスがありません（{index_dir}）。`{BUILD_CMD}` を実行して作成してください。")


class IndexCorrupt(IndexUnavailable):
    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"インデックスが壊れています: {what}。`{REBUILD_CMD}` を実行して作り直してください。")


class IndexStale(IndexUnavailable):
    """The index was built from something else than what is configured now (``changes`` says what)."""

    def __init__(self, what: str | Sequence[str]) -> None:
        self.changes = [what] if isinstance(what, str) else list(what)
        self.what = "、".join(self.changes)
        super().__init__(f"インデックスが古くなっています: {self.what}。`{BUILD_CMD}` を実行して更新してください。")


class ChromaUnavailable(IndexUnavailable):
    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url
        super().__init__(f"Chroma サーバー {url} に接続できません（{detail or '応答なし'}）。サーバーが起動しているか"
                         f"確認してください（例: `chroma run --path DIR --host 127.0.0.1 --port {urlsplit(url).port}`）。")


class IndexBusy(IndexUnavailable):
    def __init__(self, lock_path: Path) -> None:
        super().__init__(f"別のインデックス作成が実行中です（ロック: {lock_path}）。終了を待ってから再実行してください。")


@dataclass
class BuildReport:
    """What one ``build_index`` call did. ``n_embedded`` counts embedding-cache misses."""

    built: bool
    n_chunks: int
    n_embedded: int
    embed_s: float
    other_s: float
    total_s: float
    build_id: str
    reason: str = ""  # "unchanged" (skipped), "new", "changed" or "rebuild"
    # of other_s: embedding the vocabulary's naming words (the English bridge's side of the index)
    vocabulary_embed_s: float = 0.0
    skipped: bool = field(init=False)  # a field, not a property, so that asdict() carries it

    def __post_init__(self) -> None:
        self.skipped = not self.built


# -- small helpers ----------------------------------------------------------------------------


def collection_name(embedder_id: str, build_id: str) -> str:
    """A Chroma collection name (3–512 chars of ``[A-Za-z0-9._-]``, alnum at both ends)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", f"jplan-{embedder_id}-{build_id}")
    base = re.sub(r"\.{2,}", ".", base).strip("._-")
    if len(base) > 512:  # keep the build id, which is what makes the name unique
        base = base[: 511 - len(build_id)].rstrip("._-") + "-" + build_id
    return base


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    """Write temp + fsync + os.replace + fsync dir: readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_path(path.parent)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            _fsync_path(Path(dirpath, name))
        _fsync_path(Path(dirpath))


def _current_build_id(index_dir: Path) -> str | None:
    try:
        value = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not re.fullmatch(r"[0-9A-Za-z-]+", value):
        raise IndexCorrupt(f"CURRENT の内容が不正です（{value[:40]!r}）")
    return value


def _read_manifest(build_dir: Path) -> dict[str, Any]:
    path = build_dir / "manifest.json"
    if not path.is_file():
        raise IndexCorrupt(f"{path} がありません")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorrupt(f"{path} を読めません（{exc}）") from exc
    required = ("format_version", "build_id", "embedder_id", "chunker_version", "n_chunks", "chroma")
    if not isinstance(manifest, dict) or any(k not in manifest for k in required):
        raise IndexCorrupt(f"{path} の項目が足りません")
    return manifest


def _chroma_url(settings: Settings) -> str:
    """The configured server URL ("" = embedded); raises ``InvalidSetting`` when it is not http(s)."""
    url = settings.chroma_url.strip().rstrip("/")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidSetting(f"ASSISTANT_CHROMA_URL が不正です: {url!r}（例: http://127.0.0.1:8000）")
    return url


def _connect(settings: Settings, build_dir: Path | None = None) -> Any:
    """A Chroma client: embedded under ``build_dir/chroma`` or the server at ``chroma_url``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    url = _chroma_url(settings)
    if not url:
        assert build_dir is not None
        return chromadb.PersistentClient(path=str(build_dir / "chroma"), settings=chroma_settings)
    import httpx

    parts = urlsplit(url)
    timeout = httpx.Timeout(settings.chroma_timeout_s)
    try:
        # Our own heartbeat first: chromadb's client connects with no timeout at all.
        httpx.get(f"{url}/api/v2/heartbeat", timeout=timeout).raise_for_status()
        client = chromadb.HttpClient(
            host=parts.hostname, port=parts.port or 8000, ssl=parts.scheme == "https", settings=chroma_settings
        )
    except Exception as exc:
        raise ChromaUnavailable(url, type(exc).__name__) from exc
    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is not None:  # chromadb exposes no timeout setting; its httpx session defaults to none
        session.timeout = timeout
    return client


def _is_connection_error(exc: BaseException) -> bool:
    """True if ``exc`` (or what caused it) means the Chroma server could not be reached or did not
    answer in time. Errors the server answered with (a rejected filter, a missing collection) are not."""
    import httpx

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, httpx.TransportError | ConnectionError | TimeoutError):
            return True
        # chromadb's own wording when its client cannot reach the server at all
        if isinstance(current, ValueError) and "could not connect" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def _synonyms_version() -> str | None:
    try:
        from assistant.tokenizer import synonyms_version

        return synonyms_version()
    except (ImportError, OSError):
        return None


# -- build ------------------------------------------------------------------------------------


@contextmanager
def _build_lock(index_dir: Path, timeout_s: float) -> Iterator[None]:
    """``fcntl.flock`` on ``index/.build.lock``, polled up to ``timeout_s``; the kernel drops it if we die."""
    path = index_dir / ".build.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while not _flock(fd, fcntl.LOCK_EX):
            if time.monotonic() >= deadline:
                raise IndexBusy(path)
            time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _flock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unchanged(settings: Settings, manifest: dict[str, Any], expected: dict[str, Any]) -> bool:
    """True if the current build can be reused: manifest values and file presence only, no loading."""
    if any(manifest.get(key) != value for key, value in expected.items()):
        return False
    build_dir = settings.index_dir / "builds" / manifest["build_id"]
    needed = ["chunks.jsonl", "bm25/params.index.json", "vocabulary.npz"] + ([] if manifest["chroma"].get("url") else
                                                          ["chroma/chroma.sqlite3"])
    return all((build_dir / n).is_file() for n in needed)


def _named_words(retriever: bm25s.BM25) -> list[str]:
    """The vocabulary words that name something: written in kanji or katakana with no hiragana
    (verbs and grammar have it), two characters or more, in at least two chunks."""
    indptr = retriever.scores["indptr"]
    return sorted(w for w, tid in retriever.vocab_dict.items()
                  if len(w) >= 2 and _NAMING_RE.search(w) and not _HIRAGANA_RE.search(w)
                  and indptr[tid + 1] - indptr[tid] >= 2)


def _cleanup(settings: Settings, keep: set[str], client: Any | None) -> None:
    """Delete build dirs (and their server collections) not in ``keep`` and not open by a reader."""
    builds = settings.index_dir / "builds"
    for build_dir in sorted(builds.iterdir()) if builds.is_dir() else []:
        if build_dir.name in keep or not build_dir.is_dir():
            continue
        info: dict[str, Any] = {}
        for name in ("manifest.json", "pending.json"):
            try:
                info = json.loads((build_dir / name).read_text(encoding="utf-8"))["chroma"]
                break
            except (OSError, ValueError, KeyError, TypeError):
                continue
        try:
            fd = os.open(build_dir / "manifest.json", os.O_RDONLY)
        except FileNotFoundError:
            fd = None  # never finished: nobody can be reading it
        try:
            if fd is not None and not _flock(fd, fcntl.LOCK_EX):
                continue  # a PlanIndex still serves this build; a later build will remove it
            if client is not None and info.get("url") and info.get("url") == _chroma_url(settings):
                try:
                    client.delete_collection(info["collection"])
                except Exception:  # already gone, or never created
                    pass
            shutil.rmtree(build_dir, ignore_errors=True)
        finally:
            if fd is not None:
                os.close(fd)


def _embed_into(collection: Any, chunks: list[Chunk], embeddings: Any, step: int, bar: Any) -> tuple[float, int]:
    """Embed ``chunks`` batch by batch into ``collection``; returns (seconds embedding, dim).

    A ``CachedEmbeddings`` rewrites its whole file after every batch when ``autosave`` is on;
    here it is flushed every few seconds instead, so a killed build loses little work.
    """
    embed = getattr(embeddings, "embed_documents_array", None) or embeddings.embed_documents
    autosave = getattr(embeddings, "autosave", None)
    can_flush = isinstance(autosave, bool) and callable(getattr(embeddings, "flush", None))
    if can_flush:
        embeddings.autosave = False
    embed_s, dim, last_flush = 0.0, 0, time.monotonic()
    try:
        with bar:
            for start in range(0, len(chunks), step):
                batch = chunks[start : start + step]
                t_embed = time.perf_counter()
                vectors = np.asarray(embed([c.embed_text for c in batch]), dtype=np.float32)
                if can_flush and time.monotonic() - last_flush > 5.0:
                    embeddings.flush()
                    last_flush = time.monotonic()
                embed_s += time.perf_counter() - t_embed
                dim = int(vectors.shape[1])
                collection.add(ids=[c.chunk_id for c in batch], embeddings=vectors,
                               metadatas=[c.metadata() for c in batch])
                bar.update(len(batch))
    finally:
        if can_flush:
            embeddings.autosave = autosave
            embeddings.flush()
    return embed_s, dim


def build_index(
    settings: Settings,
    chunks: list[Chunk],
    corpus_hashes: dict[str, str],
    embeddings: Any,
    tokenizer: Any,
    *,
    rebuild: bool = False,
    progress: bool = True,
    lock_timeout_s: float = 0.0,
) -> BuildReport:
    """Build (or skip) the index for ``chunks``; see the module docstring for the layout.

    Skips when corpus hashes, chunker version, embedder, tokenizer and every chunk field match
    the current manifest (unless ``rebuild``). Otherwise vectors come from ``embeddings`` —
    normally a ``CachedEmbeddings`` whose cache lives under the index dir, so only new or
    changed chunks reach the model. Raises ``IndexBusy`` if another build holds the lock for
    longer than ``lock_timeout_s``.
    """
    t0 = time.perf_counter()
    if not chunks:
        raise ValueError("チャンクが 0 件です。コーパスを確認してください。")
    if len({c.chunk_id for c in chunks}) != len(chunks):
        raise ValueError("chunk_id が重複しています")
    index_dir = settings.index_dir
    index_dir.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(c.to_dict(), ensure_ascii=False, sort_keys=True) for c in chunks]
    url = _chroma_url(settings)
    embedder_id = str(getattr(embeddings, "embedder_id", None) or settings.embedder)
    expected: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "corpus_hashes": dict(sorted(corpus_hashes.items())),
        "chunker_version": CHUNKER_VERSION,
        "embedder_id": embedder_id,
        "embedder_spec": settings.embedder,
        "tokenizer_version": getattr(tokenizer, "version", None),  # BM25 tokens depend on it
        "n_chunks": len(chunks),
        "hnsw_ef_search": hnsw_ef_search(len(chunks)),
        # Every field of every chunk: metadata-only changes must reach chunks.jsonl too.
        "chunks_digest": hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest(),
    }

    with _build_lock(index_dir, lock_timeout_s):
        current = _current_build_id(index_dir)
        manifest: dict[str, Any] | None = None
        if current is not None:
            try:
                manifest = _read_manifest(index_dir / "builds" / current)
            except IndexCorrupt:
                manifest = None
        if manifest is not None and not rebuild and manifest["chroma"].get("url", "") == url \
                and _unchanged(settings, manifest, expected):
            total = time.perf_counter() - t0
            return BuildReport(False, len(chunks), 0, 0.0, total, total, manifest["build_id"], "unchanged")
        previous = manifest.get("previous_build_id") if manifest else None

        build_id = datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        build_dir = index_dir / "builds" / build_id
        build_dir.mkdir(parents=True)
        name = collection_name(embedder_id, build_id)
        chroma_info = {"mode": "server" if url else "embedded", "url": url, "collection": name,
                       "path": "" if url else "chroma"}
        # Lets the next build find and drop this build's server collection if we die mid-way.
        _write_atomic(build_dir / "pending.json", json.dumps({"chroma": chroma_info}))
        client = _connect(settings, build_dir)
        # Leftovers of killed builds go now, while nobody else can be building.
        _cleanup(settings, {build_id} | {b for b in (current, previous) if b}, client)

        with open(build_dir / "chunks.jsonl", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

        from tqdm import tqdm

        bar_opts = {"file": sys.stderr, "disable": not progress, "unit": "chunk", "leave": False}
        token_lists = [tokenizer.tokenize(c.embed_text) for c in tqdm(chunks, desc="トークン化", **bar_opts)]
        retriever = bm25s.BM25()
        retriever.index(token_lists, show_progress=False)
        retriever.save(str(build_dir / "bm25"), show_progress=False)

        try:
            collection = client.create_collection(
                name, embedding_function=None,
                configuration={"hnsw": {"space": "cosine", "ef_search": expected["hnsw_ef_search"]}},
            )
            misses_before = getattr(embeddings, "misses", None)  # CachedEmbeddings counts them
            embed_s, dim = _embed_into(collection, chunks, embeddings, min(_EMBED_BATCH, client.get_max_batch_size()),
                                       tqdm(total=len(chunks), desc="埋め込み", **bar_opts))
            count = collection.count()
        except BaseException as exc:
            if url and not isinstance(exc, _STOP) and _is_connection_error(exc):
                raise ChromaUnavailable(url, type(exc).__name__) from exc
            raise
        finally:
            if not url:
                client.close()  # flush and release the sqlite file (before fsync, or on failure)
        n_embedded = len(chunks) if misses_before is None else embeddings.misses - misses_before
        # As queries, so that they compare with an English word's query vector; a LangChain
        # embedder without embed_terms_array embeds them one by one (one with no query side at
        # all stores none: English words then bridge by loanword only).
        embed_terms = getattr(embeddings, "embed_terms_array", None) or (
            lambda terms: np.asarray([embeddings.embed_query(t) for t in terms], dtype=np.float32))
        named = _named_words(retriever) if hasattr(embeddings, "embed_terms_array") or hasattr(
            embeddings, "embed_query") else []
        t_vocabulary = time.perf_counter()
        vectors = [np.asarray(embed_terms(named[i:i + 256]), dtype=np.float32).reshape(-1, dim)
                   for i in tqdm(range(0, len(named), 256), desc="語彙の埋め込み", **bar_opts)]
        vocabulary_s = time.perf_counter() - t_vocabulary
        np.savez(build_dir / "vocabulary.npz", words=np.array(named, dtype=str),
                 vectors=np.concatenate(vectors) if vectors else np.zeros((0, dim), dtype=np.float32))
        if count != len(chunks):
            raise IndexCorrupt(f"Chroma の件数 {count} がチャンク数 {len(chunks)} と一致しません")
        _fsync_tree(build_dir)

        manifest_new = {
            **expected,
            "build_id": build_id,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - t0, 3),
            "embedding_dim": dim,
            "n_embedded": n_embedded,
            "chroma": chroma_info,
            "bm25": {"path": "bm25", "n_docs": len(chunks), "vocab_size": len(retriever.vocab_dict)},
            "vocabulary_vectors": {"path": "vocabulary.npz", "n_words": len(named)},
            # For the record only: synonyms expand queries, never indexed text, so a change of
            # them needs no rebuild and check_fresh does not compare it.
            "synonyms_version": _synonyms_version(),
            "previous_build_id": current,
        }
        _write_atomic(build_dir / "manifest.json", json.dumps(manifest_new, ensure_ascii=False, indent=1))
        (build_dir / "pending.json").unlink()
        _write_atomic(index_dir / "CURRENT", build_id + "\n")
        # Keep the build we replaced: a process may still be serving it.
        _cleanup(settings, {build_id} | ({current} if current else set()), client if url else None)
        total = time.perf_counter() - t0
        return BuildReport(True, len(chunks), n_embedded, embed_s, total - embed_s, total, build_id,
                           "rebuild" if rebuild else ("new" if manifest is None else "changed"),
                           vocabulary_embed_s=vocabulary_s)


# -- open / query -----------------------------------------------------------------------------


def declared_corpus_hashes(corpus_dir: Path) -> dict[str, str]:
    """doc_id → sha256 as ``corpus_dir/manifest.toml`` declares them; no document is read.

    ``load_corpus`` checks every file against these, so comparing them with the index is enough
    to know whether the index was built from the corpus as it is now. Raises ``CorpusError``.
    """
    from assistant.corpus import load_manifest

    return {info.doc_id: info.sha256 for info in load_manifest(corpus_dir)}


def _current_tokenizer_version() -> str:
    from assistant.tokenizer import tokenizer_version

    return tokenizer_version()


def _corpus_changes(built: dict[str, str], now: dict[str, str]) -> list[str]:
    changes = []
    for label, ids in (
        ("文書が変更されています", sorted(k for k in set(built) & set(now) if built[k] != now[k])),
        ("文書が追加されています", sorted(set(now) - set(built))),
        ("文書が削除されています", sorted(set(built) - set(now))),
    ):
        if ids:
            changes.append(f"{label}（{', '.join(ids)}）")
    return changes


def check_fresh(settings: Settings, corpus_hashes: dict[str, str] | None = None, *,
                tokenizer_version: str | None = None) -> dict[str, Any]:
    """The current manifest, after checking that the index was built from what is configured now.

    Compared: format version, corpus (every document's sha256, documents added or removed),
    tokenizer version, chunker version, HNSW search breadth, embedder and Chroma location. ``corpus_hashes``
    defaults to the hashes ``settings.corpus_dir/manifest.toml`` declares and
    ``tokenizer_version`` to the current tokenizer's. Reads only ``CURRENT``, ``manifest.json``
    and ``manifest.toml`` (milliseconds). Raises ``IndexMissing``, ``IndexCorrupt``,
    ``IndexStale`` (naming every difference) or ``CorpusError`` (unreadable corpus manifest).
    """
    current = _current_build_id(settings.index_dir)
    if current is None:
        raise IndexMissing(settings.index_dir)
    build_dir = settings.index_dir / "builds" / current
    if not build_dir.is_dir():
        raise IndexCorrupt(f"CURRENT が指すビルド {current} がありません")
    manifest = _read_manifest(build_dir)
    if manifest["format_version"] != FORMAT_VERSION:  # nothing else in it can be trusted then
        raise IndexStale(f"形式バージョン {manifest['format_version']} は現在の {FORMAT_VERSION} と異なります")
    if corpus_hashes is None:
        corpus_hashes = declared_corpus_hashes(settings.corpus_dir)
    if tokenizer_version is None:
        tokenizer_version = _current_tokenizer_version()
    built_hashes = manifest.get("corpus_hashes")
    changes = _corpus_changes(built_hashes if isinstance(built_hashes, dict) else {}, dict(corpus_hashes))
    if manifest.get("tokenizer_version") != tokenizer_version:
        changes.append(f"トークナイザーのバージョンが異なります（インデックス: {manifest.get('tokenizer_version')}、"
                       f"現在: {tokenizer_version}）")
    if manifest["chunker_version"] != CHUNKER_VERSION:
        changes.append(f"チャンク分割のバージョンが異なります（{manifest['chunker_version']} → {CHUNKER_VERSION}）")
    if manifest.get("hnsw_ef_search") != hnsw_ef_search(int(manifest.get("n_chunks") or 0)):
        changes.append("ベクトル検索の設定（HNSW ef_search）が現在の版と異なります")
    if settings.embedder not in (manifest.get("embedder_spec", settings.embedder), manifest["embedder_id"]):
        changes.append(f"埋め込みモデルが異なります（インデックス: {manifest.get('embedder_spec')}、設定: {settings.embedder}）")
    if manifest["chroma"].get("url", "") != _chroma_url(settings):
        built = manifest["chroma"].get("url") or "組み込み"
        changes.append(f"Chroma の接続先が異なります（インデックス: {built}、設定: {_chroma_url(settings) or '組み込み'}）")
    if changes:
        raise IndexStale(changes)
    return manifest


class PlanIndex:
    """A loaded build: chunks, BM25 in memory and a Chroma collection. Safe for concurrent queries."""

    def __init__(self, settings: Settings, build_dir: Path, manifest: dict[str, Any], chunks: list[Chunk],
                 bm25: bm25s.BM25, reader_fd: int) -> None:
        self.settings = settings
        self.build_dir = build_dir
        self.manifest = manifest
        self.chunks = chunks
        self.by_id: dict[str, Chunk] = {c.chunk_id: c for c in chunks}
        self._pos = {c.chunk_id: i for i, c in enumerate(chunks)}
        self._bm25 = bm25
        self._reader_fd: int | None = reader_fd
        self._url = manifest["chroma"].get("url", "")
        self._lock = threading.Lock()
        self._client: Any = None
        self._collection: Any = None

    def _handle(self) -> Any:
        """The collection, connecting on first use (and again after a server connection was lost)."""
        from chromadb.errors import NotFoundError

        with self._lock:
            if self._collection is not None:
                return self._collection
            name = self.manifest["chroma"]["collection"]
            client = _connect(self.settings, self.build_dir)  # ChromaUnavailable if the server is down
            try:
                collection = client.get_collection(name, embedding_function=None)
            except BaseException as exc:
                if not self._url:
                    client.close()  # ours alone: nobody else has seen this client yet
                if isinstance(exc, NotFoundError):
                    raise IndexCorrupt(f"Chroma にコレクション {name} がありません") from exc
                if self._url and not isinstance(exc, _STOP) and _is_connection_error(exc):
                    raise ChromaUnavailable(self._url, type(exc).__name__) from exc
                raise
            self._client, self._collection = client, collection
            return collection

    def _call(self, fn: Any) -> Any:
        """``fn(collection)``, connecting lazily.

        A failure is the failing call's own error: the connection, shared by every thread of
        an ``Assistant``, is left alone. Only when a Chroma *server* could not be reached or
        did not answer in time is the connection dropped (so that the next call reconnects:
        the server may be back by then) and the error raised as ``ChromaUnavailable``. In
        embedded mode nothing is ever closed here: closing the client would break the queries
        other threads are running on it.
        """
        from chromadb.errors import NotFoundError

        collection = self._handle()
        try:
            return fn(collection)
        except NotFoundError as exc:  # the server lost the collection, or the sqlite file changed under us
            raise IndexCorrupt(f"Chroma にコレクション {self.manifest['chroma']['collection']} がありません") from exc
        except Exception as exc:
            if self._url and _is_connection_error(exc):
                self._disconnect(collection)
                raise ChromaUnavailable(self._url, type(exc).__name__) from exc
            raise

    def _disconnect(self, failed: Any = None) -> None:
        """Forget the connection (closing an embedded client). With ``failed``, only if that is still
        the current collection: another thread may already have reconnected."""
        with self._lock:
            if failed is not None and self._collection is not failed:
                return
            if self._client is not None and not self._url:
                self._client.close()  # releases the sqlite handle; shared Systems are refcounted
            self._client = self._collection = None

    def dense_search(self, query_vector: Sequence[float], k: int, where: dict | None = None) -> list[tuple[int, float]]:
        """Top-``k`` chunks by cosine similarity: ``(chunk index, similarity)``, best first."""
        n = min(k, len(self.chunks))
        if n <= 0:
            return []
        vector = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
        dim = self.manifest.get("embedding_dim")
        if dim and vector.shape[1] != dim:
            raise ValueError(f"query vector has {vector.shape[1]} dims, the index has {dim}")
        result = self._call(lambda c: c.query(query_embeddings=vector, n_results=n, where=where or None,
                                               include=["distances"]))
        ids, distances = result["ids"][0], result["distances"][0]
        return [(self._pos[i], 1.0 - float(d)) for i, d in zip(ids, distances, strict=True) if i in self._pos]

    def vocabulary(self) -> list[str]:
        """Every token the BM25 index knows (unigrams and noun bigrams of the chunks)."""
        return list(self._bm25.vocab_dict)

    def vocabulary_vectors(self) -> tuple[list[str], np.ndarray | None]:
        """The naming words of the vocabulary and their passage vectors (``vocabulary.npz``);
        ``([], None)`` for a build made before they were stored, or an unreadable file."""
        try:
            with np.load(self.build_dir / "vocabulary.npz", allow_pickle=False) as data:
                return [str(w) for w in data["words"]], np.asarray(data["vectors"], dtype=np.float32)
        except (OSError, KeyError, ValueError):
            return [], None

    def document_frequency(self, token: str) -> int:
        """In how many chunks a token occurs (read from the BM25 matrix; used for IDF weights)."""
        tid = self._bm25.vocab_dict.get(token)
        if tid is None:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid])

    def chunks_with(self, token: str) -> set[int]:
        """Positions of the chunks a token occurs in (from the BM25 matrix)."""
        tid = self._bm25.vocab_dict.get(token)
        if tid is None:
            return set()
        indptr = self._bm25.scores["indptr"]
        return {int(i) for i in self._bm25.scores["indices"][indptr[tid]:indptr[tid + 1]]}

    def bm25_search(self, query_tokens: list[str], k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Top-``k`` chunks by BM25 among ``allowed`` (all if None); zero scores are dropped."""
        token_ids = self._bm25.get_tokens_ids(list(query_tokens))
        if not token_ids or k <= 0:
            return []
        scores = self._bm25.get_scores_from_ids(token_ids)
        if allowed is not None:
            mask = np.zeros(len(scores), dtype=bool)
            mask[[i for i in allowed if 0 <= i < len(scores)]] = True
            scores = np.where(mask, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(int(i), float(scores[i])) for i in order]

    def close(self) -> None:
        """Release the Chroma client and the reader lock that protects this build from cleanup."""
        self._disconnect()
        with self._lock:
            if self._reader_fd is not None:
                os.close(self._reader_fd)
                self._reader_fd = None

    def __enter__(self) -> PlanIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _load_chunks(path: Path) -> list[Chunk]:
    if not path.is_file():
        raise IndexCorrupt(f"{path} がありません")
    try:
        return [Chunk.from_dict(json.loads(line))
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise IndexCorrupt(f"{path} を読めません（{exc}）") from exc


def stored_sentence_tokens(settings: Settings, tokenizer_version: str | None) -> dict[str, tuple[str, ...]]:
    """Tokens of every sentence the current build stores (``Chunk.sentences``), if it was built with
    ``tokenizer_version``; ``{}`` otherwise, or when there is no readable build.

    A sentence's tokens depend on its text and the tokenizer alone, so the next build takes them
    from here and tokenises only new or changed sentences (as the embedding cache does for
    vectors): an unchanged corpus costs no tokenising at all.
    """
    try:
        current = _current_build_id(settings.index_dir)
        if current is None:
            return {}
        build_dir = settings.index_dir / "builds" / current
        if _read_manifest(build_dir).get("tokenizer_version") != tokenizer_version:
            return {}
        chunks = _load_chunks(build_dir / "chunks.jsonl")
    except IndexUnavailable:  # missing, half-written or removed by a concurrent build: tokenise anew
        return {}
    return {s.text: s.tokens for c in chunks for s in c.sentences}


def _fresh_manifest(settings: Settings, embeddings: Any, corpus_hashes: dict[str, str] | None,
                    tokenizer_version: str | None) -> dict[str, Any]:
    manifest = check_fresh(settings, corpus_hashes, tokenizer_version=tokenizer_version)
    configured = getattr(embeddings, "embedder_id", None) if embeddings is not None else None
    if configured and configured != manifest["embedder_id"]:
        raise IndexStale(f"埋め込みモデルが異なります（インデックス: {manifest['embedder_id']}、設定: {configured}）")
    return manifest


AUTO_REINDEX_WAIT_S = 1800.0  # a full build from an empty cache takes up to ~20 min on 2 cores


def _auto_reindex(settings: Settings, stale: IndexStale) -> None:
    """ASSISTANT_AUTO_REINDEX=1: update the index now (incremental, progress bars on stderr)."""
    from assistant.pipeline import build_index_from_settings

    print(f"{stale}\nASSISTANT_AUTO_REINDEX=1 のため、インデックスを更新します。", file=sys.stderr, flush=True)
    try:
        build_index_from_settings(settings, progress=True)
    except IndexBusy:
        # Another process (e.g. a second `serve` worker) is already updating it: wait for that
        # build instead of failing, then let the caller check the result.
        with _build_lock(settings.index_dir, AUTO_REINDEX_WAIT_S):
            pass


def open_index(settings: Settings, embeddings: Any = None, *, corpus_hashes: dict[str, str] | None = None,
               tokenizer_version: str | None = None) -> PlanIndex:
    """Load and verify the current build. Raises a subclass of ``IndexUnavailable`` when unusable.

    Freshness is checked first (see :func:`check_fresh`; ``corpus_hashes`` and
    ``tokenizer_version`` default to the configured corpus and the current tokenizer). A stale
    index raises ``IndexStale`` naming what changed, or, with ``settings.auto_reindex``, is
    updated incrementally first.
    """
    try:
        manifest = _fresh_manifest(settings, embeddings, corpus_hashes, tokenizer_version)
    except IndexStale as stale:
        if not settings.auto_reindex:
            raise
        _auto_reindex(settings, stale)
        manifest = _fresh_manifest(settings, embeddings, corpus_hashes, tokenizer_version)
    build_dir = settings.index_dir / "builds" / manifest["build_id"]
    n = manifest["n_chunks"]
    chunks = _load_chunks(build_dir / "chunks.jsonl")
    if len(chunks) != n:
        raise IndexCorrupt(f"chunks.jsonl の件数 {len(chunks)} がマニフェストの {n} と一致しません")
    try:
        bm25 = bm25s.BM25.load(str(build_dir / "bm25"), show_progress=False)
    except Exception as exc:
        raise IndexCorrupt(f"BM25 インデックス {build_dir / 'bm25'} を読めません（{type(exc).__name__}）") from exc
    if bm25.scores.get("num_docs") != n:
        raise IndexCorrupt(f"BM25 の文書数 {bm25.scores.get('num_docs')} がチャンク数 {n} と一致しません")
    if not manifest["chroma"].get("url") and not (build_dir / "chroma" / "chroma.sqlite3").is_file():
        raise IndexCorrupt(f"{build_dir / 'chroma' / 'chroma.sqlite3'} がありません")
    # A shared flock on the manifest tells builds not to delete this build while we use it.
    try:
        reader_fd = os.open(build_dir / "manifest.json", os.O_RDONLY)
    except OSError as exc:  # a build removed it between our reads: it is no longer current
        raise IndexCorrupt(f"{build_dir} が読み込み中に削除されました（再度開いてください）") from exc
    fcntl.flock(reader_fd, fcntl.LOCK_SH)
    index = PlanIndex(settings, build_dir, manifest, chunks, bm25, reader_fd)
    try:
        count = index._call(lambda c: c.count())
    except BaseException as exc:
        index.close()
        if isinstance(exc, _STOP | IndexUnavailable):
            raise
        raise IndexCorrupt(f"Chroma データベースを読めません（{type(exc).__name__}: {str(exc)[:120]}）") from exc
    if count != n:
        index.close()
        raise IndexCorrupt(f"Chroma の件数 {count} がチャンク数 {n} と一致しません")
    return index
