"""Stage 1: the source documents. Manifest, hash check, cleaning and sections.

Raw files in ``corpus/`` are never modified. Cleaning happens here, and every section keeps
character offsets into the raw file so that a quote can always be found again in the source.

Cleaning only ever *deletes* characters (markup, page furniture, footnote references) and
rewrites whitespace. The same deletions are skipped when a raw file is indexed for quote
lookup, so any sentence of a cleaned text can be located in the raw file with ``locate``.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
import tomllib
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path

MANIFEST_NAME = "manifest.toml"

Span = tuple[int, int]


class CorpusError(Exception):
    """A corpus file is missing, changed (hash mismatch) or the manifest is invalid."""


@dataclass(frozen=True)
class DocumentInfo:
    """One manifest entry (``corpus/manifest.toml``)."""

    doc_id: str
    title: str
    publisher: str
    date: str  # ISO date the document was decided/published ("2021" when only the year is known)
    edition: int  # 2025, 2024, 2021
    format: str  # "plan-markdown" | "pdf-text" | "web-page" | "slides": selects the section splitter
    license: str
    filename: str
    sha256: str
    page_headers: tuple[str, ...] = ()  # lines repeated on every page, dropped by cleaning
    body_start: str = ""  # web-page: site navigation ends with this text
    body_end: str = ""  # web-page: footer navigation starts with this text
    extra_headings: tuple[str, ...] = ()  # web-page: top headings not listed in the page's 目次


@dataclass(frozen=True)
class Section:
    """A contiguous part of a document under one heading path.

    ``text`` is the cleaned text; ``raw[start:end]`` is the slice of the raw file it came from.
    """

    doc_id: str
    path: tuple[str, ...]  # e.g. ("第1 …", "4. 取組の方向性…", "(1) …") or ("スライド 5",)
    text: str
    start: int
    end: int
    # "body" for content; "toc" for tables of contents, "nav" for boilerplate: never indexed.
    kind: str = "body"


@dataclass(frozen=True)
class PageMark:
    """Where a page begins in the raw text; it lasts until the next mark.

    ``page`` is the printed page number (None: a stretch the source gives no page for). ``part``
    is set when that part of the document numbers its pages on its own (the 2025 plan's 第4
    starts again at 1); for a None page it names the part without pages. ``source`` says how the
    page was found: ``toc`` (table of contents), ``header`` (running page headers counted),
    ``printed`` (a page number printed in the text), ``counted`` (page breaks counted from one).
    """

    start: int
    page: int | None
    part: str = ""
    source: str = ""


@dataclass
class Document:
    """A loaded corpus file: manifest entry, the raw text as stored, and its sections."""

    info: DocumentInfo
    raw: str
    sections: list[Section]
    # Raw spans that cleaning deleted; quote lookup skips them too. None: the generic rules.
    noise: tuple[Span, ...] | None = field(default=None, repr=False)

    @cached_property
    def index(self) -> RawTextIndex:
        """Quote-lookup index over ``raw``, built on first use and kept."""
        return RawTextIndex(self.raw, _noise_spans(self.raw) if self.noise is None else self.noise)

    def locate(self, quote: str, start: int = 0, end: int | None = None) -> Span | None:
        """Raw offsets of ``quote`` (cleaned or raw text) in this document, optionally within a window."""
        return self.index.locate(quote, start, end)

    # --- printed pages and slides (computed once per document, looked up by bisection) ---

    @cached_property
    def _page_marks(self) -> tuple[list[int], list[PageMark]]:
        profile = _PROFILES.get(self.info.format)
        marks = sorted(profile.pages(self), key=lambda m: m.start) if profile and profile.pages else []
        return [m.start for m in marks], marks

    def page_mark_at(self, offset: int) -> PageMark | None:
        """The page mark in force at raw ``offset`` (page, the part it is numbered in, how it was found).

        None before the first mark (a cover) and for documents without pages (web page, slides).
        """
        starts, marks = self._page_marks
        i = bisect.bisect_right(starts, offset) - 1
        return marks[i] if i >= 0 else None

    def page_at(self, offset: int) -> int | None:
        """Printed page of the official document on which raw ``offset`` lies, or None.

        plan-markdown: from the table(s) of contents — every TOC entry is mapped to its heading in
        the body and an offset gets the page of the last mapped heading at or before it; a part
        the TOC lists without a page (第3 工程表) is numbered by its running page headers, and a
        part without either (第5) is None. pdf-text: from the page numbers printed in the text
        and the page breaks between them. None for web pages and slides (see ``slide_at``).
        A page may belong to a part with its own numbering: see ``PageMark.part``.
        """
        mark = self.page_mark_at(offset)
        return mark.page if mark else None

    def page_of_quote(self, quote: str, start: int = 0, end: int | None = None) -> int | None:
        """Page on which ``quote`` starts (first match inside ``raw[start:end]``), or None if not found."""
        span = self.locate(quote, start, end)
        return self.page_at(span[0]) if span else None

    @cached_property
    def _slide_starts(self) -> tuple[list[int], list[int]]:
        if self.info.format != "slides":
            return [], []
        found = list(_SLIDE.finditer(self.raw))
        return [m.start() for m in found], [int(m.group(1)) for m in found]

    def slide_at(self, offset: int) -> int | None:
        """Number of the slide (``  N. `` in the transcript) that raw ``offset`` falls in; None
        before the first slide (site boilerplate) and for documents that are not slides."""
        starts, numbers = self._slide_starts
        i = bisect.bisect_right(starts, offset) - 1
        return numbers[i] if i >= 0 else None


# --- manifest and loading -------------------------------------------------------------------

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_ISO_DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REQUIRED: dict[str, type] = {
    "doc_id": str,
    "title": str,
    "publisher": str,
    "date": str,
    "edition": int,
    "format": str,
    "license": str,
    "filename": str,
    "sha256": str,
}
_OPTIONAL: dict[str, type] = {
    "page_headers": list,
    "body_start": str,
    "body_end": str,
    "extra_headings": list,
}


def load_manifest(corpus_dir: Path) -> list[DocumentInfo]:
    """Read and validate ``corpus_dir/manifest.toml``; raises ``CorpusError`` naming the problem."""
    path = Path(corpus_dir) / MANIFEST_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorpusError(f"{path}: マニフェストが見つかりません (manifest not found)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: マニフェストの書式が不正です (invalid TOML): {exc}") from None
    entries = data.get("documents")
    if not isinstance(entries, list) or not entries:
        raise CorpusError(f"{path}: [[documents]] の記載がありません (no documents listed)")
    infos = [_parse_entry(path, i, entry) for i, entry in enumerate(entries)]
    for key in ("doc_id", "filename"):
        values = [getattr(info, key) for info in infos]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise CorpusError(f"{path}: {key} が重複しています (duplicate {key}): {', '.join(duplicates)}")
    return infos


def _parse_entry(path: Path, i: int, entry: object) -> DocumentInfo:
    where = f"{path}: documents[{i}]"
    if not isinstance(entry, dict):
        raise CorpusError(f"{where}: テーブルではありません (not a table)")
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise CorpusError(f"{where}: 不明なキーがあります (unknown keys): {', '.join(unknown)}")
    for key, typ in (_REQUIRED | _OPTIONAL).items():
        value = entry.get(key)
        if value is None and key in _OPTIONAL:
            continue
        if value is None:
            raise CorpusError(f"{where}: {key} がありません (missing {key})")
        # bool is an int subclass: edition = true must not pass.
        if not isinstance(value, typ) or isinstance(value, bool) or (typ is str and not value.strip()):
            raise CorpusError(f"{where}: {key} の型または値が不正です (invalid {key}: {value!r})")
        if typ is list and not all(isinstance(v, str) and v for v in value):
            raise CorpusError(f"{where}: {key} は文字列の配列で指定してください (must be a list of strings)")
    fmt, doc_id = entry["format"], entry["doc_id"]
    checks = [
        (_SLUG.fullmatch(doc_id), f"doc_id は英小文字・数字・ハイフンで指定してください: {doc_id!r}"),
        (fmt in _PROFILES, f"format が不明です: {fmt!r}（使用可能: {', '.join(_PROFILES)}）"),
        (_SHA256.fullmatch(entry["sha256"]), "sha256 は64桁の16進数（小文字）で指定してください"),
        (Path(entry["filename"]).name == entry["filename"], "filename にはディレクトリを含めないでください"),
        (1990 <= entry["edition"] <= 2100, f"edition が範囲外です: {entry['edition']}"),
        (
            _valid_date(entry["date"]),
            f"date は ISO 形式（YYYY-MM-DD、YYYY-MM、YYYY）で指定してください: {entry['date']!r}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise CorpusError(f"{where}: {message}")
    lists = {k: tuple(entry[k]) for k in ("page_headers", "extra_headings") if k in entry}
    return DocumentInfo(**{k: v for k, v in entry.items() if k not in lists}, **lists)


def _valid_date(value: str) -> bool:
    if not _ISO_DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat((value + "-01-01")[:10] if len(value) < 10 else value)
    except ValueError:
        return False
    return True


def load_corpus(corpus_dir: Path, *, verify: bool = True) -> list[Document]:
    """Load every document listed in the manifest, in manifest order.

    With ``verify`` (the default) each file must match its manifest sha256; a missing, changed
    or undecodable file raises ``CorpusError`` naming the file.
    """
    corpus_dir = Path(corpus_dir)
    documents = []
    for info in load_manifest(corpus_dir):
        path = corpus_dir / info.filename
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CorpusError(
                f"{path}: ファイルが見つかりません (file missing; manifest.toml の {info.doc_id} の文書です)"
            ) from None
        if verify:
            digest = hashlib.sha256(data).hexdigest()
            if digest != info.sha256:
                raise CorpusError(
                    f"{path}: sha256 mismatch — ファイルが変更されています "
                    f"(manifest: {info.sha256[:16]}…, 実際: {digest[:16]}…)。"
                    "元のファイルに戻すか、意図した更新なら manifest.toml の sha256 を更新してください。"
                )
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{path}: UTF-8 として読めません (not UTF-8): {exc}") from None
        documents.append(_build_document(info, raw))
    return documents


def get_document(docs: Sequence[Document], doc_id: str) -> Document:
    """The document with ``doc_id``; ``CorpusError`` if there is none."""
    for doc in docs:
        if doc.info.doc_id == doc_id:
            return doc
    known = ", ".join(d.info.doc_id for d in docs)
    raise CorpusError(f"文書が見つかりません (unknown doc_id): {doc_id}（登録済み: {known}）")


# --- search keys and quote lookup -----------------------------------------------------------

_WS = re.compile(r"\s+")
_NONSPACE = re.compile(r"\S+")


def search_key(text: str) -> str:
    """The form quotes are matched in: NFKC-normalised, with all whitespace removed."""
    return _WS.sub("", unicodedata.normalize("NFKC", text))


class RawTextIndex:
    """Maps the search key of a raw text back to raw offsets, for fast repeated ``locate`` calls.

    ``skip`` spans (markup, page numbers, footnote references deleted by cleaning) are left out of
    the key, so a cleaned sentence matches across them.
    """

    def __init__(self, raw: str, skip: Iterable[Span] = ()) -> None:
        pieces: list[str] = []
        pos = array("q")
        cursor = 0
        for a, b in [*sorted(skip), (len(raw), len(raw))]:
            for m in _NONSPACE.finditer(raw, cursor, max(a, cursor)):
                self._add(m.group(), m.start(), pieces, pos)
            cursor = max(cursor, b)
        self.key = "".join(pieces)
        self._pos = pos

    @staticmethod
    def _add(token: str, at: int, pieces: list[str], pos: array) -> None:
        norm = token if unicodedata.is_normalized("NFKC", token) else unicodedata.normalize("NFKC", token)
        if len(norm) == len(token) and not _WS.search(norm):
            pieces.append(norm)
            pos.extend(range(at, at + len(token)))
            return
        for i, ch in enumerate(token):  # length-changing forms (①→1, ⅱ→ii): map char by char
            out = _WS.sub("", unicodedata.normalize("NFKC", ch))
            pieces.append(out)
            pos.extend([at + i] * len(out))

    def locate(self, quote: str, start: int = 0, end: int | None = None) -> Span | None:
        """Raw ``(start, end)`` of the first match of ``quote`` inside ``raw[start:end]``, or None."""
        needle = search_key(quote)
        if not needle:
            return None
        lo = bisect.bisect_left(self._pos, start)
        hi = len(self.key) if end is None else bisect.bisect_left(self._pos, end)
        i = self.key.find(needle, lo, hi)
        if i < 0:
            return None
        return self._pos[i], self._pos[i + len(needle) - 1] + 1

    def key_between(self, start: int, end: int) -> str:
        """The search key of ``raw[start:end]`` (without the skipped spans)."""
        return self.key[bisect.bisect_left(self._pos, start) : bisect.bisect_left(self._pos, end)]


@lru_cache(maxsize=8)
def _generic_index(raw: str) -> RawTextIndex:
    return RawTextIndex(raw, _noise_spans(raw))


def locate(quote: str, raw: str) -> Span | None:
    """Raw offsets of a (cleaned) quote in ``raw``, compared by ``search_key``; None if absent.

    Uses the generic cleaning rules; ``Document.locate`` also knows the document's own page
    headers and footnote references and is the one to use for corpus documents.
    """
    return _generic_index(raw).locate(quote)


# --- cleaning ---------------------------------------------------------------------------------

_CJK_CHARS = "\u2460-\u24ff\u25a0-\u25ff\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_CJK_SPACE = re.compile(f"(?<=[{_CJK_CHARS}])[ \u3000]+|[ \u3000]+(?=[{_CJK_CHARS}])")
_MULTISPACE = re.compile(r"[ \u3000]{2,}")
# Vertical text on a slide comes out one character per word: "デ ジ タ ル ガ バ メ ン ト".
_SPACED_LETTERS = re.compile(f"(?<![^ ])[{_CJK_CHARS}](?: [{_CJK_CHARS}](?![^ ])){{2,}}")
_TABS = re.compile(r"[ \u3000]*\t[\t \u3000]*")
# A numbering marker keeps its following space: "第1 目指す…", "(1) 我が国…", footnote "12 令和…".
_LEAD_MARKER = re.compile(
    r"^(第[ \u3000]*[0-9０-９]+[部章]?|別紙[0-9０-９]+|[0-9０-９]{1,3}[.．]?|[（(][0-9０-９ア-ンa-z]{1,2}[）)]|[①-⑳]|[ア-ン][.．]?"
    r"|[IVXⅠ-Ⅻ]{1,4})[ \u3000]+(?=\S)"
)
_FOOTNOTE_DEF = re.compile(r"^[0-9]{1,3}[ \u3000]+\S")
_BLOCK_START = re.compile(r"^(?:[・•●○◆■□※＊【＜<]|[0-9]{1,3}[ \u3000]+\S)")
_SENTENCE_END = ("。", "！", "？")

# Deleted everywhere (markup and page furniture); each match is one span of noise.
_NOISE = (
    re.compile(r"(?<=\S)<sup>[^<>\n]{0,12}</sup>"),  # inline footnote reference, number included
    # HTML tags (their text stays); "<NanoTerasu>" and the like are words, not tags.
    re.compile(r"</?(?:sup|sub|b|i|u|s|em|strong|small|mark|span|div|p|a|br)\b[^<>\n]*>"),
    re.compile(r"(?m)^[ \t]*#{1,6}(?=[ \t]|$)[ \t]*"),  # markdown heading markers
    re.compile(r"\*\*"),
    re.compile(r"(?m)^[ \t]*-[ \t]+(?=・)"),  # "- ・ item" is one bullet, not two
    re.compile(r"(?m)^[ \t]*-{2,}[ \t]*$"),  # horizontal rules
    re.compile(r"(?m)^[ \t]*[-－‐]?[ \t]*[0-9]{1,4}[ \t]*[-－‐]?[ \t]*$"),  # page numbers
    # Roadmap column headers ("2024年度 … 1Q 2Q"), repeated on every page of a 工程表.
    re.compile(r"(?m)^[ \t]*(?:(?:[0-9]{4}年度～?|[（(]令和[0-9０-９元]{1,2}年度～?[）)]|[1-4]Q)[ \t]*)+$"),
    re.compile(r"(?m)^[ \t]*[ぁ-ゖ](?:[ \t]+[ぁ-ゖ]){1,3}[ \t]*$"),  # ruby (furigana) lines of PDF text
)


@lru_cache(maxsize=32)
def _header_pattern(headers: tuple[str, ...]) -> re.Pattern[str] | None:
    if not headers:
        return None
    alternatives = [r"[ \t]*".join(map(re.escape, h.split())) for h in headers if h.split()]
    return re.compile(rf"(?m)^[ \t#*]*(?:{'|'.join(alternatives)})[ \t*]*$")


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        elif b > a:
            out.append((a, b))
    return out


def _noise_spans(text: str, page_headers: tuple[str, ...] = ()) -> list[Span]:
    patterns = list(_NOISE)
    header = _header_pattern(page_headers)
    if header is not None:
        patterns.append(header)
    return _merge(m.span() for p in patterns for m in p.finditer(text))


_FOOTNOTE_REF = re.compile(
    r"(?:(?<=[^\x00-\x7f])[ ]?|(?<=\n))([0-9]{1,3})(?=[^\x00-\x7f])"
    r"(?![年月日度号条項人件回歳時分割倍万億千個社校台本点名者種類ヶか箇つ位週秒円行章節次期版型桁％：．，])"
)


_FOOTNOTE_DEF_LINE = re.compile(r"(?m)^[ \u3000]*([0-9]{1,3})[ \u3000]+\S")


def _footnote_ref_spans(raw: str) -> list[Span]:
    """Footnote numbers glued to words in PDF text ("基本法 1（IT基本法）", "会議」3を").

    Footnotes are numbered in reading order, so a candidate is taken only when it is the next
    footnote defined at a page bottom ("12 令和…" lines), allowing a few missed ones. This
    rejects real numbers such as "17業務".
    """
    defined = {int(m.group(1)) for m in _FOOTNOTE_DEF_LINE.finditer(raw)}
    spans, expected = [], 1
    for m in _FOOTNOTE_REF.finditer(raw):
        n = int(m.group(1))
        # Refs in figure captions ("イメージ 51 52 53") are not glued to a word and get skipped.
        if (n in defined and expected <= n <= expected + 6) or (
            not defined and expected <= n <= expected + 2
        ):
            spans.append(m.span())
            expected = n + 1
    return spans


class _Spans:
    """Sorted, non-overlapping noise spans with fast slicing-out."""

    def __init__(self, spans: Sequence[Span]) -> None:
        self.spans = list(spans)
        self._ends = [b for _, b in self.spans]

    def strip(self, text: str, start: int, end: int) -> str:
        """``text[start:end]`` without the noise."""
        out, cursor = [], start
        for i in range(bisect.bisect_right(self._ends, start), len(self.spans)):
            a, b = self.spans[i]
            if a >= end:
                break
            if a > cursor:
                out.append(text[cursor:a])
            cursor = max(cursor, b)
        if cursor < end:
            out.append(text[cursor:end])
        return "".join(out)


def _collapse(line: str) -> str:
    head = ""
    m = _LEAD_MARKER.match(line)
    if m:
        head, line = m.group(1) + " ", line[m.end() :]
    return head + _MULTISPACE.sub(" ", _CJK_SPACE.sub("", line))


def _continues(paragraph: str, line: str) -> bool:
    """Whether ``line`` carries on ``paragraph`` (a sentence broken by the PDF layout)."""
    if paragraph.endswith(_SENTENCE_END) or "\t" in line or "\t" in paragraph[-200:]:
        return False  # a finished sentence, or table rows (tab-separated cells)
    if _BLOCK_START.match(line) or _match_style(line):
        return False
    # A short numbered line is a heading, never the start of a sentence that goes on.
    return not (_match_style(paragraph) and len(paragraph) <= 36)


def _tidy(text: str, *, join_lines: bool, collapse: bool = True, sentence_lines: bool = False) -> str:
    paragraphs: list[str] = []
    in_footnote = False
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        tidy = stripped
        if " " in tidy or "\u3000" in tidy:
            if collapse:
                tidy = _collapse(tidy)
            else:
                tidy = _SPACED_LETTERS.sub(lambda m: m.group().replace(" ", ""), _MULTISPACE.sub(" ", tidy))
        if "\t" in tidy:
            tidy = _TABS.sub("\t", tidy)
        # PDF text starts each page with a space: the page after a footnote block starts afresh.
        page_start = line[:1] in (" ", "\u3000")
        if (
            join_lines
            and paragraphs
            and not (in_footnote and page_start)
            and _continues(paragraphs[-1], stripped)
        ):
            glue = "" if _CJK.match(paragraphs[-1][-1]) or _CJK.match(tidy[0]) else " "
            paragraphs[-1] += glue + tidy
        else:
            paragraphs.append(tidy)
            in_footnote = bool(_FOOTNOTE_DEF.match(stripped))
    out = "\n".join(paragraphs)
    return re.sub(r"(?<=[。！？])[ \u3000]+", "\n", out) if sentence_lines else out


def clean_text(fragment: str, *, page_headers: Iterable[str] = (), join_lines: bool = True) -> str:
    """Readable text of a raw fragment, keeping the original characters (no NFKC) for quoting.

    Removes HTML tags (inline ``<sup>`` footnote numbers entirely), markdown ``#``/``**``
    markers, horizontal rules, page-number lines, roadmap column-header rows, ruby lines and the
    given ``page_headers`` lines; turns ``- ・`` bullets into ``・``; with ``join_lines`` rejoins
    lines broken mid-sentence (a line not ending in 。 continues on the next non-blank line unless
    that starts a new item or heading); collapses spaces next to Japanese characters while keeping
    spaces between Latin words. Document sections are cleaned the same way, plus the manifest's
    ``page_headers`` and, in PDF text, footnote numbers glued to words (see ``Document.noise``).
    """
    spans = _Spans(_noise_spans(fragment, tuple(page_headers)))
    return _tidy(spans.strip(fragment, 0, len(fragment)), join_lines=join_lines)


# --- headings ---------------------------------------------------------------------------------

_KANA_ORDER = "アイウエオカキクケコサシスセソタチツテトナニヌネノ"
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10}


@dataclass(frozen=True)
class _Style:
    """A numbering pattern. Rank orders the hierarchy: 第N > Ⅰ > 1. > 1.1 > (1) > ① > ア > (ア) > A > (a)."""

    name: str
    rank: int
    pattern: re.Pattern[str]
    sequenced: bool = True  # numbers must go 1, 2, 3…: anything else is body text
    repeatable: bool = False  # the same number again restarts the level (TOC then body: 第4, 第4)
    nests: bool = False  # "1." under "1." is a nested list, not a restart


_PART_RANK = 10  # 第N: the level that ends a 目次 listing
_STYLES = (
    _Style(
        "annex",
        0,
        re.compile(
            r"^(?:[<＜][ \t\u3000]*(?:工程表|別紙|別添|参考)[^<>＜＞]*[>＞]|別紙[ \t\u3000]*[0-9０-９]+[ \t\u3000]+\S.*)$"
        ),
        sequenced=False,
    ),
    _Style(
        "part",
        _PART_RANK,
        re.compile(r"^第[ \t\u3000]*([0-9０-９]+)[ \t\u3000]*[部章]?[ \t\u3000]+\S"),
        repeatable=True,
    ),
    _Style("roman", 20, re.compile(r"^(IX|IV|VI{0,3}|I{1,3}|X|[Ⅰ-Ⅻ])[ \t\u3000]+\S"), repeatable=True),
    _Style(
        "subnumber",
        40,
        re.compile(r"^[0-9０-９]+[ \t\u3000]*[.．][ \t\u3000]*([0-9０-９]+)(?![0-9０-９.．])[ \t\u3000]+\S"),
    ),
    _Style(
        "number",
        30,
        re.compile(r"^([0-9０-９]{1,3})[ \t\u3000]*[.．](?![0-9０-９～〜])[ \t\u3000]*\S"),
        nests=True,
    ),
    # 2025 plan: "○[No. 1-2] 施策名" opens a measure in 第2, "1-2<TAB>施策名<TAB>…" a roadmap row in 第3.
    _Style("measure", 50, re.compile(r"^○[ \t\u3000]*\[No\.[ \t\u3000]*\d+-\d+\]"), sequenced=False),
    _Style("roadmap", 50, re.compile(r"^\d+-\d+\t[ \t]*[^\t ]"), sequenced=False),
    _Style("paren", 60, re.compile(r"^[（(]([0-9０-９]{1,2})[）)]")),
    _Style("circled", 70, re.compile(r"^([①-⑳])")),
    _Style("kana", 80, re.compile(rf"^([{_KANA_ORDER}])(?:[.．、]|[ \t\u3000]+)[ \t\u3000]*(?=\S)")),
    _Style("paren-kana", 90, re.compile(rf"^[（(]([{_KANA_ORDER}])[）)]")),
    _Style("latin", 95, re.compile(r"^([A-H])(?:[ \t\u3000]+|[.．)）]|(?=[^\x00-\x7f]))")),
    _Style("paren-latin", 100, re.compile(r"^[（(]([a-zａ-ｚ])[）)]")),
)
_NUMBER_STYLE = next(s for s in _STYLES if s.name == "number")
_PLAIN = _Style("plain", 110, re.compile(""), sequenced=False)  # a markdown heading without numbering
_TRAILING_PAREN = re.compile(r"[（(][^（）()]*[）)]\s*$")
# A table-of-contents entry: a page number in its own tab-separated cell.
_TOC_ENTRY = re.compile(r"\t[ \t]*\d{1,3}[ \t]*(?:\t|$)")
_MD_HEADING = re.compile(r"[ \t]*#")


def _is_toc_entry(line: str) -> bool:
    """A TOC line: a page number in its own cell, or a numbered title whose page cell is empty."""
    if _TOC_ENTRY.search(line):
        return True
    if not line.rstrip(" ").endswith("\t"):
        return False
    found = _match_style(line.strip(" "))
    return found is not None and found[0].name != "roadmap"


@dataclass(frozen=True)
class _Heading:
    style: _Style
    number: int
    label: str


# Every style starts with one of these characters: a cheap test that skips most body lines.
_STYLE_START = re.compile(r"[第IVXⅠ-Ⅻ0-9０-９○（(①-⑳ア-ノA-H<＜別]")


def _match_style(text: str) -> tuple[_Style, re.Match[str]] | None:
    if not _STYLE_START.match(text):
        return None
    for style in _STYLES:
        m = style.pattern.match(text)
        if m:
            return style, m
    return None


def _number(style: _Style, m: re.Match[str]) -> int:
    if not style.sequenced:
        return 0
    token = unicodedata.normalize("NFKC", m.group(1))
    if token.isdigit():
        return int(token)
    if style.name == "roman":
        return _ROMAN.get(token, 0)
    if style.name == "circled":
        return ord(m.group(1)) - 0x245F
    if token in _KANA_ORDER:
        return _KANA_ORDER.index(token) + 1
    return ord(token.lower()) - ord("a") + 1


def _heading_of(text: str, *, marked: bool, markdown: bool, next_line: str) -> _Heading | None:
    """The heading on a (noise-free) line, if it looks like one; ``marked``: a markdown ``#`` line."""
    text = text.strip()
    found = _match_style(text)
    if found is None:
        return _Heading(_PLAIN, 0, " ".join(text.split())) if marked and text else None
    style, m = found
    if style.name == "roadmap":  # "1-1 <施策名>": the first two cells name the row
        return _Heading(style, 0, " ".join([c.strip() for c in text.split("\t") if c.strip()][:2]))
    if "\t" in text:  # table cells and TOC entries are never headings
        return None
    if not marked and style.sequenced:
        body = _TRAILING_PAREN.sub("", text)
        if text.endswith(("。", "、")) or "：" in text or len(body) > 60:
            return None
        # PDF lines are ~40 characters wide: a long numbered line is a list item that goes on.
        if not markdown and len(body) > 36 and not (_BLOCK_START.match(next_line) or _match_style(next_line)):
            return None
    return _Heading(style, _number(style, m), " ".join(text.split()))


