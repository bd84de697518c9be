"""Stage 5: hybrid retrieval. BM25 + dense vectors fused by reciprocal rank, grouped per measure.

Measure numbers in the query (``No. 1-57``, ``１－５７``, ``施策1-57``) take an exact path: those
measures come first whatever the scores say. Filters (document, edition, chapter, lead ministry,
measure) are checked against what the index holds, so a user-supplied value can never reach
anything but a metadata comparison.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict

from assistant.catalog import Catalog, canonical_ministry, find_measure_nos
from assistant.chunking import Chunk
from assistant.corpus import search_key
from assistant.index import PlanIndex
from assistant.tokenizer import JapaneseTokenizer, expand_query

RRF_K = 60
DENSE_QUERY_CHARS = 128
CHUNK_KINDS = {"measure", "roadmap", "procedure", "section"}
# A name the caller knows the user wrote out whole (「オンライン資格確認」) is a third ranking: the
# chunks holding it verbatim, when at most this many do (a name found everywhere distinguishes nothing).
PHRASE_MAX_CHUNKS = 40
PHRASE_WEIGHT = 1.0
# A naming word of the question that at most RARE_DF chunks hold pins them (「地政学的リスク」,
# 「イスラエル」): the embedder may rank them nowhere, and reciprocal ranks keep no BM25 scores, so
# they are fused once more, as their own list (at most PINNED_MAX of them, in BM25 order).
RARE_DF = 3
PINNED_MAX = 3

# One word of a question's subject as the chunks may hold it: any of its wordings, each a set of
# tokens all held (a staff term such as マイナ保険証 has several wordings in the plan).
Wording = Sequence[frozenset[str]]
# Sentence search: a token held by more sentences than this says nothing about which one answers.
SENTENCE_MAX_POSTINGS = 400
FILTER_KEYS = ("doc_id", "edition", "chapter", "ministry", "measure_no", "kind")


class InvalidFilter(ValueError):
    """A filter names something the index does not hold (unknown document, chapter, ministry…)."""


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with its fused score and the retrievers that found it."""

    chunk: Chunk
    score: float
    retrievers: tuple[str, ...]
    bm25_score: float = 0.0
    dense_score: float = 0.0  # cosine similarity, 0 when the dense side did not return it

    @property
    def measure_no(self) -> str | None:
        return self.chunk.measure_no

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    @property
    def section(self) -> str:
        return self.chunk.section

    @property
    def text(self) -> str:
        return self.chunk.text


@dataclass
class RetrievalResult:
    hits: list[Hit]
    exact_measures: list[str] = field(default_factory=list)  # numbers asked for that exist
    missing_measures: list[str] = field(default_factory=list)  # numbers asked for that don't
    top_dense: float = 0.0
    top_bm25: float = 0.0
    # the ranking without the passages a rare word pinned (None when none was): what a check of
    # whether the documents speak of that word looks at, since a pinned passage names it by design
    unpinned: list[Hit] | None = None


def normalize_filters(filters: dict[str, Any] | None, index: PlanIndex, catalog: Catalog) -> dict[str, set]:
    """Validate user filters against the index; values become sets. Unknown keys/values raise."""
    if not filters:
        return {}
    doc_ids = {c.doc_id for c in index.chunks}
    editions = {c.edition for c in index.chunks}
    ministries = {mi for m in catalog.measures.values() for mi in m.lead_ministries}
    out: dict[str, set] = {}
    for key, value in filters.items():
        if value in (None, "", [], ()):
            continue
        if key not in FILTER_KEYS:
            raise InvalidFilter(f"不明な絞り込み条件です: {key}（使えるもの: {', '.join(FILTER_KEYS)}）")
        values = value if isinstance(value, list | tuple | set) else [value]
        if key == "doc_id":
            vals = {str(v) for v in values}
            bad = vals - doc_ids
            if bad:
                raise InvalidFilter(f"文書IDが見つかりません: {', '.join(sorted(bad))}（使えるもの: {', '.join(sorted(doc_ids))}）")
        elif key in ("edition", "chapter"):
            try:
                vals = {int(v) for v in values}
            except (TypeError, ValueError) as exc:
                raise InvalidFilter(f"{key} は数値で指定してください: {value!r}") from exc
            allowed = editions if key == "edition" else set(range(1, 6))
            if vals - allowed:
                raise InvalidFilter(f"{key} の値が不正です: {value!r}（使えるもの: {sorted(allowed)}）")
        elif key == "ministry":
            vals = {canonical_ministry(str(v)) for v in values}
            if vals - ministries:
                raise InvalidFilter(f"主担当府省庁が見つかりません: {', '.join(sorted(vals - ministries))}")
        elif key == "measure_no":
            vals = {n for v in values for n in find_measure_nos(str(v))}
            if not vals or vals - set(catalog.measures):
                raise InvalidFilter(f"施策番号が見つかりません: {value!r}")
        else:  # kind
            vals = {str(v) for v in values}
            if vals - CHUNK_KINDS:
                raise InvalidFilter(f"kind の値が不正です: {value!r}（使えるもの: {', '.join(sorted(CHUNK_KINDS))}）")
        out[key] = vals
    return out


