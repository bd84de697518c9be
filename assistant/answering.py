"""Stage 6: grounded, cited answers. Extractive by default; an LLM only when configured.

Structured questions (主担当, 目標, 工程表 …) are answered from the catalog fields exactly; topic
questions with a short list of measures; everything else with the best sentences of the
retrieved passages. Every sentence carries its citation: ``[No. 1-57]`` for measures, or
``[文書名 > 節]`` for passages outside the measures. When the evidence is weak the answer says
so instead of guessing.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.catalog import Catalog, Measure
from assistant.chunking import measure_text, split_sentences
from assistant.corpus import Document
from assistant.questions import MAX_QUERY_CHARS, QuestionAnalysis, analyse
from assistant.retrieval import Hit, HybridRetriever, RetrievalResult
from assistant.tokenizer import JapaneseTokenizer, expand_query

# Calibrated on the eval suite with evals/tools/calibrate_abstention.py: the strictest pair on
# its grid that abstains on no answerable item (0/210) while catching out-of-scope questions that
# the answer-type rules miss. Below both, the evidence is too weak to answer.
# See `python -m assistant eval` and the README's "Abstention" section for how they were set.
DEFAULT_MIN_DENSE = 0.84
DEFAULT_MIN_COVERAGE = 0.5

ABSTAIN_SUGGESTION = (
    "施策の番号（例: No. 1-57）、施策の分野（AI、マイナンバーカード、防災、医療、教育、"
    "サイバーセキュリティ、デジタル人材など）や主担当府省庁・目標について質問してください。"
)

# Words that say how something is asked, not what: they don't count as evidence.
_QUESTION_WORDS = {
    "教える", "ください", "何", "どこ", "どの", "どう", "どんな", "どのよう", "いつ", "誰", "ある", "いる",
    "する", "なる", "れる", "られる", "思う", "知る", "たい", "ほしい", "欲しい", "について", "関する",
    "施策", "取組", "取り組み", "計画", "重点", "重点計画", "担当", "主担当", "目標", "具体", "具体的",
    "府省庁", "省庁", "府省", "関係", "内容", "概要", "とは", "です", "ます", "what", "is", "the", "of",
    "a", "an", "in", "for", "to", "and", "which", "who", "how", "does", "do", "plan", "are", "about",
    "measure", "measures", "教え", "件", "やつ", "こと", "もの", "今", "ため", "作る", "作り方", "方法", "やり方",
    "仕方", "知りたい", "わかる", "分かる", "聞く", "見る", "書く", "言う", "いう", "よい", "いい", "良い",
}


# The question asks for a figure, a date or a target: prefer sentences that hold one.
_NUMERIC_ASK_RE = re.compile(r"いつ|何年|何月|何%|何％|何人|何件|何割|いくつ|どのくらい|どれくらい|どれだけ|割合|率|数|目標|KPI|時期|期限|when|how many|how much|rate|target", re.I)
_FIGURE_RE = re.compile(r"\d|[一二三四五六七八九十百千万億]+(件|人|割|分野|法案|年)")


def doc_short_title(title: str, edition: int) -> str:
    """「重点計画（2025）」-style labels: short enough to follow every cited sentence."""
    short = re.sub(r"[（(].*?[)）]", "", title).replace("デジタル社会の実現に向けた重点計画", "重点計画")
    return f"{short[:28]}（{edition}）"


def sentence_units(text: str, max_len: int | None = None) -> list[str]:
    """Sentences, with over-long ones (web pages and slides have no 。) cut at spaces."""
    if max_len is None:
        # Prose keeps its sentences whole unless they are very long; 。-less page text is cut finer.
        max_len = 260 if text.count("。") >= 2 else 120
    out: list[str] = []
    for sent in split_sentences(text):
        if len(sent) <= max_len:
            out.append(sent)
            continue
        current = ""
        for piece in re.split(r"(?<=[。、])|\s+", sent):
            if not piece:
                continue
            if current and len(current) + len(piece) > max_len:
                out.append(current.strip())
                current = ""
            current += piece if current.endswith(("。", "、")) or not current else " " + piece
        if current.strip():
            out.append(current.strip())
    return out


# 「デジタル庁が主担当の施策は？」「総務省が担当している防災の取組」
_MINISTRY_LIST_RE = re.compile(
    r"([^\s、。がのはを]{2,12}?(?:省|庁|府|官房|委員会|院))(?:が|の)(?:主担当|担当|所管|主に担当)(?:して(?:いる|る))?[^。？?]{0,12}?(?:施策|取組|取り組み|もの)"
)


_KIND_LABELS = {
    "money": "金額・予算", "person": "人物", "company": "企業名", "personal_help": "個別の手続・アカウントの操作方法",
    "opinion": "おすすめ・比較", "live_info": "最新の状況", "future_plan": "将来の版の内容",
    "foreign_plan": "他国の計画", "public_comment": "意見募集の件数", "current_officials": "現在の役職者",
}


@dataclass(frozen=True)
class Citation:
    """A checkable source for a claim: the measure (if any), document, section and verbatim quote."""

    measure_no: str | None
    doc_id: str
    title: str  # measure title, or the document title for passages outside the measures
    section: str
    quote: str  # verbatim from the source (findable in the raw file)
    lead_ministries: tuple[str, ...]
    score: float

    @property
    def label(self) -> str:
        return f"No. {self.measure_no}" if self.measure_no else f"{self.title} > {self.section}"


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


def _ministries(names: Sequence[str]) -> str:
    return "、".join(names) if names else "なし"


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


class ExtractiveAnswerer:
    """Builds answers from the catalog and the retrieved passages, without a language model."""

    def __init__(
        self,
        catalog: Catalog,
        retriever: HybridRetriever,
        documents: Sequence[Document],
        tokenizer: JapaneseTokenizer,
        *,
        min_dense: float = DEFAULT_MIN_DENSE,
        min_coverage: float = DEFAULT_MIN_COVERAGE,
        top_k: int = 10,
    ) -> None:
        self.catalog = catalog
        self.retriever = retriever
        self.documents = {d.info.doc_id: d for d in documents}
        self.tokenizer = tokenizer
        self.min_dense = min_dense
        self.min_coverage = min_coverage
        self.top_k = top_k
        self._lock = threading.Lock()

    # -- evidence -----------------------------------------------------------------------------

    def content_tokens(self, text: str) -> set[str]:
        return {t for t in self.tokenizer.tokenize(text) if t not in _QUESTION_WORDS and len(t) > 1 or t.isdigit()}

    def coverage(self, query: str, hits: Sequence[Hit]) -> float:
        """Share of the question's content words found in the top passages (synonyms included)."""
        words = self.content_tokens(query) - _QUESTION_WORDS
        if not words:
            return 0.0
        expanded = self.content_tokens(expand_query(query, self.retriever.synonyms))
        top_tokens: set[str] = set()
        for h in hits[:3]:
            top_tokens |= set(self.tokenizer.tokenize(h.chunk.embed_text))
        found = sum(1 for w in words if w in top_tokens)
        # A synonym found in the passages stands in for the word the user typed.
        extra = len((expanded - words) & top_tokens)
        return min(1.0, (found + min(extra, len(words) - found)) / len(words))

    def holds_evidence(self, query: str, texts: Sequence[str], evidence: re.Pattern[str]) -> bool:
        """Whether a sentence of the passages holds the kind of fact asked for (an amount in 円 …)
        *and* a distinctive word of the question: a fee of 1,900 円 for passports does not answer
        a question about マイナポイント."""
        rare = {w for w, weight in self.query_words(query).items() if weight >= 2.5}
        for text in texts:
            for sent in sentence_units(text):
                if evidence.search(unicodedata.normalize("NFKC", sent)) and rare & set(self.tokenizer.tokenize(sent)):
                    return True
        return False

    def is_weak(self, analysis: QuestionAnalysis, result: RetrievalResult) -> bool:
        if result.exact_measures or analysis.referenced_measures:
            return False
        if not result.hits:
            return True
        cov = self.coverage(analysis.retrieval_query, result.hits)
        return result.top_dense < self.min_dense and cov < self.min_coverage or cov == 0.0

    # -- citations ----------------------------------------------------------------------------

    def measure_citation(self, m: Measure, quote: str, score: float) -> Citation:
        return Citation(
            measure_no=m.measure_no, doc_id=self.catalog.doc_id, title=m.title,
            section=" > ".join(m.section_path), quote=quote, lead_ministries=m.lead_ministries, score=round(score, 4),
        )

    def passage_citation(self, hit: Hit, quote: str) -> Citation:
        doc = self.documents.get(hit.doc_id)
        title = doc.info.title if doc else hit.doc_id
        return Citation(
            measure_no=hit.chunk.measure_no, doc_id=hit.doc_id, title=hit.chunk.measure_title or title,
            section=hit.section, quote=quote, lead_ministries=hit.chunk.lead_ministries, score=round(hit.score, 4),
        )

    def _lead_quote(self, m: Measure) -> str:
        if m.lead_source == "roadmap" and m.roadmap:
            row = m.roadmap[0]
            return f"{row.heading}\t{_ministries(row.lead_ministries)}"
        return f"主担当府省庁：{_ministries(m.lead_ministries) if m.lead_ministries else '—'}"

    def best_sentences(self, query: str, text: str, n: int = 2, *, numeric: bool = False) -> list[str]:
        """The sentences of a passage that share most content words with the question.

        Long sentences are penalised (a 300-character list matches everything), and when the
        question asks for a figure or a date, sentences holding one are preferred.
        """
        return [s for _score, s in self.scored_sentences(query, text, numeric=numeric)[:n]]

    def query_words(self, query: str) -> dict[str, float]:
        """Content words of the question (synonyms included) with their IDF weights."""
        words = self.content_tokens(query)
        expanded = self.content_tokens(expand_query(query, self.retriever.synonyms)) - words
        weights = {w: self.retriever.idf(w) for w in words}
        # A synonym counts, but less than the word the user typed.
        weights.update({w: 0.7 * self.retriever.idf(w) for w in expanded})
        return weights

    def scored_sentences(self, query: str, text: str, *, numeric: bool = False, prior: float = 0.0) -> list[tuple[float, str]]:
        """Sentences of ``text`` scored by the IDF-weighted question words they contain."""
        weights = self.query_words(query)
        scored = []
        for pos, sent in enumerate(sentence_units(text)):
            if len(sent) < 8:
                continue
            toks = set(self.tokenizer.tokenize(sent))
            overlap = sum(w for t, w in weights.items() if t in toks)
            if overlap == 0:
                continue
            score = overlap / (max(len(toks), 8) ** 0.35) - pos * 0.003 + prior
            if numeric:
                score *= 1.3 if _FIGURE_RE.search(sent) else 0.7
            scored.append((score, sent))
        scored.sort(key=lambda x: -x[0])
        return scored

    def key_sentence(self, m: Measure, query: str) -> str:
        text = "\n".join(m.bullets)
        best = self.best_sentences(query, text, 1)
        return best[0] if best else (m.bullets[0] if m.bullets else m.title)

    # -- composition --------------------------------------------------------------------------

    def answer_measure_field(
        self, m: Measure, intent: str, query: str, score: float, *, short_head: bool = False
    ) -> tuple[list[str], list[Citation]]:
        """Answer a structured question about one measure from its catalog fields."""
        ref = f"[No. {m.measure_no}]"
        # The second field asked about the same measure doesn't repeat its number and title.
        head = "同施策" if short_head else f"No. {m.measure_no}「{m.title}」"
        lines: list[str] = []
        cites: list[Citation] = []
        if intent == "lead":
            if m.lead_ministries:
                lines.append(f"{head}の主担当府省庁は{_ministries(m.lead_ministries)}です {ref}。")
                cites.append(self.measure_citation(m, self._lead_quote(m), score))
            else:
                lines.append(f"{head}には主担当府省庁の記載がありません {ref}。")
            if m.related_ministries:
                lines.append(f"関係府省庁は{_ministries(m.related_ministries)}です {ref}。")
        elif intent == "related":
            lines.append(f"{head}の関係府省庁は{_ministries(m.related_ministries)}です {ref}。")
            lines.append(f"主担当府省庁は{_ministries(m.lead_ministries)}です {ref}。")
            related_quote = f"関係府省庁：{_ministries(m.related_ministries) if m.related_ministries else '—'}"
            cites.append(self.measure_citation(m, related_quote, score))
        elif intent == "targets":
            if m.targets:
                lead = "" if short_head else f"（主担当: {_ministries(m.lead_ministries)}）"
                lines.append(f"{head}{lead}の具体的な目標は次のとおりです {ref}。")
                lines += [f"・{t.lstrip('・- ')} {ref}" for t in m.targets[:6]]
                cites.append(self.measure_citation(m, m.targets[0], score))
                cites += [self.measure_citation(m, t, score) for t in m.targets[1:3]]
            else:
                lines.append(f"{head}には具体的な目標の記載がありません {ref}。")
                sent = self.key_sentence(m, query)
                lines.append(f"取組の内容: {sent} {ref}")
                cites.append(self.measure_citation(m, sent, score))
        elif intent == "roadmap":
            if m.roadmap:
                lines.append(f"{head}の工程表（第3）の取組内容の見出しは次のとおりです {ref}。")
                lines += [f"・{r.heading}（主担当: {_ministries(r.lead_ministries)}）{ref}" for r in m.roadmap[:8]]
                lines.append("※工程表の時期を示す線（ガントチャート）は元の文書の変換で失われているため、時期は示せません。")
                cites.append(self.measure_citation(m, m.roadmap[0].heading, score))
            else:
                lines.append(f"{head}の工程表の行は見つかりませんでした {ref}。")
            if m.targets:
                lines.append(f"具体的な目標: {m.targets[0]} {ref}")
                cites.append(self.measure_citation(m, m.targets[0], score))
        else:  # what / general
            sentences = self.best_sentences(query, "\n".join(m.bullets), 2) or list(m.bullets[:1])
            lines.append(f"{head}（主担当: {_ministries(m.lead_ministries)}）{ref}")
            lines += [f"・{s} {ref}" for s in sentences]
            cites += [self.measure_citation(m, s, score) for s in sentences]
            if m.targets:
                lines.append(f"具体的な目標: {m.targets[0]} {ref}")
                cites.append(self.measure_citation(m, m.targets[0], score))
        if not cites:
            cites.append(self.measure_citation(m, f"○[No. {m.measure_no}] {m.title}", score))
        return lines, cites

    def answer_measure(self, m: Measure, intents: Sequence[str], query: str, score: float, *, numeric: bool = False) -> tuple[list[str], list[Citation]]:
        """All fields asked for about one measure, plus the sentence of its body that best matches
        the question's own words (「従来の保険証はいつまで？」 is answered by a bullet, not a field)."""
        lines: list[str] = []
        cites: list[Citation] = []
        fields = [i for i in intents if i in ("lead", "related", "targets", "roadmap", "what")] or ["what"]
        for i, intent in enumerate(fields[:3]):
            more, c = self.answer_measure_field(m, intent, query, score, short_head=i > 0)
            lines += [x for x in more if x not in lines]
            cites += c
        shown = _norm("".join(lines))
        body = "\n".join(list(m.bullets) + list(m.targets))
        extra_words = self.content_tokens(query) - self.content_tokens(m.title)
        if extra_words:
            for sent in self.best_sentences(query, body, 3, numeric=numeric):
                if _norm(sent)[:40] not in shown:
                    lines.append(f"関連する記述: {sent} [No. {m.measure_no}]")
                    cites.append(self.measure_citation(m, sent, score))
                    break
        return lines, cites

    def answer_topic(self, hits: Sequence[Hit], query: str, n: int = 3) -> tuple[list[str], list[Citation]]:
        """A short list of the best measures for a topic."""
        lines = ["関連する主な施策は次のとおりです。"]
        cites: list[Citation] = []
        for h in [h for h in hits if h.chunk.measure_no][:n]:
            m = self.catalog.measures[h.chunk.measure_no]
            sent = self.key_sentence(m, query)
            shown = sent if len(sent) <= 100 else sent[:99] + "…"  # the citation keeps the whole sentence
            lines.append(f"・No. {m.measure_no}「{m.title}」（主担当: {_ministries(m.lead_ministries)}）: {shown} [No. {m.measure_no}]")
            cites.append(self.measure_citation(m, sent, h.score))
        return lines, cites

    def ministry_constraint(self, analysis: QuestionAnalysis) -> str | None:
        """A lead ministry the question restricts a list to (「Xが主担当の施策」), if any."""
        if analysis.measure_nos or analysis.referenced_measures:
            return None
        m = _MINISTRY_LIST_RE.search(analysis.normalized)
        if not m:
            return None
        from assistant.catalog import canonical_ministry

        name = canonical_ministry(m.group(1))
        leads = {mi for meas in self.catalog.measures.values() for mi in meas.lead_ministries}
        return name if name in leads else None

    def anchor_hit(self, hits: Sequence[Hit], query: str, numeric: bool, depth: int = 5) -> Hit:
        """The hit among the top few whose best sentence matches the question best."""
        best, best_score = hits[0], float("-inf")
        first_score = None
        for rank, h in enumerate(hits[:depth]):
            text = h.chunk.text
            if h.chunk.kind == "measure" and h.chunk.measure_no:
                m = self.catalog.measures[h.chunk.measure_no]
                text = "\n".join(list(m.bullets) + list(m.targets))
            scored = self.scored_sentences(query, text, numeric=numeric)
            # Rank still matters: retrieval saw the whole passage, this only sees one sentence.
            score = (scored[0][0] if scored else 0.0) * (0.75**rank)
            if first_score is None:
                first_score = score
            if score > best_score:
                best, best_score = h, score
        # Leave the top-ranked passage only on clearly better evidence.
        return best if first_score is None or best_score > 1.5 * first_score else hits[0]

    def answer_procedure(self, hit: Hit, query: str, numeric: bool) -> tuple[list[str], list[Citation]]:
        """A 第4 procedure group: what is moved online, the KPI and the key 取組内容 sentence."""
        label = f"[{self._doc_label(hit)}]"
        proc = next((p for p in self.catalog.procedures if p.start == hit.chunk.start), None)
        if proc is None:
            return self.answer_sections([hit], query, numeric)
        lines = [f"第4「{proc.number}. {proc.title}」（主担当: {_ministries(proc.lead_ministries)}）について {label}"]
        cites: list[Citation] = []
        kpi_lines = [re.sub(r"^[-・\s]+", "", k) for k in proc.kpi.splitlines() if re.search(r"\w", k)]
        if kpi_lines:
            kpi = "、".join(kpi_lines[:3])
            lines.append(f"KPI: {kpi} {label}")
            cites.append(self.passage_citation(hit, kpi_lines[0]))
        for sent in self.best_sentences(query, proc.actions, 2, numeric=numeric):
            lines.append(f"取組内容: {sent} {label}")
            cites.append(self.passage_citation(hit, sent))
        return lines, cites

    def answer_sections(self, hits: Sequence[Hit], query: str, numeric: bool, n: int = 3) -> tuple[list[str], list[Citation]]:
        """The best sentences across the top passages, each with its document and section."""
        pool: list[tuple[float, str, Hit]] = []
        for rank, h in enumerate(hits[:3]):
            headings = {_norm(p) for p in h.chunk.section.split(" > ")}
            for score, sent in self.scored_sentences(query, h.chunk.text, numeric=numeric, prior=-0.08 * rank)[:4]:
                # A heading repeated as the first line of its section says little by itself.
                pool.append((score * (0.5 if _norm(sent) in headings else 1.0), sent, h))
        pool.sort(key=lambda x: -x[0])
        lines: list[str] = []
        cites: list[Citation] = []
        seen: set[str] = set()
        for i, (_score, sent, h) in enumerate(pool):
            if sent in seen:
                continue
            seen.add(sent)
            label = f"[No. {h.chunk.measure_no}]" if h.chunk.measure_no else f"[{self._doc_label(h)}]"
            lines.append(f"{sent} {label}")
            cites.append(self.passage_citation(h, sent))
            if i == 0:
                # A heading or a lead-in (「次の3つの観点から…」) is followed by what it announces.
                for nxt in self.following_units(h.chunk.text, sent):
                    if nxt not in seen:
                        seen.add(nxt)
                        lines.append(f"{nxt} {label}")
                        cites.append(self.passage_citation(h, nxt))
            if len(lines) >= n + 2 or (len(lines) >= n and i > 0):
                break
        return lines, cites

    @staticmethod
    def following_units(text: str, sent: str, max_units: int = 3) -> list[str]:
        """The short lines right after ``sent`` when ``sent`` introduces a list or is a heading."""
        units = sentence_units(text)
        try:
            pos = units.index(sent)
        except ValueError:
            return []
        if not (len(sent) < 50 or sent.endswith(("：", ":", "。次のとおり", "観点から", "進める。"))):
            return []
        out = []
        for nxt in units[pos + 1 : pos + 1 + max_units]:
            if len(nxt) > 140:
                break
            out.append(nxt)
        return out

    def _doc_label(self, hit: Hit) -> str:
        doc = self.documents.get(hit.doc_id)
        short = doc_short_title(doc.info.title, doc.info.edition) if doc else hit.doc_id
        section = hit.section.split(" > ")[-1][:30] if hit.section else ""
        return f"{short} > {section}" if section else short

    @staticmethod
    def abstention(reason: str) -> tuple[str, list[Citation], bool]:
        """An abstaining answer: the reason and what can be asked instead, with no citations."""
        return f"{reason}\n{ABSTAIN_SUGGESTION}", [], True

    def compose(
        self, analysis: QuestionAnalysis, result: RetrievalResult, filters: dict | None = None
    ) -> tuple[str, list[Citation], bool]:
        """The answer text, its citations and whether the assistant abstained."""
        q = analysis.text[:MAX_QUERY_CHARS]
        # A number that does not exist: say so and offer the nearest ones.
        if analysis.measure_nos and not result.exact_measures:
            missing = analysis.measure_nos[0]
            near = "、".join(f"No. {n}" for n in self.catalog.nearest(missing))
            return self.abstention(f"No. {missing} という施策は計画にありません。近い番号: {near}。")

        targets = list(result.exact_measures) or list(analysis.referenced_measures)
        if analysis.unanswerable is not None:
            kind, evidence = analysis.unanswerable
            if targets:
                texts = [measure_text(self.catalog.measures[n]) for n in targets]
            else:
                texts = [h.chunk.text for h in result.hits[:2]]
            if evidence is None or not self.holds_evidence(q, texts, evidence):
                about = ""
                if targets:
                    m = self.catalog.measures[targets[0]]
                    about = f"No. {m.measure_no}「{m.title}」は計画にありますが、"
                return self.abstention(f"{about}ご質問の{_KIND_LABELS.get(kind, '内容')}は、重点計画と関連資料には記載がありません。")
        if targets:
            lines: list[str] = []
            cites: list[Citation] = []
            numeric = bool(_NUMERIC_ASK_RE.search(analysis.normalized))
            for no in targets[:3]:
                m = self.catalog.measures[no]
                more, c = self.answer_measure(m, analysis.intents or [analysis.intent], q, 1.0, numeric=numeric)
                lines += more
                cites += c
            return "\n".join(lines), cites, False

        if self.is_weak(analysis, result):
            return self.abstention("ご質問の内容は、重点計画と関連資料には記載が見つかりませんでした（計画には記載がありません）。")

        hits = result.hits
        top = hits[0]
        numeric = bool(_NUMERIC_ASK_RE.search(analysis.normalized))
        # A question about an older edition is answered from that document, not from measures.
        older = analysis.preferred_doc not in (None, self.catalog.doc_id) or (
            analysis.preferred_edition is not None and analysis.preferred_edition != max_edition(self)
        )
        measure_hits = [h for h in hits if h.chunk.measure_no]
        if analysis.intent == "topic" and measure_hits:
            lines, cites = self.answer_topic(measure_hits, q)
        elif analysis.intent in ("lead", "related", "targets", "roadmap") and not older and any(
            h.chunk.measure_no for h in hits[:3]
        ):
            # These fields exist only for measures: the best measure among the top passages.
            top = next(h for h in hits[:3] if h.chunk.measure_no)
            m = self.catalog.measures[top.chunk.measure_no]
            lines, cites = self.answer_measure(m, analysis.intents, q, top.score, numeric=numeric)
            others = [h for h in measure_hits[1:3] if h.chunk.measure_no != m.measure_no]
            if others:
                lines.append(
                    "関連する施策: "
                    + "、".join(f"No. {h.chunk.measure_no}「{h.chunk.measure_title}」" for h in others)
                )
        else:
            # The passage holding the sentence that best answers the question decides the form
            # of the answer, not just the fused rank: a 第1 paragraph with the figure asked for
            # beats a measure that merely shares the topic.
            anchor = self.anchor_hit(hits, q, numeric)
            if anchor.chunk.kind in ("measure", "roadmap") and anchor.chunk.measure_no:
                m = self.catalog.measures[anchor.chunk.measure_no]
                intents = ["roadmap"] if anchor.chunk.kind == "roadmap" and analysis.intent == "roadmap" else ["what"]
                lines, cites = self.answer_measure(m, intents, q, anchor.score, numeric=numeric)
                others = [h for h in measure_hits[:3] if h.chunk.measure_no != m.measure_no][:2]
                if others:
                    lines.append(
                        "関連する施策: "
                        + "、".join(f"No. {h.chunk.measure_no}「{h.chunk.measure_title}」" for h in others)
                    )
            elif anchor.chunk.kind == "procedure":
                lines, cites = self.answer_procedure(anchor, q, numeric)
            else:
                rest = [h for h in hits if h is not anchor]
                lines, cites = self.answer_sections([anchor, *rest], q, numeric)
        if not lines:
            return self.abstention("計画には記載が見つかりませんでした。")
        return "\n".join(lines), cites, False

    def answer(self, analysis: QuestionAnalysis, filters: dict | None = None) -> tuple[Answer, RetrievalResult]:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        eff_filters = dict(filters or {})
        ministry = self.ministry_constraint(analysis)
        if ministry and "ministry" not in eff_filters:
            # 「こども家庭庁が主担当の施策は？」 lists that ministry's measures.
            eff_filters["ministry"] = ministry
            analysis.intent, analysis.intents = "topic", ["topic"]
        result = self.retriever.retrieve(analysis.retrieval_query, k=self.top_k, filters=eff_filters or None)
        prefer = {"doc_id": analysis.preferred_doc} if analysis.preferred_doc else None
        if analysis.preferred_edition in {c.edition for c in self.retriever.index.chunks} - {max_edition(self)}:
            prefer = {"edition": analysis.preferred_edition}
        if prefer and not eff_filters and not result.exact_measures:
            preferred = self.retriever.retrieve(analysis.retrieval_query, k=self.top_k, filters=prefer)
            if preferred.hits:
                chosen = {id(h.chunk) for h in preferred.hits}
                result = RetrievalResult(
                    hits=preferred.hits + [h for h in result.hits if id(h.chunk) not in chosen],
                    exact_measures=result.exact_measures, missing_measures=result.missing_measures,
                    top_dense=max(result.top_dense, preferred.top_dense), top_bm25=max(result.top_bm25, preferred.top_bm25),
                )
        if analysis.context_measures and not result.exact_measures:
            # In a conversation, a measure already under discussion wins if it still fits.
            near = [h for h in result.hits[:5] if h.chunk.measure_no in analysis.context_measures]
            if near:
                result.hits = near[:1] + [h for h in result.hits if h is not near[0]]
        if not prefer and not eff_filters and not result.exact_measures and result.hits:
            # Without a word pointing at an older edition, 「重点計画」 means the current one.
            newest = max(h.chunk.edition for h in result.hits)
            result.hits = sorted(
                result.hits, key=lambda h: -h.score * (1.0 if h.chunk.edition == newest else 0.8)
            )
        timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        text, cites, abstained = self.compose(analysis, result, filters)
        timings["compose_ms"] = (time.perf_counter() - t1) * 1000
        return Answer(question=analysis.text, text=text, citations=cites, abstained=abstained, timings=timings), result


def max_edition(answerer: ExtractiveAnswerer) -> int:
    """The newest edition in the corpus (the plan the catalog was read from)."""
    return max(d.info.edition for d in answerer.documents.values())


def stream_text(text: str) -> Iterator[str]:
    """Yield an answer line by line (the UI streams the growing text)."""
    yield from text.splitlines(keepends=True)


__all__ = ["Answer", "Citation", "ExtractiveAnswerer", "analyse", "stream_text"]