class _Outline:
    """The open heading path; accepts a heading only where its numbering fits."""

    def __init__(self) -> None:
        self._stack: list[_Heading] = []
        # Last number per (style, nesting depth of that style): 第4 numbers its items 1-77 straight
        # through its categories ("1. 国民等…" > "1."…"40.", then "2. …" > "41."…).
        self._last: dict[tuple[str, int], int] = {}

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(h.label for h in self._stack)

    @property
    def in_annex(self) -> bool:
        """Inside an annex (別紙, ＜工程表＞): PDF tables whose cell labels look like headings."""
        return bool(self._stack) and self._stack[0].style.rank == 0

    def offer(self, h: _Heading, *, may_open: bool = True, restart: bool = False) -> bool:
        """Open ``h`` if its number fits; ``restart`` lets a repeated 第N end a 目次 listing."""
        stack = self._stack
        if not h.style.sequenced:
            while stack and stack[-1].style.rank >= h.style.rank:
                stack.pop()
            return self._push(h)
        for i in range(len(stack) - 1, -1, -1):
            open_ = stack[i]
            if open_.style is h.style and h.number == open_.number + 1:
                del stack[i:]
                return self._push(h)
            # The same heading again is a running page header, except right after a 目次.
            if open_.style is h.style and h.number == open_.number and h.style.repeatable and restart:
                del stack[i:]
                return self._push(h)
        if not may_open:
            return False
        keep = len(stack)
        while keep and (
            stack[keep - 1].style.rank > h.style.rank
            or (stack[keep - 1].style is h.style and not h.style.nests)
        ):
            keep -= 1
        depth = sum(1 for open_ in stack[:keep] if open_.style is h.style)
        if h.number != 1 and not (h.style.nests and self._last.get((h.style.name, depth)) == h.number - 1):
            return False
        del stack[keep:]
        return self._push(h)

    def _push(self, h: _Heading) -> bool:
        depth = sum(1 for open_ in self._stack if open_.style is h.style)
        self._last[(h.style.name, depth)] = h.number
        self._stack.append(h)
        return True