def _matches(chunk: Chunk, filters: dict[str, set]) -> bool:
    for key, vals in filters.items():
        if key == "doc_id" and chunk.doc_id not in vals:
            return False
        if key == "edition" and chunk.edition not in vals:
            return False
        if key == "chapter" and chunk.chapter not in vals:
            return False
        if key == "measure_no" and chunk.measure_no not in vals:
            return False
        if key == "kind" and chunk.kind not in vals:
            return False
        if key == "ministry" and not (set(chunk.lead_ministries) & vals):
            return False
    return True


class HybridRetriever:
    """BM25 + dense retrieval over one :class:`PlanIndex`, fused by weighted reciprocal rank."""

    def __init__(
        self,
        index: PlanIndex,
        embeddings: Embeddings,
        tokenizer: JapaneseTokenizer,
        synonyms: dict[str, list[str]],
        catalog: Catalog,
        *,
        bm25_weight: float = 1.0,
        dense_weight: float = 1.0,
    ) -> None:
        self.index = index
        self.embeddings = embeddings
        self.tokenizer = tokenizer
        self.synonyms = synonyms
        self.catalog = catalog
        self.bm25_weight = bm25_weight
        self.dense_weight = dense_weight
        self._by_measure: dict[str, list[int]] = {}
        for i, c in enumerate(index.chunks):
            if c.measure_no:
                self._by_measure.setdefault(c.measure_no, []).append(i)
        self._filter_cache: dict[tuple, set[int]] = {}
        self._lock = threading.Lock()
        self._chunk_keys: list[str] | None = None  # each chunk's search key, built on first use
        # token -> (chunk index, sentence) for every sentence stored with the index; built on first use
        self._sentence_postings: dict[str, list[tuple[int, str]]] | None = None

    # -- the two sides --------------------------------------------------------------------

    def _allowed(self, filters: dict[str, set]) -> set[int] | None:
        if not filters:
            return None
        key = tuple(sorted((k, tuple(sorted(map(str, v)))) for k, v in filters.items()))
        with self._lock:
            if key not in self._filter_cache:
                self._filter_cache[key] = {i for i, c in enumerate(self.index.chunks) if _matches(c, filters)}
            return self._filter_cache[key]

    def bm25(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """BM25 over the synonym-expanded query."""
        tokens = self.tokenizer.tokenize(expand_query(query, self.synonyms))
        if not tokens:
            return []
        return self.index.bm25_search(tokens, k, allowed)

    def pinned(self, bm25: Sequence[tuple[int, float]], pins: Sequence[str],
               context: Sequence[Wording] = ()) -> list[tuple[int, float]]:
        """The BM25 passages (at most PINNED_MAX, in BM25 order) holding one of ``pins`` (words of
        the subject that at most RARE_DF chunks hold) and half of ``context`` (the subject's words,
        each as its wordings) besides the pin itself: they speak of what was asked, not of something else in passing (a passage
        on 介護 staffing saying 人員 is no answer about デジタル庁's staff)."""
        df = getattr(self.index, "document_frequency", None)
        holders = getattr(self.index, "chunks_with", None)
        if df is None or holders is None or not bm25 or not pins:
            return []

        def holding(alternatives: Wording) -> set[int]:
            out: set[int] = set()
            for tokens in alternatives:
                sets = [holders(t) for t in tokens]
                out |= set.intersection(*sets) if sets else set()
            return out

        rare = [w for w in pins if 0 < df(w) <= RARE_DF]
        if not rare:
            return []
        held_by = {w: holders(w) for w in rare}
        held_context = [(list(c), holding(c)) for c in context]  # once, not once per rare word
        pinned: set[int] = set()
        for word in rare:
            others = [held for c, held in held_context if c != [frozenset({word})]]
            need = (len(others) + 1) // 2
            pinned |= {i for i in held_by[word] if sum(i in o for o in others) >= need}
        # A passage holding more of the rare words first (「紛争」 and 「ODR」), then BM25's order.
        rank = {i: r for r, (i, _s) in enumerate(bm25)}
        order = sorted((i for i in pinned if i in rank), key=lambda i: (-sum(i in h for h in held_by.values()), rank[i]))
        return [(i, bm25[rank[i]][1]) for i in order][:PINNED_MAX]

    def measure_hit(self, measure_no: str) -> Hit | None:
        """The first chunk of a measure (its body) as a hit found by no search (``retrievers``
        names it "context"): a measure still under discussion, for the answerer to weigh."""
        positions = self._by_measure.get(measure_no, [])
        if not positions:
            return None
        chunk = next((self.index.chunks[i] for i in positions if self.index.chunks[i].kind == "measure"),
                     self.index.chunks[positions[0]])
        return Hit(chunk, 0.0, ("context",))

    def dense(self, query: str, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Dense search; filters are applied after an over-fetch because lead ministries are lists."""
        # Embedding cost grows with length; the head of a question carries its meaning.
        vector = self.embeddings.embed_query(expand_query(query[:DENSE_QUERY_CHARS], self.synonyms))
        if allowed is None:
            return self.index.dense_search(vector, k, None)
        if not allowed:
            return []
        fetched = self.index.dense_search(vector, min(len(self.index.chunks), max(k * 8, 200)), None)
        return [(i, s) for i, s in fetched if i in allowed][:k]

    def phrase_matches(self, phrases: Sequence[str], bm25: Sequence[tuple[int, float]],
                       allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """Chunks holding one of ``phrases`` verbatim (NFKC, spaces and case ignored), those holding
        most first, then in BM25 order; a phrase held by too many chunks is left out."""
        runs = [key for key in (search_key(p).casefold() for p in phrases) if len(key) >= 4]
        if not runs:
            return []
        if self._chunk_keys is None:
            self._chunk_keys = [search_key(c.embed_text).casefold() for c in self.index.chunks]
        count: dict[int, int] = {}
        for run in runs:
            holding = [i for i, key in enumerate(self._chunk_keys) if run in key and (allowed is None or i in allowed)]
            if len(holding) > PHRASE_MAX_CHUNKS:
                continue
            for i in holding:
                count[i] = count.get(i, 0) + 1
        order = {i: r for r, (i, _s) in enumerate(bm25)}
        ranked = sorted(count, key=lambda i: (-count[i], order.get(i, len(order)), i))
        return [(i, float(count[i])) for i in ranked]

    # -- fusion -----------------------------------------------------------------------------

    def retrieve(self, query: str, *, k: int = 10, filters: dict[str, Any] | None = None,
                 phrases: Sequence[str] = (), pins: Sequence[str] = (),
                 pin_context: Sequence[Wording] = ()) -> RetrievalResult:
        """Top-``k`` hits for a query, at most one chunk per measure, exact measure numbers first.

        ``phrases``: names the user wrote out whole; chunks holding them verbatim rank higher.
        ``pins``, ``pin_context``: rare words of the subject that pin the passages holding them
        with its other words (see :meth:`pinned`)."""
        norm = normalize_filters(filters, self.index, self.catalog)
        allowed = self._allowed(norm)
        depth = max(50, k * 5)
        bm25 = self.bm25(query, depth, allowed) if self.bm25_weight > 0 else []
        dense = self.dense(query, depth, allowed) if self.dense_weight > 0 else []
        phrase = self.phrase_matches(phrases, bm25, allowed) if phrases else []
        pinned = self.pinned(bm25, pins, pin_context)
        result = self.fuse(query, bm25, dense, k=k, allowed=allowed, phrase=phrase, pinned=pinned)
        if pinned:
            result.unpinned = self.fuse(query, bm25, dense, k=k, allowed=allowed, phrase=phrase).hits
        return result

    def fuse(
        self,
        query: str,
        bm25: Sequence[tuple[int, float]],
        dense: Sequence[tuple[int, float]],
        *,
        k: int,
        allowed: set[int] | None = None,
        phrase: Sequence[tuple[int, float]] = (),
        pinned: Sequence[tuple[int, float]] = (),
    ) -> RetrievalResult:
        """Reciprocal-rank fusion of the ranked lists (BM25, dense, the chunks holding a run of the
        query verbatim, the chunks a rare word pins), grouped so one measure fills one slot."""
        scores: dict[int, float] = {}
        found: dict[int, set[str]] = {}
        bm25_scores = dict(bm25)
        dense_scores = dict(dense)
        for rank, (i, _s) in enumerate(bm25):
            scores[i] = scores.get(i, 0.0) + self.bm25_weight / (RRF_K + rank + 1)
            found.setdefault(i, set()).add("bm25")
        for rank, (i, _s) in enumerate(dense):
            scores[i] = scores.get(i, 0.0) + self.dense_weight / (RRF_K + rank + 1)
            found.setdefault(i, set()).add("dense")
        for rank, (i, _s) in enumerate(phrase):
            scores[i] = scores.get(i, 0.0) + PHRASE_WEIGHT / (RRF_K + rank + 1)
            found.setdefault(i, set()).add("phrase")
        for rank, (i, _s) in enumerate(pinned):
            scores[i] = scores.get(i, 0.0) + self.bm25_weight / (RRF_K + rank + 1)
            found.setdefault(i, set()).add("pinned")

        asked = find_measure_nos(unicodedata.normalize("NFKC", query))
        exact = [n for n in asked if n in self.catalog.measures]
        missing = [n for n in asked if n not in self.catalog.measures]
        for rank, no in enumerate(exact):
            for i in self._by_measure.get(no, []):
                if allowed is not None and i not in allowed:
                    continue
                # Above any fused score (max fused ≈ 2/61), in the order the numbers were asked.
                scores[i] = 10.0 - rank + scores.get(i, 0.0)
                found.setdefault(i, set()).add("measure_no")

        ranked = sorted(scores, key=lambda i: -scores[i])
        hits: list[Hit] = []
        seen_groups: set[str] = set()
        for i in ranked:
            chunk = self.index.chunks[i]
            group = chunk.measure_no or chunk.chunk_id
            if group in seen_groups:
                continue
            seen_groups.add(group)
            hits.append(
                Hit(
                    chunk=chunk, score=scores[i], retrievers=tuple(sorted(found[i])),
                    bm25_score=bm25_scores.get(i, 0.0), dense_score=dense_scores.get(i, 0.0),
                )
            )
            if len(hits) >= k:
                break
        return RetrievalResult(
            hits=hits, exact_measures=exact, missing_measures=missing,
            top_dense=max(dense_scores.values(), default=0.0), top_bm25=max(bm25_scores.values(), default=0.0),
        )

    def sentence_hits(self, weights: Mapping[str, float], k: int = 30,
                      filters: dict[str, Any] | None = None) -> list[tuple[str, Hit]]:
        """The ``k`` sentences of the whole corpus holding the most weight of ``weights`` (a
        question's words), each with its chunk as a Hit (retriever ``"sentence"``).

        Passage retrieval ranks chunks as wholes: a fact stated in one sentence of a long 第1
        paragraph can lose to measures that merely share the topic. This looks at sentences alone,
        with the tokens stored with the index (nothing is tokenised here)."""
        postings = self._sentence_postings
        if postings is None:
            unique: dict[str, dict[tuple[int, str], None]] = {}
            for i, chunk in enumerate(self.index.chunks):
                for sent in chunk.sentences:
                    for tok in sent.tokens:
                        unique.setdefault(tok, {})[(i, sent.text)] = None
            postings = {tok: list(keys) for tok, keys in unique.items()}
            with self._lock:
                self._sentence_postings = postings
        allowed = self._allowed(normalize_filters(filters, self.index, self.catalog)) if filters else None
        held: dict[tuple[int, str], float] = {}
        for tok, weight in weights.items():
            found = postings.get(tok, ())
            if len(found) > SENTENCE_MAX_POSTINGS:
                continue
            for key in found:
                if allowed is None or key[0] in allowed:
                    held[key] = held.get(key, 0.0) + weight
        best = sorted(held.items(), key=lambda x: -x[1])[:k]
        return [(sent, Hit(self.index.chunks[i], score, ("sentence",))) for (i, sent), score in best]

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token over the indexed chunks (rare words weigh more)."""
        df_fn = getattr(self.index, "document_frequency", None)
        n = len(self.index.chunks)
        df = df_fn(token) if df_fn else 0
        return math.log(1 + (n - df + 0.5) / (df + 0.5))


class PlanRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain ``BaseRetriever`` (plugs into any LangChain chain).

    ``k`` and ``filters`` set on the object are defaults; both can be given per call::

        retriever.invoke("自治体システムの標準化", k=3, filters={"chapter": 1})

    Call-time filters are merged over the object's (a key given at call time wins).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: Any
    k: int = 10
    filters: dict[str, Any] | None = None

    @classmethod
    def from_settings(cls, settings: Any = None, **fields: Any) -> PlanRetriever:
        """A retriever over the index that ``settings`` names (``Settings.from_env()`` if None)."""
        from assistant.api import Assistant

        return cls(hybrid=Assistant(settings).retriever, **fields)

    def _search(self, query: str, k: int | None, filters: dict[str, Any] | None) -> list[LCDocument]:
        n = self.k if k is None else int(k)
        if n < 1:
            raise ValueError(f"k must be at least 1, got {k!r}")
        merged = {**(self.filters or {}), **(filters or {})} or None
        result = self.hybrid.retrieve(query, k=n, filters=merged)
        return [
            LCDocument(
                page_content=h.chunk.text,
                metadata={**h.chunk.metadata(), "score": h.score, "retrievers": list(h.retrievers)},
                id=h.chunk.chunk_id,
            )
            for h in result.hits
        ]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None, filters: dict[str, Any] | None = None,
    ) -> list[LCDocument]:
        return self._search(query, k, filters)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None, filters: dict[str, Any] | None = None,
    ) -> list[LCDocument]:
        # BaseRetriever's default drops call-time arguments on the async path: forward them.
        return await run_in_executor(None, self._search, query, k, filters)
