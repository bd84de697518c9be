"""Stage 3: chunks that follow the plan's structure.

One measure = one chunk when it fits (split at sentence/bullet boundaries when it does not);
roadmap rows and 第4 procedures are chunked per measure/procedure; other sections by heading
path and sentence boundaries. Sizes are counted in tokens (fugashi), overlap is whole sentences.
Tables of contents and boilerplate are never chunked.

Each chunk also carries the sentences answers may quote from it, with their tokens
(:class:`Sentence`), so that a loaded index never tokenises them again. The sentence split for
quoting (:func:`sentence_units`) lives here for that reason; composition imports it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.catalog import Catalog, Measure, Procedure
from assistant.corpus import Document, DocumentInfo, Section

# Bump when chunks change (text, fields, stored sentences): an index built with another
# version is reported stale (IndexStale) and rebuilt. "2": chunks carry their quotable sentences.
# "3": the preface of 第3 (what the 工程表 shows, its columns and periods) is a chunk of its own.
CHUNKER_VERSION = "4"


@dataclass(frozen=True)
class Sentence:
    """A sentence answers may quote, with its tokens (``JapaneseTokenizer.tokenize``) computed at
    index time."""

    text: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Chunk:
    """A retrievable unit with everything needed to cite it."""

    chunk_id: str  # stable across builds for the same content position
    doc_id: str
    edition: int
    kind: str  # "measure", "roadmap", "procedure", "section"
    section: str  # heading path, " > " joined
    text: str  # clean display text (what quotes are taken from)
    embed_text: str  # text given to BM25 and the embedder (with measure number/title/ministry header)
    start: int  # raw offsets of the source span
    end: int
    measure_no: str | None = None
    measure_title: str = ""
    chapter: int | None = None
    lead_ministries: tuple[str, ...] = ()
    # The sentences answers may quote from this chunk, with their tokens (see chunk_corpus).
    sentences: tuple[Sentence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields as ``dataclasses.asdict`` gives them (what the index stores as JSON), without
        its deep copy of every token: building the index's chunk file stays fast."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["sentences"] = [{"text": s.text, "tokens": list(s.tokens)} for s in self.sentences]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        """The chunk :meth:`to_dict` gave ``d`` (read back from JSON: lists become tuples).

        Tokens are interned: the same few thousand words recur across every sentence, and one
        string object per word keeps a loaded index small.
        """
        d = dict(d)
        d["lead_ministries"] = tuple(d.get("lead_ministries", ()))
        d["sentences"] = tuple(
            Sentence(s["text"], tuple(sys.intern(t) for t in s["tokens"])) for s in d.get("sentences", ())
        )
        return cls(**d)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.embed_text.encode("utf-8")).hexdigest()

    def metadata(self) -> dict[str, str | int]:
        """Chroma-compatible metadata (scalars only; ministries joined by 、)."""
        return {
            "doc_id": self.doc_id,
            "edition": self.edition,
            "kind": self.kind,
            "section": self.section,
            "measure_no": self.measure_no or "",
            "chapter": self.chapter or 0,
            "lead_ministries": "、".join(self.lead_ministries),
            "start": self.start,
            "end": self.end,
        }


# --- sentence splitting ----------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[。！？!?])|\n+")


def split_sentences(text: str) -> list[str]:
    """Split Japanese text after 。！？ and at line breaks (bullets sit on their own lines)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def sentence_units(text: str, max_len: int | None = None) -> list[str]:
    """Sentences as answers quote them, with over-long ones (web pages and slides have no 。) cut
    at spaces."""
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


def strip_bullet(text: str) -> str:
    """A line without its bullet mark (・ or -) and surrounding spaces."""
    return text.strip().lstrip("・- ").strip()


