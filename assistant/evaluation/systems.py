"""The systems under evaluation: a textbook RAG baseline, the project's retrievers, the assistant.

Every system turns one eval item into an :class:`Output` with the same fields, so the metrics
treat them alike. Retrieval-only systems never abstain and "answer" with their top passages.

Multi-turn items: ``followup`` items carry a written ``history``; ``conversation`` items carry
``prior_turns`` (earlier user questions) that the assistant is asked **live**, its own answers
becoming the history of the final question. Retrieval-only systems and the naive baseline see
the final question alone (no history, no prior turns).
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.evaluation.metrics import bracketed_measures, dedupe

NAIVE_CHUNK_SIZE = 1000
NAIVE_OVERLAP = 200
NAIVE_K = 10
NAIVE_COLLECTION = "naive_recursive_1000_200"
RETRIEVER_K = 10
CITED_TOP = 3
_FETCH_DEPTH = 50

# How a naive pipeline spots measure numbers; applied to NFKC text so full-width forms count too.
_NAIVE_NO = re.compile(r"No\.\s*(\d+-\d+)")


@dataclass
class Output:
    """What one system produced for one item, in the form the metrics need."""

    ranking: list[str]  # measure numbers, best first, deduplicated
    ranked_docs: list[str]  # doc id of each ranked hit, best first
    cited: list[str]  # cited measure numbers, in order
    cited_docs: list[str]  # doc id of each distinct citation
    text: str  # answer text plus quotes: where facts are looked for
    first_line: str = ""
    answer: str = ""  # the answer as shown (for the judge); passages for retrieval-only systems
    sources: str = ""  # the quoted sources (for the judge)
    abstained: bool = False
    latency_ms: float = 0.0
    labels: list[str] = field(default_factory=list)  # citations as shown, for the report
    error: str | None = None
    prior_turns_ms: float = 0.0  # time spent answering a conversation's prior turns (not in latency_ms)
    history: list[dict[str, str]] = field(default_factory=list)  # the live history of a conversation item


class System:
    """Base class: ``run(item)`` returns an :class:`Output` with its latency filled in."""

    name = "system"

    def run(self, item: dict[str, Any]) -> Output:
        t0 = time.perf_counter()
        try:
            out = self._run(item)
        except Exception as exc:  # one failing item must not end the run; it is scored as a miss
            out = Output([], [], [], [], "", error=f"{type(exc).__name__}: {exc}"[:300])
        # The latency of a conversation item is that of its final turn, like any other item.
        out.latency_ms = max((time.perf_counter() - t0) * 1000 - out.prior_turns_ms, 0.0)
        return out

    def _run(self, item: dict[str, Any]) -> Output:
        raise NotImplementedError


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def passages_output(measures: Sequence[str | None], docs: Sequence[str], texts: Sequence[str]) -> Output:
    """The output of a retrieval-only system from its ranked passages.

    Citations are the top-3 distinct measures (and the documents of the top-3 passages), the
    answer text is the top-3 passages: what a reader of the first results would see.
    """
    ranking = dedupe(measures)[:RETRIEVER_K]
    text = "\n".join(texts[:CITED_TOP])
    cited = ranking[:CITED_TOP]
    return Output(
        ranking=ranking, ranked_docs=list(docs), cited=cited, cited_docs=list(docs[:CITED_TOP]),
        text=text, first_line=_first_line(text), answer=text, labels=[f"No. {c}" for c in cited] or list(docs[:CITED_TOP]),
    )


# --- the project's retriever -----------------------------------------------------------------


class RetrieverSystem(System):
    """``bm25`` / ``dense``: one side of the hybrid retriever; ``hybrid``: ``retriever.retrieve``."""

    def __init__(self, name: str, retriever: Any) -> None:
        if name not in ("bm25", "dense", "hybrid"):
            raise ValueError(f"unknown retriever system {name!r}")
        self.name = name
        self.retriever = retriever

    def _chunks(self, question: str) -> list[Any]:
        if self.name == "hybrid":
            return [h.chunk for h in self.retriever.retrieve(question, k=RETRIEVER_K).hits]
        fn: Callable[[str, int], list[tuple[int, float]]] = getattr(self.retriever, self.name)
        ranked = fn(question, _FETCH_DEPTH)
        # Group like the hybrid does (one slot per measure) so the three compare on 10 slots each.
        chunks, seen = [], set()
        for i, _score in ranked:
            chunk = self.retriever.index.chunks[i]
            group = chunk.measure_no or chunk.chunk_id
            if group not in seen:
                seen.add(group)
                chunks.append(chunk)
            if len(chunks) >= RETRIEVER_K:
                break
        return chunks

    def _run(self, item: dict[str, Any]) -> Output:
        chunks = self._chunks(item["question"])
        return passages_output([c.measure_no for c in chunks], [c.doc_id for c in chunks], [c.text for c in chunks])


# --- the textbook baseline ---------------------------------------------------------------------


def naive_chunks(documents: Sequence[Any]) -> list[tuple[str, str, str]]:
    """``(id, doc_id, text)`` from RecursiveCharacterTextSplitter(1000, 200) over the raw files."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=NAIVE_CHUNK_SIZE, chunk_overlap=NAIVE_OVERLAP)
    out = []
    for doc in documents:
        for i, text in enumerate(splitter.split_text(doc.raw)):
            out.append((f"{doc.info.doc_id}-{i:05d}", doc.info.doc_id, text))
    return out


