"""Stage 6: grounded, cited answers. Extractive by default; an LLM only when configured.

One turn flows through three modules, each readable alone:

* :mod:`assistant.understanding` — what is asked and what a follow-up refers to;
* :mod:`assistant.answerability` — whether the documents can answer it, and why not;
* :mod:`assistant.composition` — the lines of the answer, each with its citation.

This module wires them around retrieval and defines the result types, :class:`Answer` and
:class:`~assistant.composition.Citation`.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from assistant.answerability import (
    DEFAULT_MAX_UNKNOWN_SHARE,
    DEFAULT_MIN_COVERAGE,
    DEFAULT_MIN_DENSE,
    Refusal,
    coverage,
    edition_refusal,
    missing_fact_refusal,
    quoted_name_refusal,
    request_refusal,
    unheld_detail_refusal,
    unknown_terms_refusal,
    weak_evidence,
)
from assistant.catalog import Catalog, canonical_ministry
from assistant.chunking import Chunk, measure_text
from assistant.composition import (
    MAX_LIST,
    MAX_SUPPORT,
    Candidate,
    Citation,
    Composer,
    asked_figure,
    asked_items,
    defined_term,
    era_note,
    fragments,
    sentence_units,
    shared_figures,
    short_support,
    states_asked_figure,
)
from assistant.corpus import Document, search_key
from assistant.intents import MissingKind, load_intents
from assistant.questions import MAX_QUERY_CHARS
from assistant.retrieval import RARE_DF, Hit, HybridRetriever, RetrievalResult
from assistant.tokenizer import JapaneseTokenizer, synonym_terms
from assistant.understanding import (
    MINISTRY_PATTERN,
    QUESTION_WORDS,
    SCOPE_NOUNS,
    ConversationState,
    QueryTerms,
    QuestionAnalysis,
    TermAnalyzer,
    enumerated_items,
    is_content_word,
)

# A list names every measure about as close to the question as the closest one (dense similarity
# within LIST_NEAR of the best), and those a little further (within LIST_FAR) that hold at least
# LIST_MIN_SUPPORT of the words naming the subject. Calibrated on the dev suite's list items with
# evals/tools/calibrate_abstention.py --only lists.
# A prose passage answers a targets question instead of the measures only when its best sentence
# scores this much higher than theirs (the margin anchor_hit uses to leave the top passage).
PROSE_FIGURE_MARGIN = 1.5
LIST_NEAR = 0.01
LIST_FAR = 0.04
LIST_MIN_SUPPORT = 0.4
RELATED_MIN_SUPPORT = 0.5  # Answer.related names only measures holding half the subject's words
LIST_MAIN = 3  # a list not asked to be complete names its closest measures, at most this many
LIST_NEIGHBOURS = 2  # a complete list also takes the plan's neighbours of its measures (see plan_neighbours)
LIST_NEIGHBOUR_FAR = 0.05
# How many of the first passages a word the corpus barely uses is looked for in before the question
# counts as being about something the documents do not mention (answerability.unsupported_words).
RARE_WORD_PASSAGES = 5
LIST_NEIGHBOUR_SUPPORT = 0.2
# An item a list question enumerates (see enumerated_hits): searched this deep, its measure must hold
# this share of the item's naming words; at most this many items are searched.
ENUMERATED_DEPTH = 5
ENUMERATED_MIN_SUPPORT = 0.5
ENUMERATED_MAX_ITEMS = 8
# A list the search found at most this many measures for is completed by the measures saying its
# most specific word (see measures_saying).
LIST_SAYING_BELOW = 2
# A sentence found anywhere in the corpus leads the answer when it holds at least this share of the
# weight of the question's own words, and this much more than the answer's first quote holds.
STATED_MIN_SHARE = 0.7
STATED_MARGIN = 0.25
STATED_DEPTH = 30

# 「デジタル庁が主担当の施策は？」「総務省が担当している防災の取組」「デジ庁 主担当の施策 一覧」
# 「警察庁が主担当の施策」, or in a list question simply 「総務省の施策（を全部）」
# A list question asking for several measures in so many words (「どれがある？」「一覧で」「全部」),
# not for the measure or two closest to a topic (「…に関係する施策番号は？」).
_SEVERAL_ASKED_RE = re.compile(r"(どれ|どんな(もの|の)|何|どういう(もの|の))が(ある|あり)|一覧|全部|すべて|全て|洗い出|"
                               r"リストアップ|漏れなく|もれなく|網羅")
_MINISTRY_LIST_RE = re.compile(
    MINISTRY_PATTERN + r"\s*(?:(?:が|の)?\s*(?:主担当|担当|所管|主に担当)(?:して(?:いる|る))?[^。？?]{0,12}?|の\s*)"
    r"(?:施策|取組|取り組み|もの)"
)


@dataclass
class Answer:
    """The result of :func:`assistant.answer`."""

    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    mode: str = "extractive"  # or "llm"
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    notices: list[str] = field(default_factory=list)  # e.g. LLM fallback, removed citations
    state: ConversationState | None = None  # what the turn was taken to mean (follow-ups resolved)
    related: list[str] = field(default_factory=list)  # other measures on the subject, not in the text
    refusal: str | None = None  # why it was not answered: "task", "unknown_terms", "missing_fact" …

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        d = asdict(self)
        for c in d["citations"]:
            c["lead_ministries"] = list(c["lead_ministries"])
        return d

    @property
    def measure_nos(self) -> list[str]:
        out: list[str] = []
        for c in self.citations:
            if c.measure_no and c.measure_no not in out:
                out.append(c.measure_no)
        return out


# The detail asked of a measure is looked for only when one of its words is this rare (share of passages).
DETAIL_MAX_DF_SHARE = 0.1


# A follow-up pointing at a measure (前者, それ) is answered from it when its best sentence scores at
# least this share of the best sentence elsewhere.
FOCUS_ANCHOR_SHARE = 0.6

# 「AとB、それぞれ」: B's best measure may be A's already named, unless another scores this close to
# it and writes B's head noun too.
EACH_SAME_MEASURE_MARGIN = 0.8
# ... and what each thing named is, its head noun, weighs more than the words saying which one
HEAD_NOUN_WEIGHT = 2.0


class ExtractiveAnswerer:
    """Answers from the catalog and the retrieved passages, without a language model."""

    def __init__(
        self,
        catalog: Catalog,
        retriever: HybridRetriever,
        documents: Sequence[Document],
        tokenizer: JapaneseTokenizer,
        *,
        analyzer: TermAnalyzer | None = None,
        min_dense: float = DEFAULT_MIN_DENSE,
        min_coverage: float = DEFAULT_MIN_COVERAGE,
        max_unknown_share: float = DEFAULT_MAX_UNKNOWN_SHARE,
        top_k: int = 10,
    ) -> None:
        self.catalog = catalog
        self.retriever = retriever
        self.documents = {d.info.doc_id: d for d in documents}
        self.tokenizer = tokenizer
        self.analyzer = analyzer or TermAnalyzer(
            tokenizer, retriever.synonyms, getattr(retriever.index, "document_frequency", None),
            len(retriever.index.chunks),
        )
        self.composer = Composer(catalog, documents, tokenizer)
        # Sentence tokens come with the index (computed when it was built): neither loading nor a
        # question pays for tokenising the passages it quotes.
        self.composer.seed_tokens(retriever.index.chunks, retriever.index.manifest.get("tokenizer_version"))
        self.min_dense = min_dense
        self.min_coverage = min_coverage
        self.max_unknown_share = max_unknown_share
        self.top_k = top_k
        self.editions = sorted({d.info.edition for d in documents})
        self.intents = load_intents()
        self._corpus_key: str | None = None  # every document's search key, built on first use
        # Each measure's first chunk: what a list built from the catalog cites; and all its chunks
        # (body and 工程表): where a detail asked of it would be stated.
        self.measure_chunks: dict[str, Chunk] = {}
        self.chunks_of_measure: dict[str, list[Chunk]] = {}
        for chunk in retriever.index.chunks:
            if chunk.measure_no:
                self.chunks_of_measure.setdefault(chunk.measure_no, []).append(chunk)
                if chunk.kind == "measure":
                    self.measure_chunks.setdefault(chunk.measure_no, chunk)

    # -- evidence -----------------------------------------------------------------------------

    def chunk_tokens(self, hit: Hit) -> frozenset[str]:
        """Tokens of a chunk as retrieval saw it (with its header), from the composer's token cache."""
        return self.composer.tokens_of(hit.chunk.embed_text)

    def top_tokens(self, hits: Sequence[Hit], n: int = 3) -> set[str]:
        """Every token of the top ``n`` passages: what the question's words are looked for in."""
        out: set[str] = set()
        for h in hits[:n]:
            out |= self.chunk_tokens(h)
        return out

    def corpus_contains(self, text: str) -> bool:
        """Whether any document holds ``text`` (NFKC, whitespace and letter case ignored)."""
        if self._corpus_key is None:
            self._corpus_key = "\n".join(d.index.key.casefold() for d in self.documents.values())
        return search_key(text).casefold() in self._corpus_key

    def is_phrase(self, text: str) -> bool:
        """Whether ``text`` reads as a phrase (it holds a particle or an auxiliary), not a name."""
        return any(m.pos1 in ("助詞", "助動詞") for m in self.tokenizer.morphemes(text))

    def coverage(self, analysis: QuestionAnalysis, hits: Sequence[Hit]) -> float:
        """Share of the question's content words found in the top passages (synonyms included)."""
        assert analysis.terms is not None
        return coverage(analysis.terms, self.top_tokens(hits))

    def ministry_constraint(self, analysis: QuestionAnalysis) -> str | None:
        """A lead ministry the question restricts a list to (「Xが主担当の施策」), if any."""
        found = self._ministry_asked(analysis)
        return found[0] if found else None

    def _ministry_asked(self, analysis: QuestionAnalysis) -> tuple[str, str] | None:
        """(canonical name, as written) of the lead ministry a list is restricted to."""
        if analysis.measure_nos or analysis.referenced_measures:
            return None
        text = analysis.normalized
        m = _MINISTRY_LIST_RE.search(text)
        if m is None:
            return None
        # The generic pattern stops at a particle-like kana inside a name (こ|ども家庭庁 → 家庭庁):
        # a lead ministry of the catalog that ends where the match does is the one written.
        whole = next((name for name in sorted(self.catalog.lead_ministries, key=len, reverse=True)
                      if text.endswith(name, 0, m.end(1))), None)
        return (whole, whole) if whole is not None else self._lead(m.group(1))

    def _lead(self, written: str) -> tuple[str, str] | None:
        """(canonical name, as written) when ``written`` names a ministry that leads measures."""
        name = canonical_ministry(written)
        return (name, written) if name in self.catalog.lead_ministries else None

    def ministry_measures(self, analysis: QuestionAnalysis) -> tuple[str, list[Hit]] | None:
        """「こども家庭庁が主担当の施策は？」 with no subject besides the ministry (or a chapter of 第2):
        every measure it leads, from the catalog (in the plan's order), rather than the few a search
        ranks first; with the heading's words for it (「経済産業省が主担当の第3章の」)."""
        found = self._ministry_asked(analysis)
        if found is None or (analysis.state is not None and "subject" in analysis.state.inherited):
            return None  # a follow-up restricting the earlier subject lists that subject's measures
        name, written = found
        rest = analysis.normalized.replace(written, " ").replace(name, " ")
        chapter = _CHAPTER_RE.search(rest)
        if chapter is None and any(t not in QUESTION_WORDS for t in self.tokenizer.naming_nouns(rest)):
            return None  # 「総務省が担当している防災の取組」: a subject within the ministry's measures
        # 「総務省が主担当の施策で、第4章にあるもの」: the chapter says which (words describing
        # what the chapter is about, 「…みたいな第1章の」, say nothing more)
        first_chunk = self.measure_chunks
        hits = [Hit(first_chunk[no], 1.0, ("catalog",)) for no, m in self.catalog.measures.items()
                if name in m.lead_ministries and no in first_chunk
                and (chapter is None or no.split("-")[0] == str(int(chapter.group(1))))]
        label = f"{name}が主担当の" + (f"第{int(chapter.group(1))}章の" if chapter else "")
        return (label, hits) if hits else None

    # -- refusals -------------------------------------------------------------------------------

    def refused(self, refusal: Refusal, context: tuple[list[str], list[Citation]] | None = None) -> tuple[str, list[Citation], Refusal]:
        """The answer text of a refusal: the reason, what the documents do hold, what to ask."""
        lines = [refusal.reason]
        cites: list[Citation] = []
        if context and context[0]:
            lines += context[0]
            cites = context[1]
        elif refusal.offer:
            lines.append(refusal.offer)
        return "\n".join(lines), cites, refusal

    def nationwide_measure(self, terms: QueryTerms, refusal: Refusal, hits: Sequence[Hit]) -> tuple[list[str], list[Citation]] | None:
        """A question about a place or an organisation the plan never names (「沖縄の離島の
        スマートアイランド」) may still have a measure on the rest of its subject: the first passage
        found, when it is a measure holding every other naming word, is named after the refusal
        (the plan's own, national measure), with the usual offer."""
        absent = set(refusal.detail.split(","))
        if refusal.kind != "unknown_terms" or not absent & set(terms.names):
            return None
        aspects = self.intents.explained  # 事例, 状況: what is asked of the subject, not the subject
        rest = [w for w in terms.naming if w not in absent and not (aspects and aspects.search(w))]
        top = next((h for h in hits[:1] if h.chunk.measure_no), None)
        if not rest or top is None or not all(w in self.chunk_tokens(top) for w in rest):
            return None
        m = self.catalog.measures[top.chunk.measure_no]
        line = (f"なお、全国を対象とする施策として No. {m.measure_no}「{m.title}」（主担当: "
                f"{'、'.join(m.lead_ministries) or '—'}）があります。 [No. {m.measure_no}]")
        return [line, refusal.offer], [self.composer.title_citation(m, top.score)]

    def stated_instead(self, measure_no: str, terms: Any) -> tuple[list[str], list[Citation]]:
        """What the plan does state about a measure whose asked-for fact it lacks: its target or gist."""
        m = self.catalog.measures[measure_no]
        ref = f"[No. {m.measure_no}]"
        lines = [f"計画に記載があるのは次の点です（No. {m.measure_no}「{m.title}」、主担当: "
                 f"{'、'.join(m.lead_ministries) or '—'}）。"]
        if m.targets:
            quote = m.targets[0].lstrip("・- ")
            lines.append(f"具体的な目標: {quote} {ref}")
        else:
            quote = self.composer.key_sentence(m, terms)
            lines.append(f"取組の内容: {quote} {ref}")
        if m.roadmap:
            lines.append(f"工程表: {m.roadmap[0].heading} {ref}")
        return lines, [self.composer.measure_citation(m, quote, 1.0)]

    # -- composition ----------------------------------------------------------------------------

    def compose(self, analysis: QuestionAnalysis, result: RetrievalResult,
                filters: dict | None = None) -> tuple[str, list[Citation], Refusal | None]:
        """The answer text, its citations and the refusal, if the turn is not answered."""
        terms = analysis.terms
        assert terms is not None
        composer = self.composer
        # A number that does not exist: say so and offer the nearest ones.
        if analysis.measure_nos and not result.exact_measures:
            missing = analysis.measure_nos[0]
            near = "、".join(f"No. {n}" for n in self.catalog.nearest(missing))
            return self.refused(Refusal("unknown_measure", f"No. {missing} という施策は計画にありません。近い番号: {near}。"))

        targets = list(result.exact_measures) or list(analysis.referenced_measures)
        top_tokens = self.top_tokens(result.hits)
        numeric = asked_figure(analysis.normalized)
        # (a follow-up about a measure in focus may ask what a word means: 「そのなかで「X」って？」)
        term = defined_term(analysis.normalized) if not result.exact_measures and analysis.request is None else None
        definition = composer.definition(term) if term else None
        if definition is not None:
            # 「Xとは？」 answered by the documents' own definition (a footnote, a ※ note), then the
            # best passages about it.
            lines, cites = composer.answer_definition(definition, definition.term)
            # (工程表 rows are table cells: their sentences are not quotable as they stand.)
            prose = [h for h in result.hits if h.chunk.kind != "roadmap"]
            more, more_cites = composer.answer_sections(prose, terms, numeric) if prose else ([], [])
            lines += [x for x in more if definition.text not in x][:MAX_SUPPORT - 1]
            return "\n".join(lines), cites + more_cites[: MAX_SUPPORT - 1], None
        if not targets:
            # Whether the documents speak of the question's words is judged on the ranking without
            # the passages a rare word pinned (they hold it by design). Those, and the next few
            # passages (the one naming 「イスラエル」 in 第5 may rank below the topic's main passages),
            # count when they hold the rest of the subject too (unsupported_words).
            plain = result.unpinned if result.unpinned is not None else result.hits
            further = [self.chunk_tokens(h) for h in plain[3:RARE_WORD_PASSAGES]]
            further += [self.chunk_tokens(h) for h in result.hits[:RARE_WORD_PASSAGES] if "pinned" in h.retrievers]
            refusal = quoted_name_refusal(analysis.text, self.corpus_contains, self.is_phrase) or \
                unknown_terms_refusal(analysis, self.analyzer,
                                      top_tokens if plain is result.hits else self.top_tokens(plain),
                                      self.max_unknown_share,
                                      self.intents.explained, further, top_dense=result.top_dense)
            if refusal is not None:
                return self.refused(refusal, self.nationwide_measure(terms, refusal, plain))
        evidence_hits: list[Hit] = []
        if analysis.missing is not None:
            refusal, evidence_hits = self.missing_fact(analysis, result, targets)
            # The measure found lacks the fact, but a sentence elsewhere may state it with the
            # question's words (「GビズIDは2025年3月末時点で約125万者が利用」 in 第1).
            stated = self.stated_answer(terms, numeric, kind=analysis.missing) if refusal is not None and not targets else None
            if stated is not None:
                return stated
            if refusal is not None:
                about = targets[0] if targets else self.fitting_measure(analysis, result)
                if about is None:
                    return self.refused(refusal)
                m = self.catalog.measures[about]
                if "targets" in analysis.missing.unless_fields and any(analysis.missing.stated_in(t) for t in m.targets):
                    # 「デジタル推進委員は何人？」: the plan states the number as a target (5万人の任命):
                    # that is the figure it has, so it answers, as a target.
                    lines, cites = composer.answer_measure(m, ["targets"], terms, 1.0, numeric=True)
                    return "\n".join(lines), cites, None
                refusal = Refusal(refusal.kind, f"No. {m.measure_no}「{m.title}」について、ご質問の"
                                  f"{analysis.missing.label}は計画に記載がありません。", measure_no=about,
                                  detail=refusal.detail)
                return self.refused(refusal, self.stated_instead(about, terms))

        elif not (analysis.state is not None and analysis.state.each):
            refusal = self.unheld_detail(analysis, result, targets)
            # (a sentence answers only if it speaks of the detail asked: 罰則 of 「…に罰則はある？」)
            stated = self.stated_answer(terms, numeric, holding=analysis.asked_detail) \
                if refusal is not None and not targets else None
            if stated is not None:
                return stated
            if refusal is not None and refusal.measure_no is not None:
                return self.refused(refusal, self.stated_instead(refusal.measure_no, terms))

        if evidence_hits and analysis.missing is not None and analysis.missing.evidence is not None:
            # The passages that state the kind of fact asked for (a figure as of a date) answer it.
            lines, cites = composer.answer_evidence(evidence_hits, terms, analysis.missing, self.subject_weights(analysis))
            if lines:
                return "\n".join(lines), cites, None
        if not targets and analysis.state is not None and analysis.state.each:
            each = self.answer_each(analysis, result, numeric)
            if each is not None:
                return each
        if targets:
            lines: list[str] = []
            cites: list[Citation] = []
            for no in targets[:3]:
                more, c = composer.answer_measure(self.catalog.measures[no], analysis.fields, terms, 1.0, numeric=numeric)
                lines += more
                cites += c
            return "\n".join(lines), cites, None

        if weak_evidence(analysis, result, coverage(terms, top_tokens),
                         min_dense=self.min_dense, min_coverage=self.min_coverage):
            return self.refused(Refusal("weak_evidence", "ご質問の内容は、重点計画と関連資料には記載が見つかりませんでした（計画には記載がありません）。"))

        hits = result.hits
        # A question about an older edition is answered from that document, not from measures.
        older = analysis.preferred_doc not in (None, self.catalog.doc_id) or (
            analysis.preferred_edition is not None and analysis.preferred_edition != max(self.editions)
        )
        led = self.ministry_measures(analysis) if analysis.intent == "list" and not older else None
        listed = self.list_hits(analysis, result, filters) if analysis.intent == "list" and not older and not led else []
        if led:
            label, measures = led
            lines, cites = composer.render_list(measures, terms, heading=f"{label}施策は計{len(measures)}件です"
                                                + ("（施策番号順）" if len(measures) > 1 else ""))
        elif listed:
            topic = analysis.state.subject if analysis.state else ""
            lines, cites = composer.render_list(listed, terms, topic)
        elif analysis.intent in ("lead", "targets") and hits[0].chunk.kind == "procedure" and not older \
                and self.procedure_answers(hits, terms, numeric):
            # A 第4 procedure group has its own KPI and lead ministry (◎): it answers these fields.
            lines, cites = composer.answer_procedure(hits[0], terms, analysis.fields, numeric)
        elif analysis.intent == "targets" and hits[0].chunk.kind == "section" and not older \
                and composer.best_score(hits[0], terms, numeric) > PROSE_FIGURE_MARGIN * max(
                    (composer.best_score(h, terms, numeric) for h in hits[1:3] if h.chunk.measure_no), default=0.0):
            # 「高齢化率の見込みは？」: a figure the plan's prose projects (第1, 第5), not a measure's
            # target — the prose passage retrieval put first states it clearly better than the
            # measures (a measure's target is the answer when they are close).
            prose = [h for h in hits if h.chunk.kind == "section"]
            lines, cites = composer.answer_sections(prose, terms, numeric, edition=max(self.editions))
        elif analysis.intent == "roadmap" and not terms.naming and not terms.synonym_weights and (
                preface := [h for h in hits if h.chunk.kind == "section" and h.chunk.section.startswith("第3")]):
            # 「第3の工程表って何？」 names no subject besides the 工程表: its preface answers (what it
            # shows, its columns and periods), not the first measure's rows.
            lines, cites = composer.answer_sections(preface, terms, numeric)
        elif analysis.intent in ("lead", "related", "targets", "roadmap", "page") and not older and any(
            h.chunk.measure_no for h in hits[:3]
        ):
            # These fields exist only for measures: the measure among the top passages whose best
            # sentence answers the question best (the first one unless another is clearly better).
            measures = [h for h in hits[:3] if h.chunk.measure_no]
            if measures[0].chunk.measure_no in analysis.context_measures or self.title_holds_subject(analysis, measures[0]):
                # the measure under discussion still fits (see retrieve), or its title says the subject
                # (「ガバクラへの移行の目標」: No. 3-80, not a system whose target mentions its move)
                top = measures[0]
            else:
                # (a "similar" follow-up is chosen by its new field's words, see Understanding.analyse)
                choosing = terms.focused() if analysis.state is not None and analysis.state.resolution == "similar" else terms
                top = composer.anchor_hit(self.holding_distinctive(choosing, measures), choosing, numeric)
            m = self.catalog.measures[top.chunk.measure_no]
            absent = self.absent_compound(analysis, m) if top.chunk.measure_no not in analysis.context_measures else None
            if absent is not None:
                # 「自動運転保険の担当はどこ？」: the measure found is about 自動運転, not about the
                # insurance the question makes of it — no document speaks of that.
                return self.refused(Refusal("unknown_terms", f"計画には『{absent}』に関する記載がありません。",
                                            measure_no=m.measure_no, detail=absent),
                                    self.stated_instead(m.measure_no, terms))
            lines, cites = composer.answer_measure(m, analysis.fields, terms, top.score, numeric=numeric)
            if analysis.intent == "targets" and hits[0].chunk.kind == "procedure" and lines:
                # Retrieval put a 第4 procedure group first: its KPI is the plan's other target for
                # the same thing (the procedure's share online beside the measure's system date).
                more, more_cites = composer.answer_procedure(hits[0], terms, analysis.fields, numeric)
                lines = lines[:MAX_SUPPORT] + more[:1]
                cites = cites + more_cites[:1]
        else:
            # The passage holding the sentence that best answers the question decides the form
            # of the answer, not just the fused rank: a 第1 paragraph with the figure asked for
            # beats a measure that merely shares the topic.
            anchor = composer.anchor_hit(hits, terms, numeric)
            held = [h for h in hits if h.chunk.measure_no in analysis.context_measures]
            if held and anchor not in held and analysis.state is not None \
                    and analysis.state.resolution in ("ordinal", "reference", "ellipsis", "aspect"):
                # 「前者は、2024年度から何を始めたの？」: the measure pointed at answers when one of its
                # sentences does nearly as well as another document's (the 2024 summary's 「2024年度から
                # 新たに開始」 is about something else)
                own = composer.anchor_hit(held, terms, numeric)
                if composer.best_score(own, terms, numeric) >= FOCUS_ANCHOR_SHARE * composer.best_score(anchor, terms, numeric):
                    anchor = own
            if anchor.chunk.kind in ("measure", "roadmap") and anchor.chunk.measure_no:
                m = self.catalog.measures[anchor.chunk.measure_no]
                fields = ["roadmap"] if anchor.chunk.kind == "roadmap" and analysis.intent == "roadmap" else \
                    ["name"] if analysis.intent == "name" else ["what"]
                lines, cites = composer.answer_measure(m, fields, terms, anchor.score, numeric=numeric)
                first = hits[0]
                if first.chunk.kind == "section" and first is not anchor and lines and not older:
                    # Retrieval put a passage of the plan's prose first: its best sentence is the
                    # plan's own account of the subject beside the measure's (「最高位の身分証」).
                    more, more_cites = composer.answer_sections([first], terms, numeric)
                    lines = lines[:MAX_SUPPORT] + more[:1]
                    cites = cites + more_cites[:1]
            elif anchor.chunk.kind == "procedure":
                lines, cites = composer.answer_procedure(anchor, terms, analysis.fields, numeric)
            else:
                rest = [h for h in hits if h is not anchor]
                lines, cites = composer.answer_sections([anchor, *rest], terms, numeric,
                                                        edition=None if older else max(self.editions))
        if not lines:
            return self.refused(Refusal("weak_evidence", "計画には記載が見つかりませんでした。"))
        if analysis.intent != "list" and (analysis.intent != "roadmap" or numeric) and not older and not led:
            lines, cites = self.led_by_stating_sentence(terms, lines, cites, numeric, analysis.fields)
        if analysis.intent != "list":
            lines = [lines[0], *(short_support(x) for x in lines[1:])] if lines else lines
        return "\n".join(lines), cites, None

    def word_share(self, terms: QueryTerms, text: str, context: str = "") -> float:
        """Share of the weight of the words the user typed that ``text`` holds (a staff term counts
        when the plan's wording for it is there); ``context``: the title or section the text is
        shown under, which says what it is about (「10. 旅券の発給申請等」 for a KPI line)."""
        toks = self.composer.tokens_of(text)
        if context:
            toks = toks | self.composer.tokens_of(context)
        typed = {w: v for w, v in terms.weights.items() if w in terms.content}
        total = sum(typed.values())
        held = sum(v for w, v in typed.items()
                   if w in toks or any(wording <= toks for wording in terms.synonym_words.get(w, ())))
        return held / total if total else 0.0

    def led_by_stating_sentence(self, terms: QueryTerms, lines: list[str], cites: list[Citation],
                                numeric: bool | str, fields: Sequence[str] = ()) -> tuple[list[str], list[Citation]]:
        """The answer led by the corpus sentence that states what was asked, when the passage the
        answer quotes first does not.

        「ガバメントクラウドの利用を自治体が検証し始めた年度は？」: the sentence holding
        every one of those words sits in a long 第1 paragraph that passage retrieval ranks below the
        measure on ガバメントクラウド, whose quoted target holds one of them. A measure already
        quoted for the field asked (its target line) keeps its own choice."""
        if not cites or not terms.content:
            return lines, cites
        first = cites[0]
        have = self.word_share(terms, first.quote, f"{first.title} {first.section.split(' > ')[-1]}")
        targets = "targets" in fields
        skip = {c.measure_no for c in cites if c.measure_no} if targets else set()
        # (likewise a 第4 procedure group whose KPI was quoted for a target asked)
        skip_sections = {(c.doc_id, c.section) for c in cites if not c.measure_no} if targets else set()
        found = self.stating_sentence(terms, numeric, above=have + STATED_MARGIN,
                                      quoted={c.quote for c in cites}, skip_measures=skip,
                                      skip_sections=skip_sections)
        if found is None:
            return lines, cites
        line, cite = self.composer.stated_line(*found)
        if "lead" in fields[:1] or "related" in fields[:1]:
            # the ministry asked for stays the first line; the sentence supports it
            return [lines[0], line, *lines[1:MAX_SUPPORT]], [cites[0], cite, *cites[1:]]
        return [line, *lines[:MAX_SUPPORT]], [cite, *cites]

    def stated_answer(self, terms: QueryTerms, numeric: bool | str,
                      **conditions: Any) -> tuple[str, list[Citation], None] | None:
        """The answer that is the one corpus sentence stating what was asked (see stating_sentence,
        which ``conditions`` go to), instead of a refusal; None when no sentence states it."""
        found = self.stating_sentence(terms, numeric, **conditions)
        if found is None:
            return None
        line, cite = self.composer.stated_line(*found)
        return line, [cite], None

    def stating_sentence(self, terms: QueryTerms, numeric: bool | str, *, above: float = 0.0,
                         quoted: set[str] | frozenset[str] = frozenset(), skip_measures: set[str] | None = None,
                         skip_sections: set[tuple[str, str]] | None = None,
                         kind: MissingKind | None = None, holding: str | None = None) -> tuple[Hit, str] | None:
        """The sentence of the whole corpus that best states what the question asks: it holds at
        least STATED_MIN_SHARE (and more than ``above``) of the weight of the words the user typed,
        a figure of the kind asked for, and, for a kind of fact plans often lack (``kind``), that
        fact (its evidence pattern), and the words of ``holding`` (a detail asked). None when no
        sentence does."""
        if not terms.content:
            return None
        needed = self.composer.tokens_of(holding) - QUESTION_WORDS if holding else frozenset()
        best: tuple[float, str, Hit] | None = None
        items = asked_items(terms.text)
        found = list(self.retriever.sentence_hits(terms.weights, k=STATED_DEPTH))
        cut = fragments(sent for sent, _hit in found)  # only a sentence found whole is quoted
        for sent, hit in found:
            if sent in quoted or sent in cut or hit.chunk.kind == "roadmap" or (skip_measures and hit.chunk.measure_no in skip_measures):
                continue
            if self.composer.is_fragment(sent):
                continue  # 「）に定める…」: the rest of a sentence, not one that states anything alone
            if items and not any(item in sent for item in items):
                continue  # 「第10条は？」: only the sentence holding that very item states it
            if skip_sections and (hit.doc_id, hit.section) in skip_sections:
                continue
            share = self.word_share(terms, sent)
            if share < STATED_MIN_SHARE or share < above:
                continue
            if numeric and not states_asked_figure(sent, numeric):
                continue
            if kind is not None and not (kind.evidence is not None and self.composer.holds_evidence([sent], kind)):
                continue
            if needed and not needed <= self.composer.tokens_of(sent):
                continue
            score = self.composer.score(terms, Candidate(sent, "body", 0), numeric=numeric)
            if best is None or score > best[0]:
                best = (score, sent, hit)
        return (best[2], best[1]) if best is not None else None

    def procedure_answers(self, hits: Sequence[Hit], terms: QueryTerms, numeric: bool) -> bool:
        """Whether the 第4 procedure group retrieval put first answers rather than the measures after
        it: its best sentence is better than theirs, and no such measure states the same figure (a
        KPI both list is cited from the measure, the plan's unit of citation)."""
        composer = self.composer
        score, sentence = composer.best_sentence(hits[0], terms, numeric)
        for h in hits[1:3]:
            if not h.chunk.measure_no:
                continue
            other, other_sentence = composer.best_sentence(h, terms, numeric)
            if other >= score or shared_figures(sentence, other_sentence):
                return False
        return True

    def list_support(self, analysis: QuestionAnalysis, hit: Hit, terms: QueryTerms | None = None) -> float:
        """Share of the weight of the words naming a list's subject that a measure holds.

        A staff term (ガバクラ) counts as held when the plan's wording for it is. ``terms``: the
        subject's terms when they are not the turn's own (a subject inherited by a follow-up).
        """
        terms = terms or analysis.terms
        assert terms is not None
        return self.list_support_of(terms, hit)

    def list_support_of(self, terms: QueryTerms, hit: Hit) -> float:
        """Share of the weight of ``terms``' naming words (and staff terms) that ``hit`` holds."""
        toks = self.chunk_tokens(hit)
        total = held = 0.0
        for w in terms.naming:
            weight = self.analyzer.idf(w)
            total += weight
            held += weight if w in toks else 0.0
        for term, weight in terms.synonym_weights.items():
            total += weight
            # (held as typed too: 地方創生 is the plan's word as well as the key of 地方創生2.0)
            held += weight if term in toks or any(wording <= toks for wording in terms.synonym_words.get(term, ())) else 0.0
        return held / total if total > 0 else 0.0

    def related_hits(self, analysis: QuestionAnalysis, hits: Sequence[Hit]) -> list[Hit]:
        """Measures worth naming after the answer: those holding most of what names the subject."""
        if analysis.terms is None or not (analysis.terms.naming or analysis.terms.synonym_weights):
            return list(hits)
        return [h for h in hits if self.list_support(analysis, h) >= RELATED_MIN_SUPPORT]

    def list_hits(self, analysis: QuestionAnalysis, result: RetrievalResult, filters: dict | None) -> list[Hit]:
        """The measures a list question asks for: every one that clears the relevance bar, best first.

        A search restricted to measures, deeper than the answer's, so that a long list is complete;
        a measure qualifies by its closeness to the question and the words naming the subject it holds
        (LIST_NEAR, LIST_FAR, LIST_MIN_SUPPORT).
        """
        eff = dict(filters or {})
        if analysis.state is not None:
            eff.update(analysis.state.filters)
        eff["kind"] = "measure"
        found = self.retriever.retrieve(analysis.retrieval_query, k=30, filters=eff).hits
        state = analysis.state
        if state is not None and state.resolution == "similar":
            # The resolved query reads mostly like the earlier subject (its field included); the
            # turn's own words name the new field and often the shared aspect (「同じような人材育成を、
            # 農業の分野でも？」): both searches count, the turn's own first.
            own = self.retriever.retrieve(analysis.normalized[:MAX_QUERY_CHARS], k=30, filters=eff).hits
            found = fuse_rankings([own, found])
        if state is not None and state.exclude:
            found = [h for h in found if h.chunk.measure_no not in state.exclude]
        if state is not None and state.require:
            # 「似た施策で、医療分野のものは？」: only measures in the field it names, those whose
            # title names it first (the query still reads mostly like the earlier subject).
            found = self.holding_required(state, found) or found
            wanted = set(state.require)
            found.sort(key=lambda h: not wanted & self.composer.tokens_of(h.chunk.measure_title))
        if not found:
            return [h for h in result.hits if h.chunk.measure_no]
        quoting = self.measures_quoting(analysis, found) if state is None or not state.is_followup else []
        if quoting:
            return quoting
        if state is not None and state.resolution == "more":
            # 「他には？」: the next measures on the subject, not only those as close as the best of them.
            return [h for h in found if self.list_support(analysis, h) >= LIST_MIN_SUPPORT][:LIST_MAIN] or found[:LIST_MAIN]
        if state is not None and state.resolution == "refine" and (state.filters or state.exclude):
            # 「そのうち警察庁のものは？」「文科省以外は？」: the search is already restricted to the
            # ministry's measures (or to the others), so every one holding the subject is asked for.
            subject = self.analyzer.terms(state.subject, subject=state.subject)
            held = [h for h in found if self.list_support(analysis, h, subject) >= LIST_MIN_SUPPORT]
            return held if state.exhaustive or len(held) <= MAX_LIST else held[:MAX_LIST]
        best = max(h.dense_score for h in found)
        keep = [h for h in found if h.dense_score >= best - LIST_NEAR
                or (h.dense_score >= best - LIST_FAR and self.list_support(analysis, h) >= LIST_MIN_SUPPORT)]
        keep = keep or found[:3]
        items = enumerated_items(analysis.normalized)
        # 「研究の基盤（スパコン、放射光施設、研究データの共有など）の施策」: each thing the question
        # enumerates is searched on its own, and its best measure joins the list (one search for the
        # whole question finds the measures of its commonest items only).
        named = self.enumerated_hits(items, eff, keep) if items else []
        if LIST_NEIGHBOURS and state is not None and state.exhaustive:
            keep += [h for h in self.plan_neighbours(keep, found, best)
                     if self.list_support(analysis, h) >= LIST_NEIGHBOUR_SUPPORT]
        # 「どんな施策がある？」 asks for the main measures, a handful; 「全部」「一覧」 for all of them.
        # (Naming up to six close ones for the former raised dev list recall 0.619 → 0.659 but cost
        # 0.02 of citation precision on the topic questions with one or two measures.)
        main = keep + named if state is not None and state.exhaustive else keep[:LIST_MAIN] + named
        if len(main) <= LIST_SAYING_BELOW and set(eff) == {"kind"} and (state is None or state.resolution == "new") \
                and _SEVERAL_ASKED_RE.search(analysis.normalized):
            # 「満足度を指標にしてる施策は？」: a property that cuts across topics — the search by
            # topic finds one or two of the measures saying it; all of them join the list.
            listed = {h.chunk.measure_no for h in main}
            main += [h for h in self.measures_saying(analysis.terms, found)[1] if h.chunk.measure_no not in listed]
        return main

    def measures_quoting(self, analysis: QuestionAnalysis, found: Sequence[Hit]) -> list[Hit]:
        """「「デジタル公共財」が出てくる施策を全部」: a list question quoting a phrase asks for the
        measures whose text holds it — every one, when 1 to MAX_LIST do (・ and spaces aside:
        ワットビット連携 is the same phrase); ordered as the search ranked them, then by number."""
        phrases = [_phrase_key(m.group(1)) for m in _QUOTED_RE.finditer(analysis.normalized)
                   if _MENTIONS_RE.match(analysis.normalized, m.end())]
        phrases = [p for p in phrases if len(p) >= 3]
        if not phrases:
            return []
        holding = [no for no, m in self.catalog.measures.items()
                   if all(p in _phrase_key(measure_text(m)) for p in phrases)]
        return self.in_search_order(holding, found) if 1 <= len(holding) <= MAX_LIST else []

    def in_search_order(self, measure_nos: Sequence[str], found: Sequence[Hit]) -> list[Hit]:
        """A hit for each measure, ordered as the search ranked them (``found``), then by number."""
        rank = {h.chunk.measure_no: i for i, h in enumerate(found)}
        ordered = sorted(measure_nos, key=lambda no: (rank.get(no, len(rank)), self.catalog.measures[no].sort_key))
        by_no = {h.chunk.measure_no: h for h in found}
        hits = [by_no.get(no) or self.retriever.measure_hit(no) for no in ordered]
        return [h for h in hits if h is not None]

    def measures_saying(self, terms: QueryTerms | None, found: Sequence[Hit]) -> tuple[str, list[Hit]]:
        """Every measure whose own text holds the list question's most specific naming word, when
        that word is held by 2 to MAX_LIST measures (「ダッシュボード」「稼働率」「事例集」); ordered as
        the search ranked them, then by number. Empty when no word qualifies (「防災」 is in dozens of
        measures: the search's relevance bar decides such lists). A compound the tokenizer adds
        counts as a word (稼働率 of 稼働 + 率)."""
        if terms is None or not terms.naming:
            return "", []
        best: list[str] = []
        chosen = ""
        words = [*terms.naming, *(t for t in terms.content if t not in terms.naming and any(n in t for n in terms.naming))]
        for word in dict.fromkeys(words):
            if len(word) < 2 or word not in terms.content:
                continue
            holding = [no for no, chunks in self.chunks_of_measure.items()
                       if any(c.kind == "measure" and word in self.composer.tokens_of(c.embed_text) for c in chunks)]
            if 2 <= len(holding) <= MAX_LIST and (not best or len(holding) < len(best)):
                best, chosen = holding, word
        return chosen, self.in_search_order(best, found)

    def enumerated_hits(self, items: Sequence[str], filters: dict, keep: Sequence[Hit]) -> list[Hit]:
        """For each item a list question enumerates, the first measure a search for it finds that
        holds at least ENUMERATED_MIN_SUPPORT of the item's naming words, unless already listed."""
        seen = {h.chunk.measure_no for h in keep}
        out: list[Hit] = []
        for item in items[:ENUMERATED_MAX_ITEMS]:
            terms = self.analyzer.terms(item, subject=item)
            if not (terms.naming or terms.synonym_weights):
                continue
            for h in self.retriever.retrieve(item, k=ENUMERATED_DEPTH, filters=filters).hits:
                if h.chunk.measure_no and self.list_support_of(terms, h) >= ENUMERATED_MIN_SUPPORT:
                    if h.chunk.measure_no not in seen:
                        seen.add(h.chunk.measure_no)
                        out.append(h)
                    break
        return out

    def plan_neighbours(self, keep: Sequence[Hit], found: Sequence[Hit], best: float) -> list[Hit]:
        """Measures the plan numbers next to a listed one (same chapter, at most LIST_NEIGHBOURS
        apart) that the search found too, not much further than the bar: the plan groups the
        measures of one subject together (3-56 … 3-64 for children), so a neighbour of a listed
        measure that the search also turned up is most likely on the subject."""
        def number(no: str) -> tuple[int, int]:
            chapter, n = no.split("-")
            return int(chapter), int(n)

        kept = {number(h.chunk.measure_no) for h in keep if h.chunk.measure_no}
        out = []
        for h in found:
            if h in keep or not h.chunk.measure_no or h.dense_score < best - LIST_NEIGHBOUR_FAR:
                continue
            chapter, n = number(h.chunk.measure_no)
            if any(c == chapter and 0 < abs(k - n) <= LIST_NEIGHBOURS for c, k in kept):
                out.append(h)
        return out

    def answer_each(self, analysis: QuestionAnalysis, result: RetrievalResult,
                    numeric: bool) -> tuple[str, list[Citation], Refusal | None] | None:
        """「AとB、それぞれ教えて」: one search and one answer per thing named, in the user's order."""
        state = analysis.state
        assert state is not None and analysis.terms is not None
        field_words = self.intents.field_query(analysis.fields)
        lines: list[str] = []
        cites: list[Citation] = []
        used: set[str] = set()
        merged: list[Hit] = []
        for name in state.named[:3]:
            sub = self.retriever.retrieve(f"{name} {field_words}".strip(), k=10, phrases=(name,))
            top, score = self.best_measure_scored(name, sub.hits)
            if top is not None and top.chunk.measure_no in used:
                # Two things named may be one measure's (e-Stat and the statistics training, both in
                # 2-18): the measure is named again for the second unless another fits it nearly as well.
                other, other_score = self.best_measure_scored(
                    name, [h for h in sub.hits if h.chunk.measure_no not in used])
                if other is not None and other_score >= EACH_SAME_MEASURE_MARGIN * score \
                        and (self.writes_head(name, other) or not self.writes_head(name, top)):
                    top = other
            if top is None:
                continue
            again = top.chunk.measure_no in used
            used.add(top.chunk.measure_no)
            if not again:
                merged.append(top)
            m = self.catalog.measures[top.chunk.measure_no]
            # each thing named gets its answer and one supporting line, chosen by its own words when
            # its measure was named already
            terms = self.analyzer.terms(name, subject=name) if again else analysis.terms
            more, c = self.composer.answer_measure(m, analysis.fields, terms, top.score, numeric=numeric)
            lines += [line for line in more if line not in lines][:2]
            cites += c[:2]
        if len(used) < 2:
            return None  # one measure covers them all: the ordinary answer says it better
        result.hits = merged + [h for h in result.hits if h.chunk.measure_no not in used]
        return "\n".join(lines), cites, None

    def absent_compound(self, analysis: QuestionAnalysis, m: Any) -> str | None:
        """The question's subject as a compound no document writes (自動運転保険), whose head noun
        (保険) the measure found does not hold either: the measure shares the compound's first word
        only, so its fields do not answer. None when the compound is the plan's own (ドローン物流) or
        the measure holds the head (or the plan's wording for it)."""
        terms = analysis.terms
        if terms is None or analysis.measure_nos or analysis.is_followup:
            return None
        nouns = [w for w in terms.naming if w not in terms.verbal and _COMPOUND_PART_RE.fullmatch(w)]
        if not nouns:
            return None
        head = nouns[-1]
        if head in SCOPE_NOUNS:
            return None  # 「セキュリティ全般」 is セキュリティ, whole
        run = re.search(rf"[{_COMPOUND_CHARS}]*{re.escape(head)}", analysis.normalized)
        compound = run.group() if run else head
        if len(compound) <= len(head) + 1 or self.corpus_contains(compound) \
                or compound not in unicodedata.normalize("NFKC", analysis.text):
            return None  # (a respelling may have joined words the user wrote apart)
        toks = self.composer.tokens_of(measure_text(m))
        if head in toks or any(wording <= toks for wording in terms.synonym_words.get(head, ())):
            return None
        # … and no passage at all speaks of both parts (「ドローンによる物流」 is ドローン物流 in other words)
        # (a part is also spoken of in the plan's wording for it: スマホ as スマートフォン)
        parts = {t for t in self.tokenizer.tokenize(compound) if is_content_word(t) and t in compound} - {compound}
        if len(parts) < 2:
            return None
        wordings = [[frozenset({p}), *(frozenset(self.tokenizer.tokenize(e)) for e in self.analyzer.synonyms.get(p, ()))]
                    for p in parts]
        for c in self.retriever.index.chunks:
            ctoks = self.composer.tokens_of(c.embed_text)
            if all(any(w <= ctoks for w in alternatives) for alternatives in wordings):
                return None
        return compound

    def writes_head(self, name: str, hit: Hit) -> bool:
        """Whether the measure of ``hit`` writes the head noun of ``name`` (see :meth:`TermAnalyzer.head_noun`)."""
        head = search_key(self.analyzer.head_noun(name)).casefold()
        m = self.catalog.measures[hit.chunk.measure_no]
        return bool(head) and head in search_key(f"{m.title}\n{measure_text(m)}").casefold()

    def best_measure_scored(self, name: str, hits: Sequence[Hit]) -> tuple[Hit | None, float]:
        """The measure among ``hits`` whose title and body share most (IDF-weighted) words with
        ``name``, and its score; the words of its head noun count double."""
        words = {w for w in self.tokenizer.tokenize(name) if w not in QUESTION_WORDS}
        head = set(self.tokenizer.tokenize(self.analyzer.head_noun(name))) & words
        key = search_key(name).casefold()
        best, best_score = None, 0.0
        for rank, h in enumerate(hits):
            if not h.chunk.measure_no:
                continue
            m = self.catalog.measures[h.chunk.measure_no]
            title = set(self.tokenizer.tokenize(m.title))
            shared = words & (title | self.chunk_tokens(h))
            # Words in the title count double: a measure is named by its title.
            score = sum(self.analyzer.idf(w) * (2.0 if w in title else 1.0) * (HEAD_NOUN_WEIGHT if w in head else 1.0)
                        for w in shared) * (0.97**rank)
            # The name written out whole in the passage beats a passage sharing its words apart
            # (「オンライン資格確認」 is not 「国家資格のオンライン化」).
            if len(key) >= 4 and key in search_key(f"{m.title}\n{h.chunk.text}").casefold():
                score *= 1.6
            if score > best_score:
                best, best_score = h, score
        return best, best_score

    def missing_fact(self, analysis: QuestionAnalysis, result: RetrievalResult,
                     targets: Sequence[str]) -> tuple[Refusal | None, list[Hit]]:
        """(3) of answerability: is the asked-for kind of fact (a budget, a current rate) stated?

        For the measures a turn is about, any sentence of theirs with such a fact counts. Otherwise a
        second search, biased toward such facts (「現在 時点」 for a current value), joins the first:
        a sentence must hold the fact and distinctive words of the subject. Returns the refusal, or
        the passages that hold the fact (they lead the answer).
        """
        kind = analysis.missing
        terms = analysis.terms
        assert kind is not None and terms is not None
        if targets:
            texts = [measure_text(self.catalog.measures[n]) for n in targets]
            if kind.evidence is not None and self.composer.holds_evidence(texts, kind):
                return None, []
            return missing_fact_refusal(kind), []
        if result.hits and "context" in result.hits[0].retrievers and result.hits[0].chunk.measure_no:
            # the measure under discussion (see retrieve): any sentence of it with such a fact counts,
            # as for a measure the turn names
            kept = self.catalog.measures[result.hits[0].chunk.measure_no]
            if kind.evidence is not None and self.composer.holds_evidence([measure_text(kept)], kind):
                return None, [result.hits[0]]
        if kind.in_measure:
            about = self.fitting_measure(analysis, result)
            if about is None or self.composer.holds_evidence([measure_text(self.catalog.measures[about])], kind):
                return None, []
            return missing_fact_refusal(kind), []
        subject = analysis.state.subject if analysis.state else analysis.retrieval_query
        words = self.subject_weights(analysis)
        if kind.evidence is None or not words:
            # Without a distinctive word of its subject, no passage can be said to answer it.
            return missing_fact_refusal(kind), []
        pool = list(result.hits[:8])
        if kind.probe:
            seen = {h.chunk.chunk_id for h in pool}
            probe = self.retriever.retrieve(f"{subject} {kind.probe}", k=10)
            pool += [h for h in probe.hits if h.chunk.chunk_id not in seen]
        holding = [h for h in pool if self.composer.holds_evidence([h.chunk.text], kind, words)]
        if not holding:
            return missing_fact_refusal(kind), []
        return None, holding

    def unheld_detail(self, analysis: QuestionAnalysis, result: RetrievalResult,
                      targets: Sequence[str]) -> Refusal | None:
        """(3) A detail asked of the measure found (「…に罰則はありますか」) that no sentence of it, nor of
        the passages found, holds: every word of the detail (or of one of the plan's wordings for it)
        in one sentence. Only when no field is asked (the fields have renderers of their own) and the
        answer would be about a measure."""
        detail = analysis.asked_detail
        if detail is None or analysis.fields != ["general"] or analysis.english:
            return None
        about = targets[0] if targets else (result.hits[0].chunk.measure_no if result.hits else None)
        if about is None or about not in self.catalog.measures:
            return None
        wordings = [detail] + [w for term in synonym_terms(detail, self.retriever.synonyms)
                               for w in self.retriever.synonyms[term]]
        options = [frozenset(w for w in self.tokenizer.tokenize(x) if w not in QUESTION_WORDS) - {""} for x in wordings]
        # Unigrams only: 「運営主体」 is held by a sentence saying 運営の主体 as well.
        options = [frozenset(w for w in o if not any(w != v and v in w for v in o)) or o for o in options if o]
        # A word no document uses (アンドロイド where the plan writes Android) is the unknown-words
        # check's business: here the plan must speak of the detail elsewhere, just not of this measure.
        if not options or not all(self.analyzer.known(w) for w in options[0]):
            return None
        # A word the plan uses everywhere (支援, 推進) may describe the measure in other words: only a
        # detail with a word used in at most a tenth of the passages is looked for.
        df = self.analyzer.document_frequency
        if df is not None and min(df(w) for w in options[0]) > DETAIL_MAX_DF_SHARE * len(self.retriever.index.chunks):
            return None
        # A detail of several words is held by a sentence with its rarest one (「電子納付」 by one saying
        # 納付): the common word is the kind, the rare one the thing.
        if df is not None:
            options[0] = frozenset({min(options[0], key=lambda w: (df(w), w))})
        texts = [c.text for c in self.chunks_of_measure.get(about, [])] + [h.chunk.text for h in result.hits[:3]]
        for text in texts:
            for sent in sentence_units(text):
                tokens = self.composer.tokens_of(sent)
                if any(o <= tokens for o in options):
                    return None
        m = self.catalog.measures[about]
        return unheld_detail_refusal(detail, m.measure_no, m.title)

    def subject_weights(self, analysis: QuestionAnalysis) -> dict[str, float]:
        """The subject's distinctive words with their weights: what a sentence stating the asked-for
        fact must be about."""
        terms = analysis.terms
        assert terms is not None
        words = (set(analysis.state.subject_terms) if analysis.state else set(terms.content)) & terms.rare()
        return {w: terms.weights.get(w, 1.0) for w in words}

    def fitting_measure(self, analysis: QuestionAnalysis, result: RetrievalResult) -> str | None:
        """The top measure when the evidence for it is strong (used to say what the plan does state)."""
        top = next((h for h in result.hits[:3] if h.chunk.measure_no), None)
        if top is None or weak_evidence(analysis, result, self.coverage(analysis, [top]),
                                        min_dense=self.min_dense, min_coverage=self.min_coverage):
            return None
        return top.chunk.measure_no

    # -- retrieval ------------------------------------------------------------------------------

    def pins(self, analysis: QuestionAnalysis) -> tuple[list[str], list[list[frozenset[str]]]]:
        """The subject's rare words that pin the passages holding them, and the subject's words those
        passages must half hold besides (HybridRetriever.pinned). None for an English question: its
        words are the bridge's guesses at the plan's."""
        terms = analysis.terms
        if terms is None or analysis.english:
            return [], []
        df = self.analyzer.document_frequency
        rare = [w for w in terms.naming if df is not None and 0 < df(w) <= RARE_DF]
        context = [[frozenset({w})] for w in terms.naming if w not in terms.unknown]
        context += [list(wordings) for wordings in terms.synonym_words.values() if wordings]
        return rare, context

    def retrieve(self, analysis: QuestionAnalysis, filters: dict | None) -> RetrievalResult:
        """Hybrid retrieval for the resolved query, with the conversation's preferences applied."""
        eff_filters = dict(filters or {})
        state = analysis.state
        if state is not None and state.filters:
            # A follow-up restricting the earlier subject to one lead ministry (「そのうち警察庁のものは？」).
            eff_filters = {**state.filters, **eff_filters}
        ministry = self.ministry_constraint(analysis)
        if ministry and "ministry" not in eff_filters:
            # 「こども家庭庁が主担当の施策は？」 lists that ministry's measures.
            eff_filters["ministry"] = ministry
            analysis.intent, analysis.intents = "list", ["list"]
            if analysis.state is not None:
                analysis.state.filters = {"ministry": ministry}
        state = analysis.state
        # A "similar" follow-up keeps only passages in its new field: look deeper to find them.
        depth = self.top_k * 4 if state is not None and state.require else self.top_k
        pins, context = self.pins(analysis)
        result = self.retriever.retrieve(analysis.retrieval_query, k=depth, filters=eff_filters or None,
                                         pins=pins, pin_context=context)
        prefer = {"doc_id": analysis.preferred_doc} if analysis.preferred_doc else None
        if analysis.preferred_edition in set(self.editions) - {max(self.editions)}:
            prefer = {"edition": analysis.preferred_edition}
        if prefer and not eff_filters and not result.exact_measures:
            preferred = self.retriever.retrieve(analysis.retrieval_query, k=self.top_k, filters=prefer,
                                                pins=pins, pin_context=context)
            if preferred.hits:
                chosen = {id(h.chunk) for h in preferred.hits}
                result = RetrievalResult(
                    hits=preferred.hits + [h for h in result.hits if id(h.chunk) not in chosen],
                    exact_measures=result.exact_measures, missing_measures=result.missing_measures,
                    top_dense=max(result.top_dense, preferred.top_dense), top_bm25=max(result.top_bm25, preferred.top_bm25),
                )
        state = analysis.state
        if state is not None and state.exclude:
            # 「似た施策で、学校関係のものは？」 asks for other measures than those just shown…
            result.hits = [h for h in result.hits if h.chunk.measure_no not in state.exclude]
        if state is not None and state.require:
            # …in the field it names (the word or the plan's wording for it).
            result.hits = (self.holding_required(state, result.hits) or result.hits)[: self.top_k]
        if analysis.context_measures and not result.exact_measures:
            # A measure already under discussion wins if it still fits: it holds the turn's own
            # distinctive words (a new subject such as 物流 moves the conversation on).
            rare = (set(state.subject_terms) if state else set()) & (analysis.terms.rare() if analysis.terms else set())
            # a part of a longer word (ファイバ of 光ファイバ) is the same word again
            rare = {w for w in rare if not any(w != v and w in v for v in rare)}
            near = [h for h in result.hits[:5] if h.chunk.measure_no in analysis.context_measures
                    and (not rare or self.words_held(rare, h, analysis.terms) * 2 >= len(rare))]
            if not near and not rare and state is not None and state.subject_terms and result.hits:
                # 「調査は何自治体を対象にやった？」 names nothing distinctive: no new subject, so it
                # is asked of the measure under discussion when that holds half of its words.
                words = set(state.subject_terms)
                for no in analysis.context_measures[:3]:
                    hit = self.retriever.measure_hit(no)
                    if hit is not None and self.words_held(words, hit, analysis.terms) * 2 >= len(words):
                        near = [next((h for h in result.hits if h.chunk.measure_no == no), hit)]
                        break
            if not near and rare and result.hits:
                # Retrieval ranked it lower (「訓練の回数の目標は？」 after EMIS: another measure
                # counts 回数): it still wins when it holds as many of the words as the top passage.
                top_holds = self.words_held(rare, result.hits[0], analysis.terms)
                for no in analysis.context_measures[:3]:
                    hit = self.retriever.measure_hit(no)
                    held = self.words_held(rare, hit, analysis.terms) if hit is not None else 0
                    if hit is not None and held * 2 >= len(rare) and held >= top_holds:
                        near = [next((h for h in result.hits if h.chunk.measure_no == no), hit)]
                        break
            if near:
                # marked: the conversation, not only the search, vouches for it (see weak_evidence)
                kept = replace(near[0], score=max(near[0].score, result.hits[0].score),
                               retrievers=tuple(dict.fromkeys((*near[0].retrievers, "context"))))
                result.hits = [kept] + [h for h in result.hits if h is not near[0]]
        if analysis.preferred_part and not result.exact_measures and result.hits:
            # 「第3の工程表は何を示したもの？」 is about that part of the plan: its passages first.
            part = analysis.preferred_part
            result.hits = sorted(result.hits, key=lambda h: -h.score * (2.0 if h.chunk.section.startswith(part) else 1.0))
        if not prefer and not eff_filters and not result.exact_measures and result.hits:
            # Without a word pointing at an older edition, 「重点計画」 means the current one.
            newest = max(h.chunk.edition for h in result.hits)
            result.hits = sorted(
                result.hits, key=lambda h: -h.score * (1.0 if h.chunk.edition == newest else 0.8)
            )
        titled = self.titled_by_subject(analysis, result.hits[:5]) if not result.exact_measures else None
        if titled is not None:
            # 「マイナンバーカードの普及」 is how the plan titles No. 1-36 (「…の普及及び利用の推進」):
            # the measure whose title says what the user said, word for word, leads.
            result.hits = [titled] + [h for h in result.hits if h is not titled]
        return result

    def words_held(self, words: set[str], hit: Hit, terms: QueryTerms | None) -> int:
        """How many of ``words`` a passage holds, as typed or in the plan's wording of a staff term
        (光ファイバ held by a passage on 光化率)."""
        toks = self.chunk_tokens(hit)
        wordings = terms.synonym_words if terms is not None else {}
        return sum(1 for w in words if w in toks or any(x and x <= toks for x in wordings.get(w, ())))

    def titled_by_subject(self, analysis: QuestionAnalysis, hits: Sequence[Hit]) -> Hit | None:
        """The first of ``hits`` whose measure title says the turn's own subject (see
        title_holds_subject), when the top hit's title does not."""
        if not hits or self.title_holds_subject(analysis, hits[0]):
            return None
        return next((h for h in hits[1:] if self.title_holds_subject(analysis, h)), None)

    def title_holds_subject(self, analysis: QuestionAnalysis, hit: Hit) -> bool:
        """Whether the hit's measure title contains the turn's own subject word for word (five
        characters or more, two words or more), particles aside and staff terms in the plan's
        wording: 「マイナンバーカードの普及」 is how the plan titles No. 1-36, 「ガバクラへの移行」
        No. 3-80 (…のガバメントクラウド移行)."""
        state = analysis.state
        if state is None or not hit.chunk.measure_no or (state.is_followup and state.resolution not in ("shift", "new")):
            return False
        if len(search_key(state.subject)) < 5 or len(state.subject_terms) < 2:
            return False
        title = _without_particles(search_key(self.catalog.measures[hit.chunk.measure_no].title).casefold())
        return any(key in title for key in self.subject_keys(state.subject))

    def subject_keys(self, subject: str) -> set[str]:
        """The subject as a title would say it: as typed and with each staff term in the plan's
        wording (ガバクラ → ガバメントクラウド), particles left out."""
        planned = subject
        for term in synonym_terms(subject, self.retriever.synonyms):
            planned = re.sub(re.escape(term), self.retriever.synonyms[term][0], planned, flags=re.IGNORECASE)
        return {k for k in (_without_particles(search_key(t).casefold()) for t in (subject, planned)) if len(k) >= 5}

    def holding_distinctive(self, terms: QueryTerms, hits: Sequence[Hit]) -> list[Hit]:
        """``hits`` with those holding the question's most distinctive word first (the rarest word the
        user typed that the corpus has: 電子カルテ in 「電子カルテ標準化 KPI」, not 標準化): a
        measure without it is about something else, however close its rank."""
        # (a bigram the tokenizer made, such as マイナ免許, may occur once by chance: words only)
        known = [w for w in terms.typed_words if self.analyzer.known(w) and not w.isascii()]
        if not known or len(hits) < 2:
            return list(hits)
        word = max(known, key=lambda w: terms.weights.get(w, 0.0))
        holding = [h for h in hits if word in self.chunk_tokens(h)]
        return holding + [h for h in hits if h not in holding] if holding else list(hits)

    def holding_required(self, state: ConversationState, hits: Sequence[Hit]) -> list[Hit]:
        """The hits holding the field a "similar" follow-up names (the word or the plan's wording)."""
        wanted = set(state.require) | set(self.analyzer.terms(" ".join(state.require)).expanded)
        return [h for h in hits if wanted & self.chunk_tokens(h)]

    def answer(self, analysis: QuestionAnalysis, filters: dict | None = None) -> tuple[Answer, RetrievalResult]:
        """Answer one analysed turn; returns the answer and the retrieval result it was built from."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        refusal = request_refusal(analysis) or edition_refusal(analysis, self.editions)
        if refusal is not None:
            # A task or an edition not held: nothing to retrieve.
            text, cites, _ = self.refused(refusal)
            result = RetrievalResult(hits=[])
        else:
            result = self.retrieve(analysis, filters)
            timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
            t1 = time.perf_counter()
            text, cites, refusal = self.compose(analysis, result, filters)
            if refusal is None:
                text = "\n".join(era_note(line) for line in text.splitlines())
            timings["compose_ms"] = (time.perf_counter() - t1) * 1000
        # The answer stays short; measures on the same subject that it does not cite are named apart
        # (the page and the API show them), not as another line.
        cited = {c.measure_no for c in cites}
        related = [] if refusal is not None else [
            h.chunk.measure_no for h in self.related_hits(analysis, [h for h in result.hits[:4] if h.chunk.measure_no])
            if h.chunk.measure_no not in cited
        ][:3]
        answer = Answer(
            question=analysis.text, text=text, citations=cites, abstained=refusal is not None, timings=timings,
            state=analysis.state, refusal=refusal.kind if refusal else None, related=list(dict.fromkeys(related)),
            notices=self.reading_notices(analysis, answered=refusal is None),
        )
        return answer, result

    def reading_notices(self, analysis: QuestionAnalysis, *, answered: bool) -> list[str]:
        """How the question was read, so that a wrong guess is visible: respellings, abbreviations
        taken for the word they clip, and (in an answer) the question's words no document uses."""
        notices = [respelled_notice(analysis.respellings)] if analysis.respellings else []
        terms = analysis.terms
        if terms is None:
            return notices
        # (the word as typed: the tagger may split a clipping, 地公|体)
        clipped = [(m.group(0) if (m := re.search(f"[\u4e00-\u9fff]*{re.escape(w)}[\u4e00-\u9fff]*",
                                                  analysis.normalized)) else w, e)
                   for w in terms.naming if (e := self.analyzer.abbreviation_of(w))]
        if clipped:
            notices.append("、".join(f"『{w}』を『{e}』" for w, e in clipped) + "の略として検索しました。")
        # A staff term the documents never use (ChatGPT) was searched as the plan's wording for it.
        unused = [(t, self.analyzer.synonyms[t][0]) for t in terms.synonym_weights
                  if not self.analyzer.known(t) and self.analyzer.synonyms.get(t)]
        if answered and unused:
            typed = [(m.group(0) if (m := re.search(re.escape(t), analysis.normalized, re.IGNORECASE)) else t, w)
                     for t, w in unused]
            notices.append("、".join(f"『{t}』は計画にない語のため『{w}』" for t, w in typed) + "として検索しました。")
        if answered and terms.unknown:
            words = "』『".join(terms.unknown)
            notices.append(f"『{words}』という語は計画と関連資料にありません。関連する記載を示しています。")
        return notices