# --- splitting into sections ----------------------------------------------------------------


@dataclass
class _Part:
    path: tuple[str, ...]
    start: int
    body_start: int  # raw[start:body_start] is the heading
    kind: str = "body"  # or "toc", "nav", "cover" (decided once the text is known)
    end: int = -1  # -1: up to the next part


def _line_spans(raw: str) -> list[Span]:
    spans, start = [], 0
    for line in raw.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def _parse_lines(raw: str, noise: _Spans, info: DocumentInfo) -> list[_Part]:
    """plan-markdown and pdf-text: headings by numbering pattern, TOC runs marked as toc."""
    markdown = info.format == "plan-markdown"
    lines = _line_spans(raw)
    visible = [noise.strip(raw, a, b) for a, b in lines]
    nonblank = [i for i, v in enumerate(visible) if v.strip()]
    following = dict(zip(nonblank, [visible[j].strip() for j in nonblank[1:]], strict=False))
    outline, parts, in_toc = _Outline(), [_Part(("表紙",), 0, 0, kind="cover")], False
    for i in nonblank:
        a, b = lines[i]
        toc_entry = markdown and _is_toc_entry(visible[i])
        marked = markdown and _MD_HEADING.match(raw, a) is not None
        head = (
            None
            if toc_entry
            else _heading_of(visible[i], marked=marked, markdown=markdown, next_line=following.get(i, ""))
        )
        if head and ((in_toc and head.style.rank > _PART_RANK) or (outline.in_annex and head.style.rank > 0)):
            head = None  # a 目次 lists everything up to the next part; an annex stays one section
        if head and outline.offer(head, restart=in_toc):
            is_toc = head.style is _PLAIN and head.label == "目次"
            in_toc = is_toc  # any heading that got through ends a 目次 (only 第N can, see above)
            parts.append(_Part(outline.path, a, b, kind="toc" if is_toc else "body"))
            continue
        current = parts[-1]
        if in_toc:
            continue
        if toc_entry and current.kind != "toc":
            path = ("目次",) if current.kind == "cover" else current.path + ("目次",)
            parts.append(_Part(path, a, a, kind="toc"))
        elif not toc_entry and current.kind == "toc":
            parts.append(_Part(outline.path or ("表紙",), a, a, kind="body" if outline.path else "cover"))
    return parts


