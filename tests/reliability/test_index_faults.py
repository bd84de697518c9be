"""Index and corpus faults at system level: what the API and the CLI say, and how to recover.

Each test works on a copy of the real index (``CURRENT`` + the current build + the embedding
cache), so rebuilds reuse cached vectors and take seconds, not minutes.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from assistant.api import Assistant
from assistant.corpus import CorpusError
from assistant.index import (
    BUILD_CMD,
    REBUILD_CMD,
    IndexBusy,
    IndexCorrupt,
    IndexMissing,
    IndexStale,
    IndexUnavailable,
    build_index,
)

from .helpers import PROBE, PY, ROOT, child_env, current_build, run_cli, wait_until


def _answers(settings, documents) -> str:
    a = Assistant(settings, documents=documents)
    try:
        answer = a.answer(PROBE)
        assert "1-57" in answer.measure_nos and not answer.abstained
        return answer.text
    finally:
        a.index.close()


def test_missing_index_api_and_cli(settings, documents, tmp_path):
    empty = tmp_path / "empty-index"
    empty.mkdir()
    with pytest.raises(IndexMissing) as exc_info:
        Assistant(settings.replace(index_dir=empty), documents=documents)
    assert BUILD_CMD in str(exc_info.value) and "インデックスがありません" in str(exc_info.value)

    r = run_cli(["ask", PROBE], ASSISTANT_INDEX_DIR=empty)
    assert r.returncode == 3, r.stderr[-2000:]
    assert BUILD_CMD in r.stderr and "インデックスがありません" in r.stderr and "Traceback" not in r.stderr


# -- damage to a copy of the real index ----------------------------------------------------------


def _corrupt_sqlite(build: Path) -> str:
    """Random bytes over the sqlite header page: 'file is not a database'."""
    path = build / "chroma" / "chroma.sqlite3"
    with open(path, "r+b") as f:
        f.write(os.urandom(4096))
    return "Chroma"


def _truncate_bm25(build: Path) -> str:
    biggest = max((build / "bm25").glob("*.npy"), key=lambda p: p.stat().st_size)
    os.truncate(biggest, biggest.stat().st_size // 2)
    return "BM25"


def _other_embedder(build: Path) -> str:
    path = build / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["embedder_spec"] = manifest["embedder_id"] = "st:some/other-model"
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return "埋め込みモデルが異なります"


@pytest.mark.parametrize(("damage", "error"), [
    (_corrupt_sqlite, IndexCorrupt), (_truncate_bm25, IndexCorrupt), (_other_embedder, IndexStale),
], ids=["corrupt-sqlite", "truncated-bm25", "other-embedder"])
def test_damaged_index_is_detected_at_load(index_copy, settings, documents, damage, error):
    named = damage(current_build(index_copy))
    with pytest.raises(IndexUnavailable) as exc_info:
        Assistant(settings.replace(index_dir=index_copy), documents=documents)
    message = str(exc_info.value)
    assert type(exc_info.value) is error, message
    assert named in message and BUILD_CMD in message  # says what is wrong and what to run
    if error is IndexCorrupt:
        assert REBUILD_CMD in message

    r = run_cli(["ask", PROBE], ASSISTANT_INDEX_DIR=index_copy)
    assert r.returncode == 3, r.stderr[-2000:]
    assert named in r.stderr and BUILD_CMD in r.stderr and "Traceback" not in r.stderr


# -- the corpus -------------------------------------------------------------------------------


def test_changed_corpus_file_is_named(settings, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    target = corpus / "plan-2024-summary-web.txt"
    data = bytearray(target.read_bytes())
    i = next(i for i in range(len(data) // 2, len(data)) if 0x30 <= data[i] <= 0x38)  # an ASCII digit
    data[i] += 1  # still valid UTF-8, one byte different, manifest untouched
    target.write_bytes(bytes(data))

    with pytest.raises(CorpusError) as exc_info:
        Assistant(settings.replace(corpus_dir=corpus))
    assert target.name in str(exc_info.value) and "sha256" in str(exc_info.value)

    for args in (["ask", PROBE], ["index", "--quiet"]):
        r = run_cli(args, ASSISTANT_CORPUS_DIR=corpus, ASSISTANT_INDEX_DIR=settings.index_dir)
        assert r.returncode == 4, r.stderr[-2000:]
        assert target.name in r.stderr and "Traceback" not in r.stderr


# -- concurrent and killed builds -------------------------------------------------------------


def _new_build_dirs(index_dir: Path, known: set[str]) -> list[Path]:
    builds = index_dir / "builds"
    return [p for p in builds.iterdir() if p.name not in known] if builds.is_dir() else []


def test_busy_killed_and_corrupt_builds_recover(index_copy, settings, documents):
    """A build holds the lock and a second is refused (API); SIGKILL mid-build; the previous build
    still serves; the CLI refuses while the lock is held; the serving build gets corrupted; one
    ``index --rebuild`` fixes everything."""
    from assistant.catalog import build_catalog
    from assistant.chunking import chunk_corpus, fugashi_token_counter
    from assistant.embeddings import make_embeddings
    from assistant.tokenizer import JapaneseTokenizer

    s = settings.replace(index_dir=index_copy)
    old = current_build(index_copy).name
    before_text = _answers(s, documents)
    # Chunks for an in-process build, prepared before the race starts.
    chunks = chunk_corpus(documents, build_catalog(documents), fugashi_token_counter(), s.chunk_tokens)
    hashes = {d.info.doc_id: d.info.sha256 for d in documents}
    embeddings = make_embeddings(s.embedder, index_copy / "cache")

    holder = subprocess.Popen([PY, "-m", "assistant", "index", "--rebuild", "--quiet"], cwd=ROOT,
                              env=child_env(ASSISTANT_INDEX_DIR=index_copy), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        # The build dir appears inside the lock: from then on the holder is mid-build.
        assert wait_until(lambda: _new_build_dirs(index_copy, {old}) or holder.poll() is not None, 120)
        assert holder.poll() is None, f"build ended before it could be interrupted: {holder.communicate()}"
        t0 = time.perf_counter()
        with pytest.raises(IndexBusy) as exc_info:
            build_index(s, chunks, hashes, embeddings, JapaneseTokenizer(), rebuild=True, progress=False,
                        lock_timeout_s=0.5)
        waited = time.perf_counter() - t0
        assert 0.4 <= waited < 5, waited  # waited for the lock as asked, then refused clearly
        assert "別のインデックス作成が実行中です" in str(exc_info.value) and ".build.lock" in str(exc_info.value)
        assert holder.poll() is None, "the holder finished too early to be killed mid-build"
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
    partial = _new_build_dirs(index_copy, {old})
    assert len(partial) == 1 and not (partial[0] / "manifest.json").exists(), "a killed build must not look finished"

    # The previous build still serves, through a fresh Assistant, with the same answer.
    assert current_build(index_copy).name == old
    assert _answers(s, documents) == before_text

    # While another build holds the lock (same flock protocol as a running build), the CLI refuses.
    fd = os.open(index_copy / ".build.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again: the kernel dropped the dead holder's lock
        r = run_cli(["index", "--rebuild", "--quiet"], ASSISTANT_INDEX_DIR=index_copy)
    finally:
        os.close(fd)
    assert r.returncode == 3, r.stderr[-2000:]
    assert "別のインデックス作成が実行中です" in r.stderr and "Traceback" not in r.stderr

    # Worst case for the next build: the serving build is now damaged too (corrupt sqlite).
    _corrupt_sqlite(current_build(index_copy))
    with pytest.raises(IndexCorrupt):
        Assistant(s, documents=documents)

    # Rebuilt on request: completes from the embedding cache, switches CURRENT, removes the
    # killed build's leftovers, and answers exactly as before.
    r = run_cli(["index", "--rebuild", "--json", "--quiet"], ASSISTANT_INDEX_DIR=index_copy)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout)
    assert report["built"] and report["n_embedded"] == 0  # every vector came from the cache
    assert current_build(index_copy).name == report["build_id"] != old
    assert not partial[0].exists(), "the killed build's directory should be cleaned up"
    assert _answers(s, documents) == before_text