_PARTICLES_RE = re.compile(r"への|での|との|の|を|へ")
_QUOTED_RE = re.compile(r"[「『\"“]([^「」『』\"“”]{2,30})[」』\"”]")
# … said to be mentioned: 「X」が出てくる / に触れている / と書いてある / という言葉が入っている / に言及
_MENTIONS_RE = re.compile(r"(という(言葉|語|用語|表現)?)?(が|を|に|と|の)?(出てくる|出て(い)?る|登場|触れ|言及|書かれ|書いて|記載|含む|含まれ|入って|使われ|使って)")


def _phrase_key(text: str) -> str:
    """A phrase compared whatever its dots and spaces (ワット・ビット連携 = ワットビット連携)."""
    return re.sub(r"[・\s]", "", search_key(text).casefold())


# The characters a noun compound is written in (katakana, kanji, Latin letters), and a compound's part.
_COMPOUND_CHARS = "ァ-ヺー\u4e00-\u9fffA-Za-z"
# a chapter of 第2 named: 「第3章」「3章」 (the plan's measures are numbered by it: 3-1 … 3-122)
_CHAPTER_RE = re.compile(r"第?\s*([1-5１-５])\s*章")
_COMPOUND_PART_RE = re.compile(f"[{_COMPOUND_CHARS}]{{2,}}")


def _without_particles(key: str) -> str:
    return _PARTICLES_RE.sub("", key)


def fuse_rankings(rankings: Sequence[Sequence[Hit]], k: int = 10) -> list[Hit]:
    """Hits of several rankings by reciprocal rank (one per measure or chunk), earlier rankings
    winning ties; a measure or chunk is represented by its hit from the earliest ranking holding it."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking):
            key = hit.chunk.measure_no or hit.chunk.chunk_id
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank + 1)
            first.setdefault(key, hit)
    return [first[key] for key in sorted(scores, key=lambda key: -scores[key])]


def respelled_notice(changes: Sequence[tuple[str, str]]) -> str:
    """The notice that says how the question's spelling was read (so a wrong guess is visible)."""
    pairs = "、".join(f"『{typed}』を『{respelled}』" for typed, respelled in changes)
    return f"{pairs}と読み替えて検索しました。"


def stream_text(text: str) -> Iterator[str]:
    """Yield an answer line by line (the UI streams the growing text)."""
    yield from text.splitlines(keepends=True)


__all__ = ["Answer", "Citation", "ExtractiveAnswerer", "respelled_notice", "stream_text"]
