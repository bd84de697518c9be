"""Composing an extractive answer: the lines shown, each with its citation.

Structured questions (主担当, 目標, 工程表 …) are answered from the catalog fields exactly, one
small renderer per field (named in ``data/intents.toml``); list questions with a list of
measures; everything else with the best sentences of the retrieved passages. Every line carries
its citation: ``[No. 1-57]`` for measures, ``[文書名 > 節]`` for passages outside the measures.

The question's words arrive analysed (:class:`~assistant.understanding.QueryTerms`); only the
passages are tokenised here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.catalog import Catalog, Measure
from assistant.chunking import split_sentences
from assistant.corpus import Document
from assistant.retrieval import Hit
from assistant.tokenizer import JapaneseTokenizer
from assistant.understanding import QueryTerms, is_content_word

# The question asks for a figure, a date or a target: prefer sentences that hold one.
NUMERIC_ASK_RE = re.compile(r"いつ|何年|何月|何%|何％|何人|何件|何割|いくつ|どのくらい|どれくらい|どれだけ|割合|率|数|目標|KPI|時期|期限|when|how many|how much|rate|target", re.I)
_FIGURE_RE = re.compile(r"\d|[一二三四五六七八九十百千万億]+(件|人|割|分野|法案|年)")

Lines = tuple[list[str], list["Citation"]]


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


def ministries(names: Sequence[str]) -> str:
    return "、".join(names) if names else "なし"


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


class Composer:
    """Builds the lines of an answer from the catalog and the retrieved passages."""

    def __init__(self, catalog: Catalog, documents: Sequence[Document], tokenizer: JapaneseTokenizer) -> None:
        self.catalog = catalog
        self.documents = {d.info.doc_id: d for d in documents}
        self.tokenizer = tokenizer
        self.renderers: dict[str, Callable[[Measure, QueryTerms, float, str], Lines]] = {
            "lead": self.render_lead, "related": self.render_related, "targets": self.render_targets,
            "roadmap": self.render_roadmap, "what": self.render_what,
        }

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

    def doc_label(self, hit: Hit) -> str:
        doc = self.documents.get(hit.doc_id)
        short = doc_short_title(doc.info.title, doc.info.edition) if doc else hit.doc_id
        section = hit.section.split(" > ")[-1][:30] if hit.section else ""
        return f"{short} > {section}" if section else short

    # -- sentences ----------------------------------------------------------------------------

    def scored_sentences(self, terms: QueryTerms, text: str, *, numeric: bool = False,
                         prior: float = 0.0) -> list[tuple[float, str]]:
        """Sentences of ``text`` scored by the IDF-weighted question words they contain.

        Long sentences are penalised (a 300-character list matches everything), and when the
        question asks for a figure or a date, sentences holding one are preferred.
        """
        weights = terms.weights
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

    def best_sentences(self, terms: QueryTerms, text: str, n: int = 2, *, numeric: bool = False) -> list[str]:
        return [s for _score, s in self.scored_sentences(terms, text, numeric=numeric)[:n]]

    def key_sentence(self, m: Measure, terms: QueryTerms) -> str:
        best = self.best_sentences(terms, "\n".join(m.bullets), 1)
        return best[0] if best else (m.bullets[0] if m.bullets else m.title)

    def holds_evidence(self, texts: Sequence[str], evidence: re.Pattern[str], words: set[str] | None = None) -> bool:
        """Whether a sentence of the passages holds the kind of fact asked for (an amount in 円 …),
        and, when ``words`` are given, at least half of them too: a fee of 1,900 円 for passports
        does not answer a question about マイナポイント."""
        need = (len(words) + 1) // 2 if words else 0
        for text in texts:
            for sent in sentence_units(text):
                if not evidence.search(unicodedata.normalize("NFKC", sent)):
                    continue
                if words is None or len(words & set(self.tokenizer.tokenize(sent))) >= need:
                    return True
        return False

    # -- one renderer per field ---------------------------------------------------------------

    def _lead_quote(self, m: Measure) -> str:
        if m.lead_source == "roadmap" and m.roadmap:
            row = m.roadmap[0]
            return f"{row.heading}\t{ministries(row.lead_ministries)}"
        return f"主担当府省庁：{ministries(m.lead_ministries) if m.lead_ministries else '—'}"

    def render_lead(self, m: Measure, terms: QueryTerms, score: float, head: str) -> Lines:
        ref = f"[No. {m.measure_no}]"
        if not m.lead_ministries:
            return [f"{head}には主担当府省庁の記載がありません {ref}。"], []
        lines = [f"{head}の主担当府省庁は{ministries(m.lead_ministries)}です {ref}。"]
        if m.related_ministries:
            lines.append(f"関係府省庁は{ministries(m.related_ministries)}です {ref}。")
        return lines, [self.measure_citation(m, self._lead_quote(m), score)]

    def render_related(self, m: Measure, terms: QueryTerms, score: float, head: str) -> Lines:
        ref = f"[No. {m.measure_no}]"
        lines = [f"{head}の関係府省庁は{ministries(m.related_ministries)}です {ref}。",
                 f"主担当府省庁は{ministries(m.lead_ministries)}です {ref}。"]
        quote = f"関係府省庁：{ministries(m.related_ministries) if m.related_ministries else '—'}"
        return lines, [self.measure_citation(m, quote, score)]

    def render_targets(self, m: Measure, terms: QueryTerms, score: float, head: str) -> Lines:
        ref = f"[No. {m.measure_no}]"
        if not m.targets:
            sent = self.key_sentence(m, terms)
            return ([f"{head}には具体的な目標の記載がありません {ref}。", f"取組の内容: {sent} {ref}"],
                    [self.measure_citation(m, sent, score)])
        lead = "" if head == "同施策" else f"（主担当: {ministries(m.lead_ministries)}）"
        lines = [f"{head}{lead}の具体的な目標は次のとおりです {ref}。"]
        lines += [f"・{t.lstrip('・- ')} {ref}" for t in m.targets[:6]]
        return lines, [self.measure_citation(m, t, score) for t in m.targets[:3]]

    def render_roadmap(self, m: Measure, terms: QueryTerms, score: float, head: str) -> Lines:
        ref = f"[No. {m.measure_no}]"
        lines: list[str] = []
        cites: list[Citation] = []
        if m.roadmap:
            lines.append(f"{head}の工程表（第3）の取組内容の見出しは次のとおりです {ref}。")
            lines += [f"・{r.heading}（主担当: {ministries(r.lead_ministries)}）{ref}" for r in m.roadmap[:8]]
            lines.append("※工程表の時期を示す線（ガントチャート）は元の文書の変換で失われているため、時期は示せません。")
            cites.append(self.measure_citation(m, m.roadmap[0].heading, score))
        else:
            lines.append(f"{head}の工程表の行は見つかりませんでした {ref}。")
        if m.targets:
            lines.append(f"具体的な目標: {m.targets[0]} {ref}")
            cites.append(self.measure_citation(m, m.targets[0], score))
        return lines, cites

    def render_what(self, m: Measure, terms: QueryTerms, score: float, head: str) -> Lines:
        ref = f"[No. {m.measure_no}]"
        sentences = self.best_sentences(terms, "\n".join(m.bullets), 2) or list(m.bullets[:1])
        lines = [f"{head}（主担当: {ministries(m.lead_ministries)}）{ref}"]
        lines += [f"・{s} {ref}" for s in sentences]
        cites = [self.measure_citation(m, s, score) for s in sentences]
        if m.targets:
            lines.append(f"具体的な目標: {m.targets[0]} {ref}")
            cites.append(self.measure_citation(m, m.targets[0], score))
        return lines, cites

    # -- whole answers ------------------------------------------------------------------------

    def answer_measure(self, m: Measure, fields: Sequence[str], terms: QueryTerms, score: float, *,
                       numeric: bool = False) -> Lines:
        """All fields asked for about one measure, plus the sentence of its body that best matches
        the question's own words (「従来の保険証はいつまで？」 is answered by a bullet, not a field)."""
        lines: list[str] = []
        cites: list[Citation] = []
        asked = [f for f in fields if f in self.renderers] or ["what"]
        for i, name in enumerate(asked[:3]):
            # The second field asked about the same measure doesn't repeat its number and title.
            head = "同施策" if i > 0 else f"No. {m.measure_no}「{m.title}」"
            more, c = self.renderers[name](m, terms, score, head)
            lines += [x for x in more if x not in lines]
            cites += c
        if not cites:
            cites.append(self.measure_citation(m, f"○[No. {m.measure_no}] {m.title}", score))
        shown = _norm("".join(lines))
        body = "\n".join(list(m.bullets) + list(m.targets))
        title_words = {t for t in self.tokenizer.tokenize(m.title) if is_content_word(t)}
        if terms.content - title_words:
            for sent in self.best_sentences(terms, body, 3, numeric=numeric):
                if _norm(sent)[:40] not in shown:
                    lines.append(f"関連する記述: {sent} [No. {m.measure_no}]")
                    cites.append(self.measure_citation(m, sent, score))
                    break
        return lines, cites

    def render_list(self, hits: Sequence[Hit], terms: QueryTerms, n: int = 3) -> Lines:
        """A short list of the best measures for a topic."""
        lines = ["関連する主な施策は次のとおりです。"]
        cites: list[Citation] = []
        for h in [h for h in hits if h.chunk.measure_no][:n]:
            m = self.catalog.measures[h.chunk.measure_no]
            sent = self.key_sentence(m, terms)
            shown = sent if len(sent) <= 100 else sent[:99] + "…"  # the citation keeps the whole sentence
            lines.append(f"・No. {m.measure_no}「{m.title}」（主担当: {ministries(m.lead_ministries)}）: {shown} [No. {m.measure_no}]")
            cites.append(self.measure_citation(m, sent, h.score))
        return lines, cites

    def anchor_hit(self, hits: Sequence[Hit], terms: QueryTerms, numeric: bool, depth: int = 5) -> Hit:
        """The hit among the top few whose best sentence matches the question best."""
        best, best_score = hits[0], float("-inf")
        first_score = None
        for rank, h in enumerate(hits[:depth]):
            text = h.chunk.text
            if h.chunk.kind == "measure" and h.chunk.measure_no:
                m = self.catalog.measures[h.chunk.measure_no]
                text = "\n".join(list(m.bullets) + list(m.targets))
            scored = self.scored_sentences(terms, text, numeric=numeric)
            # Rank still matters: retrieval saw the whole passage, this only sees one sentence.
            score = (scored[0][0] if scored else 0.0) * (0.75**rank)
            if first_score is None:
                first_score = score
            if score > best_score:
                best, best_score = h, score
        # Leave the top-ranked passage only on clearly better evidence.
        return best if first_score is None or best_score > 1.5 * first_score else hits[0]

    def answer_procedure(self, hit: Hit, terms: QueryTerms, numeric: bool) -> Lines:
        """A 第4 procedure group: what is moved online, the KPI and the key 取組内容 sentence."""
        label = f"[{self.doc_label(hit)}]"
        proc = next((p for p in self.catalog.procedures if p.start == hit.chunk.start), None)
        if proc is None:
            return self.answer_sections([hit], terms, numeric)
        lines = [f"第4「{proc.number}. {proc.title}」（主担当: {ministries(proc.lead_ministries)}）について {label}"]
        cites: list[Citation] = []
        kpi_lines = [re.sub(r"^[-・\s]+", "", k) for k in proc.kpi.splitlines() if re.search(r"\w", k)]
        if kpi_lines:
            lines.append(f"KPI: {'、'.join(kpi_lines[:3])} {label}")
            cites.append(self.passage_citation(hit, kpi_lines[0]))
        for sent in self.best_sentences(terms, proc.actions, 2, numeric=numeric):
            lines.append(f"取組内容: {sent} {label}")
            cites.append(self.passage_citation(hit, sent))
        return lines, cites

    def answer_sections(self, hits: Sequence[Hit], terms: QueryTerms, numeric: bool, n: int = 3) -> Lines:
        """The best sentences across the top passages, each with its document and section."""
        pool: list[tuple[float, str, Hit]] = []
        for rank, h in enumerate(hits[:3]):
            headings = {_norm(p) for p in h.chunk.section.split(" > ")}
            for score, sent in self.scored_sentences(terms, h.chunk.text, numeric=numeric, prior=-0.08 * rank)[:4]:
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
            label = f"[No. {h.chunk.measure_no}]" if h.chunk.measure_no else f"[{self.doc_label(h)}]"
            lines.append(f"{sent} {label}")
            cites.append(self.passage_citation(h, sent))
            if i == 0:
                # A heading or a lead-in (「次の3つの観点から…」) is followed by what it announces.
                for nxt in following_units(h.chunk.text, sent):
                    if nxt not in seen:
                        seen.add(nxt)
                        lines.append(f"{nxt} {label}")
                        cites.append(self.passage_citation(h, nxt))
            if len(lines) >= n + 2 or (len(lines) >= n and i > 0):
                break
        return lines, cites

    def related_line(self, hits: Sequence[Hit], shown: str, n: int = 2) -> str | None:
        """「関連する施策: …」 for the next measures after the one answered."""
        others = [h for h in hits if h.chunk.measure_no and h.chunk.measure_no != shown][:n]
        if not others:
            return None
        return "関連する施策: " + "、".join(f"No. {h.chunk.measure_no}「{h.chunk.measure_title}」" for h in others)


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


__all__ = ["NUMERIC_ASK_RE", "Citation", "Composer", "doc_short_title", "ministries", "sentence_units"]