def _parse_web_page(raw: str, noise: _Spans, info: DocumentInfo) -> list[_Part]:
    """web-page: navigation cut by the manifest markers, headings from the page's own 目次."""
    start, end = 0, len(raw)
    if info.body_start:
        i = raw.find(info.body_start)
        if i < 0:
            raise CorpusError(f"{info.filename}: body_start が本文中に見つかりません: {info.body_start!r}")
        start = i + len(info.body_start)
    if info.body_end:
        j = raw.find(info.body_end, start)
        if j < 0:
            raise CorpusError(f"{info.filename}: body_end が本文中に見つかりません: {info.body_end!r}")
        end = j
    tokens = list(_NONSPACE.finditer(raw, start, end))
    words = [t.group() for t in tokens]
    parts = [_Part(("サイトナビゲーション",), 0, 0, kind="nav")] if start else []
    parts.append(_Part(("冒頭",), start, start))
    headings, cursor = [], 0
    if "目次" in words:  # "目次 A B C D A …": the listing ends where its first entry comes back
        t = words.index("目次")
        cursor = t + 1
        while cursor < len(words) and (not headings or words[cursor] != headings[0]):
            headings.append(words[cursor])
            cursor += 1
        parts.append(_Part(("目次",), tokens[t].start(), tokens[t].start(), kind="toc"))
    positions = []
    for heading in [*headings, *info.extra_headings]:
        try:
            cursor = words.index(heading, cursor)
        except ValueError:
            raise CorpusError(f"{info.filename}: 見出し「{heading}」がページ内に見つかりません") from None
        positions.append(cursor)
        cursor += 1
    for n, k in enumerate(positions):
        stop = positions[n + 1] if n + 1 < len(positions) else len(tokens)
        top = (words[k],)
        parts.append(_Part(top, tokens[k].start(), tokens[k].end()))
        outline, j = _Outline(), k + 1
        while j < stop - 1:
            m = re.fullmatch(r"([0-9]{1,2})(\.?)", words[j])
            label_end = _label_end(words, j + 1, stop) if m else j + 1
            # "5 デジタル化…" (no dot) only counts when it continues an open list.
            if m and outline.offer(
                _Heading(_NUMBER_STYLE, int(m.group(1)), " ".join(words[j:label_end])),
                may_open=bool(m.group(2)),
            ):
                parts.append(_Part(top + outline.path, tokens[j].start(), tokens[label_end - 1].end()))
                j = label_end
            else:
                j += 1
    if end < len(raw):
        parts.append(_Part(("フッター",), end, end, kind="nav"))
    return parts


