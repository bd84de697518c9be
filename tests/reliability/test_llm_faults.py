"""LLM endpoint faults at system level: ``ASSISTANT_LLM=openai:fake`` against a closed port, a stub
that hangs and a stub that returns garbage. The user always gets the extractive answer, with a
notice, within the timeout (+5 s: the extractive answer and a loaded machine's scheduling); nothing is
raised. The slow stub sleeps far longer than that bound, so a timeout not enforced still fails."""

from __future__ import annotations

import time

import pytest

from assistant.answering import Answer
from assistant.api import Assistant
from assistant.config import Settings

from .helpers import PROBE, free_port

pytest.importorskip("langchain_openai")

TIMEOUT_S = 2.0


def _llm_assistant(monkeypatch, documents, base_url: str) -> Assistant:
    """An Assistant configured the way staff would: through ASSISTANT_* variables."""
    monkeypatch.setenv("ASSISTANT_LLM", "openai:fake")
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", base_url)
    monkeypatch.setenv("ASSISTANT_LLM_TIMEOUT_S", str(TIMEOUT_S))
    settings = Settings.from_env()
    assert settings.llm == "openai:fake" and settings.llm_timeout_s == TIMEOUT_S
    return Assistant(settings, documents=documents)


def _check_fallback(a: Assistant, extractive: Answer, question: str = PROBE) -> None:
    t0 = time.perf_counter()
    answer = a.answer(question)
    elapsed = time.perf_counter() - t0
    assert elapsed < TIMEOUT_S + 5, f"answer took {elapsed:.1f} s with llm_timeout_s={TIMEOUT_S}"
    assert answer.mode == "extractive" and answer.notices, answer
    assert "抽出型の回答" in answer.notices[-1]
    assert answer.text == extractive.text and answer.measure_nos == extractive.measure_nos

    # The streaming path (what the UI uses) falls back too: pieces, then the final Answer.
    t0 = time.perf_counter()
    items = list(a.stream(question))
    elapsed = time.perf_counter() - t0
    assert elapsed < 3 * TIMEOUT_S + 2, f"stream took {elapsed:.1f} s"
    final = items[-1]
    assert isinstance(final, Answer) and final.mode == "extractive" and final.notices
    assert extractive.text in "".join(p for p in items if isinstance(p, str))


@pytest.fixture(scope="module")
def extractive(assistant) -> Answer:
    return assistant.answer(PROBE)


def test_closed_port(monkeypatch, documents, extractive):
    a = _llm_assistant(monkeypatch, documents, f"http://127.0.0.1:{free_port()}/v1")
    try:
        _check_fallback(a, extractive)
    finally:
        a.index.close()


def test_stub_slower_than_the_timeout(monkeypatch, documents, extractive, stub_llm):
    stub = stub_llm("slow", sleep_s=TIMEOUT_S + 12, reply="デジタル庁です [No. 1-57]。")
    a = _llm_assistant(monkeypatch, documents, stub.url)
    try:
        _check_fallback(a, extractive)
        assert stub.bodies, "the stub was never called: the test would prove nothing"
    finally:
        a.index.close()


def test_stub_returning_garbage(monkeypatch, documents, extractive, stub_llm):
    stub = stub_llm("garbage")
    a = _llm_assistant(monkeypatch, documents, stub.url)
    try:
        _check_fallback(a, extractive)
        assert stub.bodies
    finally:
        a.index.close()


def test_stub_answer_without_valid_citation_falls_back(monkeypatch, documents, extractive, stub_llm):
    stub = stub_llm("ok", reply="担当は財務省です [No. 9-99]。出典はありません。")
    a = _llm_assistant(monkeypatch, documents, stub.url)
    try:
        _check_fallback(a, extractive)
    finally:
        a.index.close()


def test_working_stub_is_used(monkeypatch, documents, extractive, stub_llm):
    """Control: with a well-behaved endpoint the same setup gives an LLM answer, so the fallbacks
    above are caused by the faults and not by the test's wiring."""
    lead = "、".join(extractive.citations[0].lead_ministries) or "デジタル庁"
    stub = stub_llm("ok", reply=f"No. 1-57 の主担当府省庁は{lead}です [No. 1-57]。")
    a = _llm_assistant(monkeypatch, documents, stub.url)
    try:
        answer = a.answer(PROBE)
        assert answer.mode == "llm" and answer.measure_nos == ["1-57"] and not answer.notices
        final = list(a.stream(PROBE))[-1]
        assert isinstance(final, Answer) and final.mode == "llm"
    finally:
        a.index.close()
