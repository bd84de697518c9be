"""One Assistant, 8 threads × 10 questions: no errors, and every answer equals the answer the same
question (with the same history) gets single-threaded. Each thread holds its own conversation
about its own measure, so a mixed-up history would show as a follow-up resolving to another
thread's measure."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.answering import Answer
from assistant.api import Assistant

THREADS = 8
TOPICS = ["マイナンバーカード", "ガバメントクラウド", "生成AI", "防災", "医療DX", "サイバーセキュリティ", "デジタル人材",
          "オープンデータ"]


def _script(measure: str, topic: str) -> list[tuple[str, bool]]:
    """(question, follows_up) × 10; follow-ups get the conversation so far as history."""
    return [
        (f"No. {measure} の主担当は？", False),
        ("その施策の目標は？", True),
        ("関係府省庁は？", True),
        (f"{topic}に関する施策は？", False),
        ("2つ目の施策の主担当は？", True),
        (f"Which ministry leads measure No. {measure}?", False),
        ("'; DROP TABLE measures; -- 😀", False),
        (f"施策{measure}の工程表を教えて", False),
        ("それはいつまで？", True),
        ("", False),  # empty: InvalidQuestion, the same way in every thread
    ]


def _run(assistant, measure: str, topic: str, start: threading.Barrier | None = None) -> list[dict]:
    if start is not None:
        start.wait(timeout=30)
    history: list[dict[str, str]] = []
    out = []
    for question, follows in _script(measure, topic):
        hist = list(history) if follows else []
        try:
            answer = assistant.answer(question, history=hist)
        except ValueError as exc:
            out.append({"q": question, "error": f"{type(exc).__name__}: {exc}"})
            continue
        assert isinstance(answer, Answer)
        out.append({"q": question, "text": answer.text, "measures": answer.measure_nos,
                    "abstained": answer.abstained})
        history = (hist if follows else []) + [{"role": "user", "content": question},
                                                {"role": "assistant", "content": answer.text}]
    return out


@pytest.fixture(scope="module")
def conversations(catalog):
    """Eight distinct measures with a lead ministry, from different chapters where possible."""
    picked: list[str] = []
    for m in catalog.in_order():
        if m.lead_ministries and m.targets and m.measure_no.split("-")[0] not in {p.split("-")[0] for p in picked[:5]}:
            picked.append(m.measure_no)
        if len(picked) == THREADS:
            break
    for m in catalog.in_order():  # top up if there are fewer chapters than threads
        if len(picked) == THREADS:
            break
        if m.lead_ministries and m.measure_no not in picked:
            picked.append(m.measure_no)
    assert len(set(picked)) == THREADS
    return list(zip(picked, TOPICS, strict=True))


def test_threads_get_the_same_answers_as_serial(assistant, conversations, documents):
    serial = [_run(assistant, measure, topic) for measure, topic in conversations]

    # Each follow-up about "その施策" resolves to this conversation's own measure.
    for (measure, _), results in zip(conversations, serial, strict=True):
        assert measure in results[0]["measures"], results[0]
        assert results[1]["measures"][:1] == [measure], (measure, results[1])
        assert results[9]["error"].startswith("InvalidQuestion")

    # A fresh Assistant (cold query-vector cache), so the threads really embed concurrently
    # instead of reading vectors the serial run cached.
    shared = Assistant(assistant.settings, documents=documents)
    start = threading.Barrier(THREADS)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            futures = [pool.submit(_run, shared, measure, topic, start) for measure, topic in conversations]
            threaded = [f.result(timeout=300) for f in futures]
    finally:
        shared.index.close()

    for (measure, _), want, got in zip(conversations, serial, threaded, strict=True):
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            assert g == w, f"thread for No. {measure}, question {i} {w['q']!r}: differs from the serial answer"


def test_concurrent_streams_match_answers(assistant, conversations):
    """``stream`` (used by the UI) from several threads: the pieces add up to the final text."""
    questions = [f"No. {m} の目標は？" for m, _ in conversations]
    expected = {q: assistant.answer(q).text for q in questions}

    def consume(q: str) -> tuple[str, Answer]:
        items = list(assistant.stream(q))
        return "".join(p for p in items if isinstance(p, str)), items[-1]

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(consume, questions))
    for q, (joined, final) in zip(questions, results, strict=True):
        assert isinstance(final, Answer) and final.text == expected[q] and joined == final.text