def _label_end(words: list[str], j: int, stop: int) -> int:
    """End of a heading that runs from ``words[j]``: one word, more while a bracket is open."""
    depth = 0
    for k in range(j, min(stop, j + 6)):
        depth += sum(words[k].count(c) for c in "「（(『【") - sum(words[k].count(c) for c in "」）)』】")
        if depth <= 0:
            return k + 1
    return j + 1


_SLIDE = re.compile(r"(?m)^ {1,3}([0-9]{1,3})\. ")
_TITLE_RULES = (
    re.compile(r"\s(?P<t>\S{4,60})\s[0-9]{1,3}$"),  # "…本文 タイトル 12"
    re.compile(r"\s[0-9]{1,3}\s(?P<t>\S{4,40})$"),  # "…本文 12 タイトル"
    re.compile(r"^(?P<t>\S{4,40})\s[0-9]{1,3}\s"),  # "タイトル 12 本文…"
    re.compile(r"^[0-9]{1,3}\s(?P<t>\S{4,40})\s"),  # "12 タイトル 本文…"
)


def _slide_title(text: str) -> str:
    """Best guess at a slide's title: the words next to its page number."""
    text = " ".join(text.split())
    for rule in _TITLE_RULES:
        m = rule.search(text)
        title = m.group("t") if m else ""
        if (
            title
            and not title.isascii()
            and not title.endswith(("。", "、"))
            and title[0] not in "・•※▪~0123456789"
        ):
            return title
    return ""


