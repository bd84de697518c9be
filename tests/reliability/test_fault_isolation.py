"""One query's failure stays that query's: the connection shared by all threads is left alone.

Embedded Chroma (the default) is one client shared by every thread of an ``Assistant``; closing
it because one query failed breaks the queries the other threads are running on it. The faults
here are real: a ``where`` filter that Chroma itself rejects. Server mode (a connection error
drops the connection, a rejected query does not) is tested in ``tests/test_chroma_server.py``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from chromadb.errors import ChromaError

from assistant.api import Assistant
from assistant.index import IndexUnavailable, PlanIndex, open_index

BAD_FILTER = {"$bogus": 1}  # Chroma: "Invalid where clause"
QUESTIONS = ["ガバメントクラウドへの移行の目標は？", "防災に関する施策は？", "自治体システムの標準化",
             "マイナンバーカードの普及", "教育データの利活用", "AIの安全性に関する取組"]


@pytest.fixture
def index(settings, index_copy, assistant) -> PlanIndex:
    """A PlanIndex on a private copy of the real index. Its own directory matters: chromadb shares
    one embedded system per path and only really closes it when its last client closes, so on the
    session's index (also open in the ``assistant`` fixture) closing the client would go unseen."""
    with open_index(settings.replace(index_dir=index_copy), assistant.embeddings) as idx:
        yield idx


def _rejected(index: PlanIndex, vector) -> Exception:
    with pytest.raises(Exception) as exc_info:  # noqa: PT011 - its kind is asserted by the callers
        index.dense_search(vector, 5, where=BAD_FILTER)
    return exc_info.value


def test_rejected_query_is_its_own_error(index, assistant):
    vector = assistant.embeddings.embed_query("防災")
    expected = index.dense_search(vector, 5)
    err = _rejected(index, vector)
    # Chroma's error for this query, not an "index unavailable" that would blame the index.
    assert isinstance(err, ChromaError | ValueError) and not isinstance(err, IndexUnavailable), repr(err)
    assert index.dense_search(vector, 5) == expected


def test_query_in_flight_survives_another_threads_failure(index, assistant):
    """Deterministic interleaving: thread A holds the collection mid-query while another query
    fails; A's query must still succeed (it fails if a failure closes the shared client)."""
    vector = assistant.embeddings.embed_query("ガバメントクラウド")
    expected = index.dense_search(vector, 5)
    holding, proceed = threading.Event(), threading.Event()

    def slow_query(collection):
        holding.set()
        assert proceed.wait(30)
        return collection.query(query_embeddings=[vector], n_results=5, include=["distances"])

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(index._call, slow_query)
        assert holding.wait(30)
        err = _rejected(index, vector)  # while A is inside its query
        proceed.set()
        result = future.result(timeout=60)
    assert not isinstance(err, IndexUnavailable), repr(err)
    got = [(index._pos[i], 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]
    assert [i for i, _ in got] == [i for i, _ in expected]


def test_many_threads_answer_while_one_keeps_failing(index, assistant):
    """8 threads query the shared index while a 9th sends rejected queries: every good query
    returns exactly what it returns alone, every bad one gets Chroma's own error."""
    vectors = [assistant.embeddings.embed_query(q) for q in QUESTIONS]
    expected = [index.dense_search(v, 10) for v in vectors]
    start = threading.Barrier(9)

    def good(k: int) -> list[tuple[int, list]]:
        start.wait(30)
        return [((k + j) % len(vectors), index.dense_search(vectors[(k + j) % len(vectors)], 10)) for j in range(60)]

    def bad() -> list[Exception]:
        start.wait(30)
        return [_rejected(index, vectors[j % len(vectors)]) for j in range(60)]

    with ThreadPoolExecutor(9) as pool:
        goods = [pool.submit(good, k) for k in range(8)]
        faults = pool.submit(bad)
        results = [f.result(timeout=300) for f in goods]  # re-raises a worker's exception here
        errors = faults.result(timeout=300)
    assert len(errors) == 60 and all(not isinstance(e, IndexUnavailable) for e in errors), errors[:3]
    for out in results:
        assert len(out) == 60
        for i, hits in out:
            assert hits == expected[i]


def test_shared_assistant_answers_while_a_query_fails(settings, index_copy, documents):
    """The same through a shared Assistant: answers from 6 threads equal the serial answers."""
    shared = Assistant(settings.replace(index_dir=index_copy), documents=documents)
    try:
        serial = {q: shared.answer(q).text for q in QUESTIONS}
        vector = shared.embeddings.embed_query("防災")

        def ask(k: int) -> list[tuple[str, str]]:
            return [(q, shared.answer(q).text) for q in QUESTIONS[k:] + QUESTIONS[:k]]

        def fail() -> list[Exception]:
            return [_rejected(shared.index, vector) for _ in range(40)]

        with ThreadPoolExecutor(7) as pool:
            answers = [pool.submit(ask, k) for k in range(6)]
            faults = pool.submit(fail)
            got = [f.result(timeout=300) for f in answers]
            errors = faults.result(timeout=300)
        assert all(not isinstance(e, IndexUnavailable) for e in errors)
        for out in got:
            assert dict(out) == serial
    finally:
        shared.index.close()