def pack_sentences(sentences: Sequence[str], count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    """Greedy packing of whole sentences into pieces of at most ``max_tokens``.

    Consecutive pieces overlap by one whole sentence so that a claim split across a boundary
    is still found whole in one piece. A single over-long sentence becomes its own piece.
    """
    pieces: list[list[str]] = []
    current: list[str] = []
    size = 0
    for sent in _split_long(sentences, count_tokens, max_tokens):
        n = count_tokens(sent)
        if current and size + n > max_tokens:
            pieces.append(current)
            overlap = current[-1:] if count_tokens(current[-1]) < max_tokens // 3 else []
            current, size = list(overlap), sum(count_tokens(s) for s in overlap)
        current.append(sent)
        size += n
    if current:
        pieces.append(current)
    return ["\n".join(p) for p in pieces]


def _split_long(sentences: Sequence[str], count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    """Break sentences longer than ``max_tokens`` at 、 (or by length) so no chunk overflows."""
    out: list[str] = []
    for sent in sentences:
        if count_tokens(sent) <= max_tokens:
            out.append(sent)
            continue
        clauses = re.split(r"(?<=[、，,])", sent)
        current = ""
        for clause in clauses:
            while count_tokens(clause) > max_tokens:  # no comma to break at: cut by length
                cut = max(1, len(clause) * max_tokens // (2 * count_tokens(clause)))
                if current:
                    out.append(current)
                    current = ""
                out.append(clause[:cut])
                clause = clause[cut:]
            if current and count_tokens(current + clause) > max_tokens:
                out.append(current)
                current = ""
            current += clause
        if current:
            out.append(current)
    return out


# --- chunk builders --------------------------------------------------------------------------


def _ministries(names: Sequence[str]) -> str:
    return "、".join(names) if names else "—"


def measure_text(m: Measure) -> str:
    """The display text of a whole measure, as the plan lays it out."""
    lines = [f"No. {m.measure_no} {m.title}"]
    lines += [f"・{b}" for b in m.bullets]
    lines.append("具体的な目標：" + ("\n".join(m.targets) if m.targets else "—"))
    lines.append(f"主担当府省庁：{_ministries(m.lead_ministries)}")
    lines.append(f"関係府省庁：{_ministries(m.related_ministries)}")
    return "\n".join(lines)


def measure_body_sentences(m: Measure) -> list[str]:
    """The sentences of a measure's bullets as answers quote them (bullet marks stripped)."""
    return [strip_bullet(s) for s in sentence_units("\n".join(m.bullets))]


def measure_target_lines(m: Measure) -> list[str]:
    """A measure's 具体的な目標 lines as answers quote them: bullet marks stripped, one entry per
    line ("" for a line that held only a mark, so that positions follow the plan's lines)."""
    return [strip_bullet(t) for t in m.targets]


def measure_target_sentences(m: Measure) -> list[str]:
    """A measure's 具体的な目標 as sentences: a target line of two sentences is two quotes."""
    return [s for line in measure_target_lines(m) if line for s in split_sentences(line)]


def _measure_header(m: Measure) -> str:
    return (
        f"No. {m.measure_no} {m.title}\n{m.chapter_title}\n"
        f"主担当府省庁：{_ministries(m.lead_ministries)} 関係府省庁：{_ministries(m.related_ministries)}"
    )


def measure_chunks(m: Measure, doc: DocumentInfo, count_tokens: Callable[[str], int], max_tokens: int) -> list[Chunk]:
    """One chunk per measure when it fits; otherwise pieces split at sentence/bullet boundaries,
    each carrying the measure's number, title and lead ministry."""
    header = _measure_header(m)
    full = measure_text(m)
    budget = max(80, max_tokens - count_tokens(header))
    body_sentences: list[str] = []
    for b in m.bullets:
        body_sentences += ["・" + s if i == 0 else s for i, s in enumerate(split_sentences(b))]
    body_sentences.append("具体的な目標：" + ("\n".join(m.targets) if m.targets else "—"))
    if count_tokens(full) <= max_tokens:
        pieces = [full]
    else:
        pieces = pack_sentences(body_sentences, count_tokens, budget)
    section = " > ".join(m.section_path)
    out = []
    for i, piece in enumerate(pieces):
        text = piece if len(pieces) == 1 else f"No. {m.measure_no} {m.title}\n{piece}"
        out.append(
            Chunk(
                chunk_id=f"{doc.doc_id}:measure:{m.measure_no}:{i}",
                doc_id=doc.doc_id, edition=doc.edition, kind="measure", section=section, text=text,
                embed_text=header + "\n" + piece, start=m.start, end=m.end, measure_no=m.measure_no,
                measure_title=m.title, chapter=m.chapter, lead_ministries=m.lead_ministries,
            )
        )
    return out


def roadmap_chunks(m: Measure, doc: DocumentInfo) -> list[Chunk]:
    """The 工程表 rows of one measure as one chunk (labels only: the schedule bars were lost)."""
    if not m.roadmap:
        return []
    rows = [f"・{r.heading}（主担当：{_ministries(r.lead_ministries)}）" for r in m.roadmap]
    text = f"工程表 No. {m.measure_no} {m.title}\n取組内容の見出し：\n" + "\n".join(rows)
    return [
        Chunk(
            chunk_id=f"{doc.doc_id}:roadmap:{m.measure_no}", doc_id=doc.doc_id, edition=doc.edition,
            kind="roadmap", section=f"第3 工程表 > No. {m.measure_no}", text=text,
            embed_text=_measure_header(m) + "\n" + text, start=m.roadmap[0].start, end=m.roadmap[-1].end,
            measure_no=m.measure_no, measure_title=m.title, chapter=m.chapter,
            lead_ministries=m.lead_ministries,
        )
    ]


def procedure_chunks(
    p: Procedure, doc: DocumentInfo, count_tokens: Callable[[str], int], max_tokens: int
) -> list[Chunk]:
    """One 第4 procedure group: its procedures, 取組内容 and KPI."""
    names = "、".join(p.procedures[:12]) + (" 等" if len(p.procedures) > 12 else "")
    header = (
        f"{p.number}. {p.title}（◎{_ministries(p.lead_ministries)}"
        + (f"、{_ministries(p.related_ministries)}" if p.related_ministries else "") + "）"
    )
    body: list[str] = []
    if names:
        body.append(f"対象手続：{names}")
    if p.actions:
        body += ["取組内容：" + s if i == 0 else s for i, s in enumerate(split_sentences(p.actions))]
    body.append(f"KPI：{p.kpi or '—'}")
    budget = max(80, max_tokens - count_tokens(header))
    section = f"第4 オンライン化を実施する行政手続の一覧等 > {p.part} > {p.number}. {p.title}"
    # KPI last: when the group is split, the KPI stays in the final piece with the latest actions.
    return [
        Chunk(
            chunk_id=f"{doc.doc_id}:procedure:{p.number}:{p.start}:{i}", doc_id=doc.doc_id, edition=doc.edition,
            kind="procedure", section=section, text=header + "\n" + piece,
            embed_text="行政手続のオンライン化 " + header + "\n" + piece, start=p.start, end=p.end,
            lead_ministries=p.lead_ministries,
        )
        for i, piece in enumerate(pack_sentences(body, count_tokens, budget))
    ]


def section_chunks(sec: Section, doc: DocumentInfo, count_tokens: Callable[[str], int], max_tokens: int) -> list[Chunk]:
    """A heading-path section split at sentence boundaries; the path is part of the embedded text."""
    path = " > ".join(sec.path)
    sentences = split_sentences(sec.text)
    if not sentences:
        return []
    out = []
    for i, piece in enumerate(pack_sentences(sentences, count_tokens, max_tokens)):
        out.append(
            Chunk(
                chunk_id=f"{doc.doc_id}:section:{sec.start}:{i}", doc_id=doc.doc_id, edition=doc.edition,
                kind="section", section=path, text=piece, embed_text=f"{doc.title}\n{path}\n{piece}",
                start=sec.start, end=sec.end,
            )
        )
    return out


class _SentenceTokens:
    """Attaches quotable sentences with their tokens to chunks, tokenising each distinct sentence
    once (split measures and overlapping pieces repeat sentences)."""

    def __init__(self, tokenize: Callable[[str], Sequence[str]] | None) -> None:
        self.tokenize = tokenize
        self._memo: dict[str, Sentence] = {}

    def attach(self, chunks: Sequence[Chunk], extra: Sequence[str] = ()) -> list[Chunk]:
        """``chunks``, each carrying the sentence units of its text and then ``extra`` (the
        sentences answers take from the catalog record the chunk belongs to), each text once."""
        if self.tokenize is None:
            return list(chunks)
        out = []
        for chunk in chunks:
            texts = dict.fromkeys([*sentence_units(chunk.text), *extra])  # ordered, no repeats
            out.append(dataclasses.replace(chunk, sentences=tuple(self._sentence(t) for t in texts if t)))
        return out

    def _sentence(self, text: str) -> Sentence:
        sent = self._memo.get(text)
        if sent is None:
            assert self.tokenize is not None
            sent = self._memo[text] = Sentence(text, tuple(self.tokenize(text)))
        return sent


def preface_header(raw: str, start: int, end: int) -> str:
    """The tab-separated header rows of ``raw[start:end]``, cells joined with spaces, each row once."""
    rows = [" ".join(cell for cell in line.split("\t") if cell.strip())
            for line in raw[start:end].splitlines() if "\t" in line]
    return "\n".join(dict.fromkeys(row for row in rows if row))


def chunk_corpus(
    docs: Sequence[Document], catalog: Catalog, count_tokens: Callable[[str], int], max_tokens: int = 400,
    *, tokenize: Callable[[str], Sequence[str]] | None = None,
) -> list[Chunk]:
    """All chunks of the corpus: catalog records for the plan, sections for everything else.

    In the plan document, the spans covered by measures, roadmap rows and procedures are chunked
    from the catalog (structured), so their raw sections are skipped to avoid duplicates.

    With ``tokenize`` (the tokenizer the index is built with, ``JapaneseTokenizer.tokenize``),
    every chunk carries the sentences answers may quote from it, with their tokens
    (``Chunk.sentences``): the sentence units of its text and, for a measure, the sentences of
    its bullets and targets; for a procedure group, those of its 取組内容. Without it, chunks
    carry none and answers tokenise sentences when they first need them.
    """
    sentences = _SentenceTokens(tokenize)
    chunks: list[Chunk] = []
    for doc in docs:
        covered: list[tuple[int, int]] = []
        if doc.info.doc_id == catalog.doc_id:
            for m in catalog.in_order():
                quoted = measure_body_sentences(m) + measure_target_lines(m) + measure_target_sentences(m)
                chunks += sentences.attach(measure_chunks(m, doc.info, count_tokens, max_tokens), quoted)
                chunks += sentences.attach(roadmap_chunks(m, doc.info))
                covered.append((m.start, m.end))
            for p in catalog.procedures:
                actions = sentence_units(p.actions) if p.actions else []
                chunks += sentences.attach(procedure_chunks(p, doc.info, count_tokens, max_tokens), actions)
                covered.append((p.start, p.end))
        roadmap_start: int | None = None  # where the plan's first 工程表 row starts
        if doc.info.doc_id == catalog.doc_id and catalog.roadmap:
            roadmap_start = min(r.start for r in catalog.roadmap)
            covered.append((roadmap_start, max(r.end for r in catalog.roadmap)))
        wanted: list[Section] = []
        for sec in doc.sections:
            if sec.kind != "body" or any(a <= sec.start < b for a, b in covered):
                continue
            part = sec.path[0] if sec.path and doc.info.doc_id == catalog.doc_id else ""
            if roadmap_start is not None and part.startswith("第3") and sec.end <= roadmap_start:
                # 第3's preface (what the 工程表 shows), extended to the first row: the header rows in
                # between are table cells that cleaning drops; preface_header gives them to the
                # embedded text below, for retrieval only (quotes cannot be located in them).
                wanted.append(dataclasses.replace(sec, end=roadmap_start))
            elif not part.startswith(("第2", "第3")):
                wanted.append(sec)
        for group in group_small_sections(wanted, count_tokens, max_tokens):
            pieces = section_chunks(group, doc.info, count_tokens, max_tokens)
            if roadmap_start is not None and group.end == roadmap_start:
                header = preface_header(doc.raw, group.start, group.end)
                pieces = [dataclasses.replace(c, embed_text=f"{c.embed_text}\n{header}") for c in pieces]
            chunks += sentences.attach(pieces)
    return chunks


def group_small_sections(
    sections: Sequence[Section], count_tokens: Callable[[str], int], max_tokens: int
) -> list[Section]:
    """Merge runs of small sibling sections (same top-level heading) into one section each.

    An outline whose sections are single headings (第１部 > １． > （１）…) says nothing per
    heading; together, under their common path, they are the content. Large sections stay as they are.
    """
    out: list[Section] = []
    run: list[Section] = []
    size = 0

    def flush() -> None:
        nonlocal run, size
        if len(run) == 1:
            out.append(run[0])
        elif run:
            common: list[str] = []
            for parts in zip(*(r.path for r in run), strict=False):
                if len(set(parts)) != 1:
                    break
                common.append(parts[0])
            out.append(Section(
                doc_id=run[0].doc_id, path=tuple(common) or run[0].path[:1],
                text="\n".join(r.text for r in run), start=run[0].start, end=run[-1].end,
            ))
        run, size = [], 0

    for sec in sections:
        n = count_tokens(sec.text)
        same_parent = bool(run) and run[-1].path[:1] == sec.path[:1] and run[-1].doc_id == sec.doc_id
        # Tiny neighbours (a lone heading such as 「別紙１ 工程表」) join across parents too.
        tiny = bool(run) and run[-1].doc_id == sec.doc_id and n < 40 and size < max_tokens // 4
        if run and (not (same_parent or tiny) or size + n > max_tokens):
            flush()
        run.append(sec)
        size += n
    flush()
    return out


def fugashi_token_counter() -> Callable[[str], int]:
    """Count tokens as fugashi (unidic-lite) words: the unit chunk sizes are measured in."""
    import fugashi

    tagger = fugashi.Tagger()

    def count(text: str) -> int:
        return len(tagger(text))

    return count