def _parse_slides(raw: str, noise: _Spans, info: DocumentInfo) -> list[_Part]:
    """slides: one section per "  N. " slide, site boilerplate before slide 1 as nav."""
    matches = list(_SLIDE.finditer(raw))
    if not matches:
        return [_Part(("スライド",), 0, 0)]
    parts = [_Part(("スライド共有サイトの表示",), 0, 0, kind="nav", end=matches[0].start())]
    for m, nxt in zip(matches, [*matches[1:], None], strict=True):
        end = nxt.start() if nxt else len(raw)
        title = _slide_title(noise.strip(raw, m.end(), end))
        parts.append(
            _Part((f"スライド {m.group(1)}",) + ((title,) if title else ()), m.end(), m.end(), end=end)
        )
    return parts


# --- printed pages ----------------------------------------------------------------------------

_PAGE_CELL = re.compile(r"[0-9]{1,3}")
_CELL_TAG = re.compile(r"</?[a-z]+\b[^<>\n]*>")
# A line holding nothing but a page number ("12", " 14 ", "- 3 -"): the same lines cleaning drops.
_PAGE_NUMBER_LINE = re.compile(r"[ \t\u3000]*[-－‐]?[ \t]*([0-9]{1,4})[ \t]*[-－‐]?[ \t\u3000]*")
# pdftotext starts a page's text with a space; a blank line of spaces is not a page start.
_PAGE_START_LINE = re.compile(r"[ \u3000]\S")
_MIN_PAGE_LINES = 3  # a "page start" this close to the previous one is a figure label, not a page


def _toc_entries(raw: str, start: int, end: int) -> list[tuple[str, int | None]]:
    """The entries (label, page) of one table of contents, in reading order.

    Cells are tab-separated and a page number is a cell of its own. A two-column TOC (the 第2
    list of measures) is read column by column within each block of lines, so that its entries
    come in document order. A label with an empty page cell ("第3\\t工程表\\t") gets None.
    """
    entries: list[tuple[str, int | None]] = []
    block: list[tuple[int, str, int | None]] = []
    for line in [*raw[start:end].split("\n"), ""]:
        if not line.strip():
            # Sorting is stable: within a column the entries keep their line order.
            entries += [(label, page) for _, label, page in sorted(block, key=lambda e: e[0])]
            block = []
            continue
        cells = [c.strip() for c in _CELL_TAG.sub("", line).split("\t")]
        if len(cells) < 2:
            continue  # a heading ("### 目次"), not an entry
        # A row whose first cells are empty only has an entry in the right-hand column.
        column = 1 if len(cells) > 2 and not cells[0] and not cells[1] else 0
        label: list[str] = []
        for cell in cells:
            if not cell:
                continue
            if label and _PAGE_CELL.fullmatch(cell):
                block.append((column, " ".join(label), int(cell)))
                column, label = column + 1, []
            else:
                label.append(cell)
        if label:
            block.append((column, " ".join(label), None))
    return entries


