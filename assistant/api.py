"""The Python API: a long-lived :class:`Assistant` and the module-level :func:`answer`.

    from assistant import answer
    a = answer("No. 1-57 の主担当は？")
    print(a.text, [c.measure_no for c in a.citations])

The Assistant loads the corpus, catalog and index once and is safe to call from many threads
(the UI serves several staff at once with one instance).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from assistant.answering import Answer, ExtractiveAnswerer, stream_text
from assistant.bilingual import EnglishBridge, loanwords
from assistant.catalog import Catalog, build_catalog
from assistant.config import Settings
from assistant.corpus import Document, load_corpus
from assistant.embeddings import make_embeddings
from assistant.index import PlanIndex, open_index
from assistant.questions import InvalidQuestion, clean_question, normalize_history
from assistant.retrieval import HybridRetriever
from assistant.tokenizer import JapaneseTokenizer, load_synonyms
from assistant.understanding import TermAnalyzer, Understanding


class Assistant:
    """Holds the loaded index and answers questions. Thread-safe."""

    def __init__(self, settings: Settings | None = None, *, documents: Sequence[Document] | None = None) -> None:
        t0 = time.perf_counter()
        self.settings = settings or Settings.from_env()
        self.documents = list(documents) if documents is not None else load_corpus(self.settings.corpus_dir)
        self.catalog: Catalog = build_catalog(self.documents)
        self.tokenizer = JapaneseTokenizer()
        self.synonyms = load_synonyms()
        # The query cache lives in memory; the passage cache on disk is shared with index builds.
        self.embeddings = make_embeddings(self.settings.embedder, self.settings.index_dir / "cache")
        self.index: PlanIndex = open_index(self.settings, self.embeddings)
        self.retriever = HybridRetriever(
            self.index, self.embeddings, self.tokenizer, self.synonyms, self.catalog,
            bm25_weight=self.settings.bm25_weight, dense_weight=self.settings.dense_weight,
        )
        # Question words are weighed by the indexed corpus: rare words identify passages, and words
        # no chunk contains mean the documents do not mention the subject.
        self.analyzer = TermAnalyzer(self.tokenizer, self.synonyms, self.index.document_frequency,
                                     len(self.index.chunks), vocabulary=self.index.vocabulary(),
                                     texts=(d.raw for d in self.documents))
        words, vectors = self.index.vocabulary_vectors()
        respeller = self.analyzer.respeller
        bridge = EnglishBridge(loanwords(self.tokenizer, self.index.vocabulary()), words, vectors,
                               embed_query=self.embeddings.embed_query,
                               by_reading=respeller.written_in_kanji if respeller else None,
                               known=self.analyzer.known)
        self.understanding = Understanding(
            self.analyzer, self.catalog, editions=[d.info.edition for d in self.documents], bridge=bridge,
        )
        self.extractive = ExtractiveAnswerer(
            self.catalog, self.retriever, self.documents, self.tokenizer, analyzer=self.analyzer,
            top_k=self.settings.top_k,
        )
        self.llm = None
        if self.settings.llm:
            from assistant.llm import LLMAnswerer

            titles = {d.info.doc_id: d.info.title for d in self.documents}
            self.llm = LLMAnswerer.from_settings(self.settings, self.catalog, doc_titles=titles)
        self.load_ms = (time.perf_counter() - t0) * 1000

    def answer(
        self, question: str, *, history: list[dict] | None = None, filters: dict[str, Any] | None = None
    ) -> Answer:
        """Answer one question. Raises :class:`InvalidQuestion` for empty or over-long input."""
        t0 = time.perf_counter()
        text = clean_question(question, self.settings.max_question_chars)
        turns = normalize_history(history, self.settings.max_history_turns)
        analysis = self.understanding.analyse(text, turns)
        answer, result = self.extractive.answer(analysis, filters)
        if self.llm is not None and not answer.abstained:
            answer = self.llm.rewrite(analysis, result, answer, turns)
        answer.timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return answer

    def stream(
        self, question: str, *, history: list[dict] | None = None, filters: dict[str, Any] | None = None
    ) -> Iterator[str | Answer]:
        """Yield text pieces as they are ready, then the final :class:`Answer`."""
        if self.llm is not None:
            text = clean_question(question, self.settings.max_question_chars)
            turns = normalize_history(history, self.settings.max_history_turns)
            analysis = self.understanding.analyse(text, turns)
            base, result = self.extractive.answer(analysis, filters)
            if not base.abstained:
                yield from self.llm.stream(analysis, result, base, turns)
                return
            yield base.text
            yield base
            return
        final = self.answer(question, history=history, filters=filters)
        yield from stream_text(final.text)
        yield final


_default: Assistant | None = None
_default_lock = threading.Lock()


def default_assistant() -> Assistant:
    """The process-wide Assistant, created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Assistant()
        return _default


def answer(question: str, *, history: list[dict] | None = None, filters: dict[str, Any] | None = None) -> Answer:
    """Answer a question about the plan with the default :class:`Assistant`."""
    return default_assistant().answer(question, history=history, filters=filters)


__all__ = ["Answer", "Assistant", "InvalidQuestion", "answer", "default_assistant"]