def naive_measures(text: str) -> list[str]:
    """Measure numbers a naive reader finds in a passage (``No. X-Y``), in order."""
    found = _NAIVE_NO.findall(unicodedata.normalize("NFKC", text))
    return dedupe(f"{int(a)}-{int(b)}" for a, b in (f.split("-") for f in found))


class NaiveRAG(System):
    """The textbook recipe: fixed-size character chunks, one embedder, a Chroma collection, top-10."""

    name = "naive"

    def __init__(self, documents: Sequence[Any], embeddings: Any, db_dir: Path, *, progress: bool = True) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.embeddings = embeddings
        self.chunks = naive_chunks(documents)
        embedder_id = getattr(embeddings, "embedder_id", type(embeddings).__name__)
        digest = hashlib.sha256(embedder_id.encode())
        for cid, doc_id, text in self.chunks:
            digest.update(f"\x00{cid}\x00{doc_id}\x00{text}".encode())
        fingerprint = digest.hexdigest()
        db_dir.mkdir(parents=True, exist_ok=True)
        self.client = chromadb.PersistentClient(path=str(db_dir), settings=ChromaSettings(anonymized_telemetry=False))
        self.collection = self._open(fingerprint, progress)

    def _open(self, fingerprint: str, progress: bool) -> Any:
        from chromadb.errors import NotFoundError

        try:
            col = self.client.get_collection(NAIVE_COLLECTION, embedding_function=None)
            if (col.metadata or {}).get("fingerprint") == fingerprint and col.count() == len(self.chunks):
                return col
            self.client.delete_collection(NAIVE_COLLECTION)
        except NotFoundError:
            pass
        col = self.client.create_collection(
            NAIVE_COLLECTION, embedding_function=None, metadata={"fingerprint": fingerprint},
            configuration={"hnsw": {"space": "cosine"}},
        )
        from tqdm import tqdm

        step = 32
        with tqdm(total=len(self.chunks), desc="naive baseline: embedding", unit="chunk",
                  disable=not progress, leave=False) as bar:
            for start in range(0, len(self.chunks), step):
                batch = self.chunks[start : start + step]
                vectors = self.embeddings.embed_documents([t for _, _, t in batch])
                col.add(
                    ids=[c for c, _, _ in batch], embeddings=vectors, documents=[t for _, _, t in batch],
                    metadatas=[{"doc_id": d} for _, d, _ in batch],
                )
                bar.update(len(batch))
        return col

    def _run(self, item: dict[str, Any]) -> Output:
        vector = self.embeddings.embed_query(item["question"])
        r = self.collection.query(query_embeddings=[vector], n_results=NAIVE_K, include=["documents", "metadatas"])
        texts = r["documents"][0]
        docs = [m["doc_id"] for m in r["metadatas"][0]]
        measures = [no for t in texts for no in naive_measures(t)]
        return passages_output(measures, docs, texts)

    def close(self) -> None:
        """Release the sqlite handle."""
        try:
            self.client.close()
        except Exception:  # older clients have no close(); nothing to release then
            pass


# --- the assistant -------------------------------------------------------------------------------


class AssistantSystem(System):
    """The full ``Assistant.answer()``, with the conversation history for follow-ups.

    ``followup`` items bring a written history; for ``conversation`` items each prior user turn
    is asked first, live, and the assistant's own answer is appended to the history
    (``{"role": "user", …}``, ``{"role": "assistant", "content": ans.text}``) before the final
    question is asked with it.
    """

    name = "assistant"

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant

    def live_history(self, item: dict[str, Any]) -> tuple[list[dict[str, str]], float]:
        """The history for the item's final question and the milliseconds its prior turns took."""
        history: list[dict[str, str]] = [dict(h) for h in item.get("history") or []]
        prior = item.get("prior_turns") or []
        if not prior:
            return history, 0.0
        t0 = time.perf_counter()
        for turn in prior:
            ans = self.assistant.answer(turn, history=history or None)
            history += [{"role": "user", "content": turn}, {"role": "assistant", "content": ans.text}]
        return history, (time.perf_counter() - t0) * 1000

    def _run(self, item: dict[str, Any]) -> Output:
        history, prior_ms = self.live_history(item)
        ans = self.assistant.answer(item["question"], history=history or None)
        # Numbers written as [No. X-Y] in the text count as citations too, so an invented one
        # that is not backed by a Citation object is still caught.
        cited = dedupe([*ans.measure_nos, *bracketed_measures(ans.text)])
        labels, cited_docs = [], []
        for c in ans.citations:
            label = f"No. {c.measure_no}" if c.measure_no else f"{c.title} > {c.section}"
            if label not in labels:
                labels.append(label)
                cited_docs.append(c.doc_id)
        for no in cited:
            if f"No. {no}" not in labels:
                labels.append(f"No. {no}")
                cited_docs.append(self.assistant.catalog.doc_id)
        text = "\n".join([ans.text, *(c.quote for c in ans.citations)])
        return Output(
            ranking=cited, ranked_docs=cited_docs, cited=cited, cited_docs=cited_docs, text=text,
            first_line=_first_line(ans.text), abstained=bool(ans.abstained), labels=labels,
            answer=ans.text, sources="\n".join(f"[{c.label}] {c.quote}" for c in ans.citations),
            prior_turns_ms=prior_ms, history=history if item.get("prior_turns") else [],
        )