def _toc_page_marks(doc: Document) -> list[PageMark]:
    """plan-markdown: pages from the tables of contents, mapped onto the body's headings.

    Each TOC's entries are looked up in order after the TOC, each heading after the previous
    one, so repeated labels ("1." in every part) land on the right heading. A TOC whose first
    page is lower than pages already seen starts a part with its own numbering (第4).
    """
    raw = doc.raw
    noise = _Spans(doc.noise if doc.noise is not None else _noise_spans(raw, doc.info.page_headers))
    lines = _line_spans(raw)
    line_starts = [a for a, _ in lines]
    # Body headings never hold a tab; TOC entries and table rows always do.
    keys = ["" if "\t" in raw[a:b] else search_key(noise.strip(raw, a, b)) for a, b in lines]
    marks: list[PageMark] = []
    for toc in (s for s in doc.sections if s.kind == "toc"):
        entries = [(search_key(label), label, page) for label, page in _toc_entries(raw, toc.start, toc.end)]
        pages = [page for _, _, page in entries if page is not None]
        if not pages:
            continue
        # Numbering starts again when the TOC's first page is below a page already reached
        # before the TOC itself (第4 lists 1… after 第2 ended on 127; 第2's own list goes on at 38).
        highest = max((m.page for m in marks if m.page is not None and m.start < toc.start), default=0)
        part = toc.path[0] if pages[0] < highest and len(toc.path) > 1 else ""
        first = bisect.bisect_left(line_starts, toc.end)
        # The text right after a TOC is on the page of its first entry: 第4 repeats its title
        # there, before the first heading its TOC lists.
        after = next((j for j in range(first, len(lines)) if raw[lines[j][0] : lines[j][1]].strip()), None)
        if after is not None:
            marks.append(PageMark(lines[after][0], pages[0], part, "toc"))
        for (_, label, page), i in zip(entries, _match_headings([k for k, _, _ in entries], keys, first), strict=True):
            if i is not None:  # None: listed but not found (a chapter title the body leaves out)
                marks.append(PageMark(lines[i][0], page, part if page is not None else label, "toc"))
    # One mark per offset; with two, the one that has a page wins.
    marks.sort(key=lambda m: (m.start, m.page is None))
    marks = [m for k, m in enumerate(marks) if k == 0 or marks[k - 1].start != m.start]
    header = _header_pattern(doc.info.page_headers)
    out: list[PageMark] = []
    for k, mark in enumerate(marks):
        if mark.page is None and header is not None:
            stop = next((n.start for n in marks[k + 1 :] if n.page is not None), len(raw))
            counted = _header_page_marks(raw, mark, stop, header, noise)
            if counted:
                out += counted
                continue
        out.append(mark)
    return out


# Between two found neighbours, a heading worded slightly differently still matches on this many
# characters: "(2) AI・フレンドリー…" in the body is "(2) AI-フレンドリー…" in the TOC.
_FUZZY_PREFIX = 5
_BUCKET = 3  # key characters every match shares (≤ _FUZZY_PREFIX)


def _match_headings(entries: list[str], keys: list[str], first: int) -> list[int | None]:
    """Line index of the heading of each TOC entry (search keys), looked for from line ``first``.

    A line is the heading of an entry when it starts with the label, or is a long prefix of it
    (a heading broken over two lines).

    1. A label found at exactly one line is taken wherever it is: the body does not always
       follow the TOC's order (No. 1-13 comes before No. 1-12).
    2. A label found at several lines ("1." in every part) takes the first after the entry before.
    3. The rest are looked for between their found neighbours, where a heading worded slightly
       differently ("オンライン化等を" / "オンライン化を") still matches by a common prefix.
    """
    n_lines = len(keys)
    # Every way of matching needs the first characters to agree: look only at lines that share them.
    buckets: dict[str, list[int]] = {}
    for j, line in enumerate(keys):
        if line:
            buckets.setdefault(line[:_BUCKET], []).append(j)

    def hits(key: str, lo: int, hi: int, fuzzy: bool = False) -> Iterator[int]:
        pool = buckets.get(key[:_BUCKET], []) if len(key) >= _BUCKET else range(n_lines)
        for j in itertools.islice(pool, bisect.bisect_left(pool, lo), None):
            if j >= hi:
                return
            line = keys[j]
            if line and (line.startswith(key) or (len(line) >= 12 and key.startswith(line))):
                yield j
            elif line and fuzzy and len(_common_prefix(line, key)) >= min(len(key), _FUZZY_PREFIX):
                yield j

    several = -2  # placeholder: more than one candidate line
    found: list[int | None] = []
    for key in entries:
        candidates = list(itertools.islice(hits(key, first, n_lines), 2)) if key else []
        found.append(candidates[0] if len(candidates) == 1 else several if candidates else None)
    cursor = first
    for n, key in enumerate(entries):
        if found[n] == several:
            found[n] = next(hits(key, cursor, n_lines), None)
        if found[n] is not None:
            cursor = found[n] + 1
    for n, key in enumerate(entries):
        if found[n] is None and key:
            lo = max((f for f in found[:n] if f is not None), default=first - 1) + 1
            hi = min((f for f in found[n + 1 :] if f is not None and f >= lo), default=None)
            # Only inside a closed window: a loose match anywhere after the last heading could be any line.
            found[n] = next(hits(key, lo, hi, fuzzy=True), None) if hi is not None else None
    return found


def _common_prefix(a: str, b: str) -> str:
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    return a[:i]


def _header_page_marks(
    raw: str, mark: PageMark, stop: int, header: re.Pattern[str], noise: _Spans
) -> list[PageMark]:
    """Pages of a part the TOC gives no page for, counted from its running page headers.

    The 工程表 repeats its title and column header at the top of every page, and numbers its
    pages from 1 on its own (its only surviving page number, 31, sits on the 31st header).
    Header lines with only blank or page-furniture lines between them are one page top. Fewer
    than two page tops: no pages (the caller keeps None).
    """
    tops: list[int] = []
    content = True  # text seen since the last page top
    for a, b in _line_spans(raw[mark.start : stop]):
        a, b = a + mark.start, b + mark.start
        if header.match(raw, a, b):  # the pattern ends in $: the whole line is a header
            if content:
                tops.append(a)
            content = False
        elif noise.strip(raw, a, b).strip():
            content = True
    if len(tops) < 2:
        return []
    # Text above the first header (the part's title and note) is on page 1 too.
    return [PageMark(mark.start, 1, mark.part, "header")] + [
        PageMark(top, n, mark.part, "header") for n, top in enumerate(tops[1:], start=2)
    ]


def _number_pages(breaks: list[int], anchors: dict[int, int]) -> list[int]:
    """Page numbers for consecutive pages ``breaks`` given the printed numbers of some (index → page).

    Unnumbered pages are counted from the nearest printed ones. Where the counts from both
    sides disagree (an excerpt that leaves whole pages out, or a missed break), the lower count
    is used, kept above the previous printed page.
    """
    known = sorted(anchors.items())
    out = []
    for i in range(len(breaks)):
        if i in anchors:
            out.append(anchors[i])
            continue
        prev = next(((j, n) for j, n in reversed(known) if j < i), None)
        nxt = next(((j, n) for j, n in known if j > i), None)
        forward = prev[1] + (i - prev[0]) if prev else None
        backward = nxt[1] - (nxt[0] - i) if nxt else None
        if forward is None and backward is None:
            out.append(i + 1)
        elif backward is None:
            out.append(forward)
        elif forward is None:
            out.append(max(1, backward))
        else:
            out.append(max(prev[1] + 1, min(forward, backward)))
    return out


def _pdf_pages(raw: str, start: int, end: int) -> tuple[list[int], dict[int, int]]:
    """Page breaks and printed numbers of running PDF text in ``raw[start:end]``.

    A printed page number is the page's footer: it names the page it ends, and the next line
    starts a new page. Other pages begin at a line that starts with a space (pdftotext's page
    start), unless the page so far has under ``_MIN_PAGE_LINES`` lines.
    """
    breaks, anchors, lines_on_page = [start], {}, 0
    for a, b in _line_spans(raw[start:end]):
        a, b = a + start, b + start
        text = raw[a:b]
        number = _PAGE_NUMBER_LINE.fullmatch(text)
        if number:
            anchors.setdefault(len(breaks) - 1, int(number.group(1)))
            if b + 1 < end:
                breaks.append(b + 1)
                lines_on_page = 0
        elif text.strip():
            if _PAGE_START_LINE.match(text) and lines_on_page >= _MIN_PAGE_LINES:
                breaks.append(a)
                lines_on_page = 0
            lines_on_page += 1
    return breaks, anchors


def _annex_pages(raw: str, start: int, end: int) -> tuple[list[int], dict[int, int]]:
    """Page breaks and printed numbers of a table annex (the 2021 plan's ＜工程表＞).

    Its text comes out table by table: each page starts with the same column header (the first
    line that recurs at least three times) and carries its number somewhere inside, after the
    row labels, so a number names the page it sits in rather than ending it.
    """
    spans = _line_spans(raw[start:end])
    texts = [raw[start + a : start + b].strip() for a, b in spans]
    counts: dict[str, int] = {}
    for t in texts:
        counts[t] = counts.get(t, 0) + 1
    top = next((t for t in texts[1:] if t and counts[t] >= 3 and not _PAGE_NUMBER_LINE.fullmatch(t)), None)
    breaks, anchors, tops = [start], {}, 0
    for (a, _), text in zip(spans, texts, strict=True):
        if top is not None and text == top:
            tops += 1
            if tops > 1:  # the annex's title sits above the first column header, on page 1
                breaks.append(start + a)
        number = _PAGE_NUMBER_LINE.fullmatch(text) if text else None
        if number:
            anchors.setdefault(len(breaks) - 1, int(number.group(1)))
    return breaks, anchors


def _pdf_page_marks(doc: Document) -> list[PageMark]:
    """pdf-text: pages from the printed page numbers kept in the text and the breaks between them.

    A table annex whose pages carry their own numbers (＜工程表＞ 1, 2, …) is numbered on its own;
    a document with no printed number at all (the 2021 outline) is counted from page 1.
    """
    raw = doc.raw
    annex = next((s for s in doc.sections if s.path and _STYLES[0].pattern.match(s.path[0])), None)
    annex_start = annex.start if annex else len(raw)
    annex_numbers = annex is not None and any(
        _PAGE_NUMBER_LINE.fullmatch(raw[a + annex_start : b + annex_start])
        for a, b in _line_spans(raw[annex_start:])
    )
    if not annex_numbers:
        annex_start = len(raw)
    breaks, anchors = _pdf_pages(raw, 0, annex_start)
    pages = _number_pages(breaks, anchors)
    marks = [PageMark(s, p, "", "printed" if i in anchors else "counted")
             for i, (s, p) in enumerate(zip(breaks, pages, strict=True))]
    if annex_numbers and annex is not None:
        a_breaks, a_anchors = _annex_pages(raw, annex_start, len(raw))
        a_pages = _number_pages(a_breaks, a_anchors)
        restarts = bool(anchors) and min(a_anchors.values()) <= max(anchors.values())
        part = annex.path[0] if restarts else ""
        marks += [PageMark(s, p, part, "printed" if i in a_anchors else "counted")
                  for i, (s, p) in enumerate(zip(a_breaks, a_pages, strict=True))]
    return marks


@dataclass(frozen=True)
class _Profile:
    parse: Callable[[str, _Spans, DocumentInfo], list[_Part]]  # the section splitter
    join_lines: bool
    collapse: bool = True
    sentence_lines: bool = False
    footnote_refs: bool = False
    pages: Callable[[Document], list[PageMark]] | None = None  # printed pages; None: the format has none


_PROFILES: dict[str, _Profile] = {
    "plan-markdown": _Profile(_parse_lines, join_lines=False, pages=_toc_page_marks),
    "pdf-text": _Profile(_parse_lines, join_lines=True, footnote_refs=True, pages=_pdf_page_marks),
    # Spaces separate blocks on a scraped page and labels on a slide: keep them there.
    "web-page": _Profile(_parse_web_page, join_lines=False, collapse=False, sentence_lines=True),
    "slides": _Profile(_parse_slides, join_lines=True, collapse=False),
}


def _build_document(info: DocumentInfo, raw: str) -> Document:
    profile = _PROFILES[info.format]
    spans = _noise_spans(raw, info.page_headers)
    if profile.footnote_refs:
        spans = _merge([*spans, *_footnote_ref_spans(raw)])
    noise = _Spans(spans)
    parts = profile.parse(raw, noise, info)
    for part, nxt in zip(parts, [*parts[1:], None], strict=True):
        if part.end < 0:
            part.end = nxt.start if nxt else len(raw)
    return Document(info, raw, _sections(info.doc_id, raw, parts, noise, profile), noise=tuple(spans))


def _sections(doc_id: str, raw: str, parts: list[_Part], noise: _Spans, profile: _Profile) -> list[Section]:
    """Clean each part; a bare heading is prefixed to its first subsection instead of standing alone."""
    sections: list[Section] = []
    pending: Section | None = None
    for part in parts:
        head = _tidy(
            noise.strip(raw, part.start, part.body_start), join_lines=False, collapse=profile.collapse
        )
        body = _tidy(
            noise.strip(raw, part.body_start, part.end),
            join_lines=profile.join_lines,
            collapse=profile.collapse,
            sentence_lines=profile.sentence_lines,
        )
        kind = part.kind if part.kind != "cover" else ("body" if "。" in body else "toc")
        text = "\n".join(t for t in (head, body) if t)
        end = part.start + len(raw[part.start : part.end].rstrip())
        start = part.start
        if pending is not None and text:
            if len(part.path) > len(pending.path) and part.path[: len(pending.path)] == pending.path:
                start, text = pending.start, pending.text + "\n" + text
            else:
                sections.append(pending)
            pending = None
        if not text:
            continue
        section = Section(doc_id, part.path, text, start, max(end, start), kind)
        if head and not body and kind == "body":
            pending = section
        else:
            sections.append(section)
    if pending is not None:
        sections.append(pending)
    return sections
