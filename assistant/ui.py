"""The staff web page (Gradio 6 Blocks): chat with streamed, cited answers, a sources panel with
measure cards, filters, the list of all 326 measures, 👍/👎 feedback and the missing-index state.

    python app.py [--host 127.0.0.1] [--port 7860]

Everything shown comes from the corpus, the catalog or the user, so every piece of text is
HTML-escaped before any markup of ours is added: nothing typed or quoted can become live HTML.
"""

from __future__ import annotations

import os

# Must be set before gradio is imported: gradio reads it at import time.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import argparse  # noqa: E402
import html  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
import unicodedata  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from assistant.catalog import CHAPTER_TITLES, Catalog, Measure, find_measure_nos  # noqa: E402
from assistant.config import Settings  # noqa: E402

log = logging.getLogger(__name__)

BUILD_CMD = "python -m assistant index"
EXAMPLES = [
    "No. 1-57 の主担当府省庁は？",
    "マイナンバーカードの普及に関する施策は？",
    "ガバメントクラウドへの移行の目標は？",
    "2024年の重点計画のポイントは？",
]
# Short names for the filter dropdown; elsewhere (and for unknown ids) the manifest title is used.
DOC_LABELS = {
    "plan2025": "重点計画 2025（全文）",
    "plan2024-summary": "重点計画 2024（ウェブ要約）",
    "plan2021-outline": "新重点計画の構成イメージ案（2021）",
    "plan2021-education": "重点計画 2021（教育関連の抜粋）",
    "cio-forum-2021": "CIOフォーラム資料（2021）",
}
TABLE_HEADERS = ["番号", "施策名", "分野", "主担当府省庁"]
EMPTY_SOURCES = '<div class="jp-empty">質問すると、回答の根拠となった出典がここに表示されます。</div>'
EMPTY_CARD = '<div class="jp-empty">表の行を選択すると、施策カードを表示します。</div>'
_CITE_RE = re.compile(r"\[No\.\s*(\d+-\d+)\]")
_LINK_RE = re.compile(r"\[\\\[No\. (\d+-\d+)\\\]\]\(#measure-\1\)")
# Markdown that could turn plain text into markup: inline marks anywhere, block marks at line start.
_MD_INLINE = re.compile(r"([\\`*_\[\]~|$])")
_MD_BLOCK = re.compile(r"^(\s*)([#+\-=>]|\d+(?=[.)]))", re.M)
_TERM_RE = re.compile(r"[\u4e00-\u9fff々〆ヶ]{2,}|[\u30a0-\u30ffー]{2,}|[A-Za-z0-9]{3,}")

CSS = """
.jp-header h1 {font-size: 1.35rem; margin: 0;} .jp-header p {margin: .15rem 0 0; color: var(--body-text-color-subdued);}
.jp-banner {border: 2px solid #d97706; background: #fffbeb; color: #78350f; border-radius: 8px; padding: .7rem 1rem;}
.jp-sources {display: flex; flex-direction: column; gap: .6rem; max-height: 680px; overflow-y: auto;}
.jp-cite, .jp-listcard {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .55rem .8rem;
  background: var(--background-fill-secondary);}
.jp-no {font-weight: 700; color: var(--color-accent); margin-right: .35rem; white-space: nowrap;}
.jp-meta {font-size: .85rem; color: var(--body-text-color-subdued); margin-top: .15rem;}
.jp-quote {border-left: 3px solid var(--color-accent); margin: .35rem 0; padding: .15rem .6rem; font-size: .9rem;}
.jp-card {margin-top: .35rem;} .jp-card > summary {cursor: pointer; font-weight: 600; font-size: .9rem;}
.jp-card h4 {margin: .5rem 0 .15rem; font-size: .9rem;}
.jp-card ul {margin: 0 0 0 1.2rem; padding: 0; font-size: .9rem;}
.jp-sub {font-size: .9rem; font-weight: 600; margin-top: .4rem;} .jp-empty {color: var(--body-text-color-subdued);}
mark {background: #fde68a; color: #111; padding: 0 .1em; border-radius: 2px;}
.jp-src > summary.jp-quote {cursor: pointer;} .jp-src[open] > summary.jp-quote {font-weight: 600;}
.jp-page {font-size: .8rem; font-weight: 600; white-space: nowrap; border: 1px solid var(--border-color-primary);
  border-radius: 4px; padding: 0 .3em; margin-left: .3rem;}
.jp-open {font-size: .8rem; color: var(--color-accent); white-space: nowrap;}
.jp-viewer {border: 1px solid var(--border-color-primary); border-radius: 6px; padding: .5rem .7rem; margin: .2rem 0 .5rem;
  background: var(--background-fill-primary);} .jp-vtitle {font-weight: 600; font-size: .9rem;}
.jp-context {white-space: pre-wrap; font-size: .9rem; margin-top: .35rem; max-height: 320px; overflow-y: auto;}
mark.jp-hit {background: #fcd34d; font-weight: 600;}
"""

# Links to #measure-X-Y (in answers and source cards) open the card and scroll to it. Registered
# once per page on the document, in the capture phase, so the chat's own link handling (which may
# open links in a new tab) never sees these clicks.
LINK_JS = """
if (!window.__jplanCardLinks) {
  window.__jplanCardLinks = true;
  document.addEventListener('click', (ev) => {
    const a = ev.target?.closest?.('a[href^="#measure-"]');
    if (!a) return;
    ev.preventDefault(); ev.stopPropagation();
    const card = document.getElementById(a.getAttribute('href').slice(1));
    if (card) { card.open = true; card.scrollIntoView({behavior: 'smooth', block: 'nearest'}); }
  }, true);
}
"""


def esc(value: object) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape(str(value), quote=True)


# --- chat text: display form (escaped Markdown) <-> plain form (what the assistant sees) -------


def _md_escape(text: str) -> str:
    text = _MD_INLINE.sub(r"\\\1", html.escape(text, quote=False))
    # "1." at a line start starts a list: escape the dot after the digits, not the digits.
    return _MD_BLOCK.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2)[0].isdigit() else "\\" + m.group(2)),
                         text)


def to_display(text: str, *, link_citations: bool = False) -> str:
    """Plain text → Markdown that renders as exactly that text; ``[No. X-Y]`` become card links."""
    if not link_citations:
        return _md_escape(text)
    out, pos = [], 0
    for m in _CITE_RE.finditer(text):
        out += [_md_escape(text[pos : m.start()]), f"[\\[No. {m.group(1)}\\]](#measure-{m.group(1)})"]
        pos = m.end()
    out.append(_md_escape(text[pos:]))
    return "".join(out)


def to_plain(display: str) -> str:
    """Inverse of :func:`to_display`, so history sent back by the browser reads as typed."""
    text = _LINK_RE.sub(r"[No. \1]", display)
    return html.unescape(re.sub(r"\\(.)", r"\1", text))


def _display_history(history: Sequence[dict] | None) -> list[dict[str, str]]:
    def text(content: Any) -> str:  # Gradio 6 sends a list of parts; API clients may send a str
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content if isinstance(content, str) else str(content or "")

    return [{"role": m["role"], "content": text(m.get("content"))} for m in history or []
            if isinstance(m, dict) and m.get("role") in ("user", "assistant")]


# --- HTML rendering ------------------------------------------------------------------------


def question_terms(question: str) -> list[str]:
    """The question's content words (kanji/katakana runs, longer ASCII words), longest first."""
    found = set(_TERM_RE.findall(question)) | set(_TERM_RE.findall(unicodedata.normalize("NFKC", question)))
    return sorted(found, key=len, reverse=True)


def highlight(text: str, terms: Sequence[str]) -> str:
    """Escape ``text`` and wrap occurrences of ``terms`` in ``<mark>``; matching runs on the raw
    text so no term can ever match inside an HTML entity."""
    if not terms:
        return esc(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms))
    out, pos = [], 0
    for m in pattern.finditer(text):
        out += [esc(text[pos : m.start()]), f"<mark>{esc(m.group(0))}</mark>"]
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def _ministries(names: Sequence[str]) -> str:
    return "、".join(names) if names else "—"


def _list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>" if items else "<p>記載なし</p>"


def measure_card_body(m: Measure) -> str:
    """The full card of one measure: area, ministries, bullets, targets and roadmap rows."""
    roadmap = [f"{r.heading}（主担当: {_ministries(r.lead_ministries)}）" for r in m.roadmap]
    return (
        f'<div class="jp-meta">分野: ({m.chapter}) {esc(m.chapter_title)}</div>'
        f'<div class="jp-meta">主担当府省庁: {esc(_ministries(m.lead_ministries))}'
        f" ／ 関係府省庁: {esc(_ministries(m.related_ministries))}</div>"
        f"<h4>取組の内容</h4>{_list(m.bullets)}"
        f"<h4>具体的な目標</h4>{_list(m.targets)}"
        f"<h4>工程表（取組内容の見出し）</h4>{_list(roadmap)}"
        f'<div class="jp-meta">出典: 重点計画 2025 &gt; {esc(" > ".join(m.section_path))}</div>'
    )


def measure_card(m: Measure, *, with_title: bool = False, id_prefix: str = "", open_: bool = False) -> str:
    """A collapsible card (``id="measure-X-Y"``) that the answer's citation links open."""
    label = f"「{esc(m.title)}」" if with_title else " の施策カード"
    return (
        f'<details class="jp-card" id="{id_prefix}measure-{esc(m.measure_no)}"{" open" if open_ else ""}>'
        f"<summary>No. {esc(m.measure_no)}{label}</summary>{measure_card_body(m)}</details>"
    )


# --- source viewer: a cited passage opened in its document --------------------------------

CONTEXT_CHARS = 500  # of the passage's section shown on either side of the quote


def page_label(page: int | None, slide: int | None) -> str:
    """「p.45」, 「スライド7」 or "" (the web page has neither)."""
    if page is not None:
        return f"p.{page}"
    return f"スライド{slide}" if slide is not None else ""


def _windows(c: Any, doc: Any, catalog: Catalog | None) -> list[tuple[int, int | None]]:
    """Raw windows to look for the citation's quote in, narrowest first: a line such as
    「主担当府省庁：デジタル庁」 occurs in hundreds of measures, so the measure comes first."""
    out: list[tuple[int, int | None]] = []
    start, end = getattr(c, "start", None), getattr(c, "end", None)
    if isinstance(start, int) and not isinstance(start, bool):
        out.append((start, end if isinstance(end, int) else None))
    m = catalog.measures.get(c.measure_no) if catalog and getattr(c, "measure_no", None) else None
    if m is not None:
        if (c.section or "").startswith("第3") and m.roadmap:
            out.append((m.roadmap[0].start, m.roadmap[-1].end))
        return [*out, (m.start, m.end)]  # never the whole plan: the line would be another measure's
    if c.section:
        out += [(s.start, s.end) for s in doc.sections if " > ".join(s.path).startswith(c.section)]
    return [*out, (0, None)]


def locate_citation(c: Any, doc: Any, catalog: Catalog | None) -> tuple[int, int] | None:
    """Raw span of the citation's quote in ``doc`` (``Document.locate`` within its windows)."""
    quote = getattr(c, "quote", "") or ""
    # A composed line (「・見出し（主担当：…）」) is found by its first part.
    tries = [quote, re.split(r"（主担当|\n", quote.lstrip("・ "))[0]]
    for q in dict.fromkeys(t for t in tries if len(t.strip()) >= 4):
        for lo, hi in _windows(c, doc, catalog):
            span = doc.locate(q, lo, hi)
            if span:
                return span
    return None


def passage_context(doc: Any, span: tuple[int, int], quote: str) -> tuple[tuple[str, ...], str, str, str] | None:
    """(section path, text before, the quote as printed, text after) of a located quote, from
    the cleaned text of the section it starts in; None when it cannot be found there."""
    # Imported here, not at the top: the module's import block is kept to what the page needs to start.
    from bisect import bisect_right

    from assistant.corpus import RawTextIndex

    starts = [s.start for s in doc.sections]
    i = bisect_right(starts, span[0]) - 1
    if i < 0:
        return None
    sec = doc.sections[i]
    index = RawTextIndex(sec.text)
    hit = index.locate(quote) or index.locate(doc.raw[span[0] : span[1]])
    if hit is None:
        return None
    a, b = hit
    text = sec.text
    lo, hi = max(0, a - CONTEXT_CHARS), min(len(text), b + CONTEXT_CHARS)
    # Cut at line ends so the context starts and stops with whole sentences where it can.
    if lo > 0:
        nl = text.find("\n", lo, a)
        lo = nl + 1 if nl >= 0 else lo
    if hi < len(text):
        nl = text.rfind("\n", b, hi)
        hi = nl if nl >= 0 else hi
    before = ("…" if lo > 0 else "") + text[lo:a]
    after = text[b:hi] + ("…" if hi < len(text) else "")
    return sec.path, before, text[a:b], after


def source_viewer(c: Any, doc: Any, catalog: Catalog | None, doc_title: str, terms: Sequence[str]) -> str:
    """One quote of a source card as a ``<details>``: the summary is the quote and its page,
    opening it shows the passage in its section with the quote marked (all text escaped)."""
    quote = c.quote
    span = locate_citation(c, doc, catalog) if doc is not None else None
    page, slide = getattr(c, "page", None), getattr(c, "slide", None)
    if span and page is None and slide is None:  # the answer carries no page yet: look it up
        page, slide = doc.page_at(span[0]), doc.slide_at(span[0])
    label = page_label(page, slide)
    context = passage_context(doc, span, quote) if span else None
    mark = doc.page_mark_at(span[0]) if span and page is not None else None
    where = label + (f"（{mark.part} のページ番号）" if mark is not None and mark.part else "")
    if context is None:
        body = ('<div class="jp-meta">原文中の位置を特定できませんでした。</div>'
                f'<div class="jp-context"><mark class="jp-hit">{esc(quote)}</mark></div>')
        path = c.section or "—"
    else:
        sec_path, before, hit, after = context
        path = " > ".join(sec_path)
        body = f'<div class="jp-context">{esc(before)}<mark class="jp-hit">{esc(hit)}</mark>{esc(after)}</div>'
    return (
        '<details class="jp-src">'
        '<summary class="jp-quote" title="クリックすると原文の前後を表示します">'
        f'<span class="jp-qtext">{highlight(quote, terms)}</span>'
        + (f' <span class="jp-page">{esc(label)}</span>' if label else "")
        + ' <span class="jp-open">原文を表示</span></summary>'
        f'<div class="jp-viewer" role="region" aria-label="引用箇所の原文">'
        f'<div class="jp-vtitle">{esc(doc_title)}</div>'
        f'<div class="jp-meta">節: {esc(path)}</div>'
        + (f'<div class="jp-meta">ページ: {esc(where)}</div>' if where else "")
        + body + "</div></details>"
    )


def sources_html(answer: Any, question: str, catalog: Catalog | None, doc_titles: dict[str, str],
                 earlier: Sequence[str] = (), *, documents: Sequence[Any] = ()) -> str:
    """Citation cards for one answer (grouped by measure or section), plus cards of measures
    cited earlier in the conversation so that older ``[No. X-Y]`` links still open.

    Each quote shows its page (「p.45」/「スライド7」) and opens, in place, the passage in its
    section of ``documents`` (see :func:`source_viewer`)."""
    terms = question_terms(question)
    by_id = {d.info.doc_id: d for d in documents}
    parts = [f'<div class="jp-meta">※ {esc(n)}</div>' for n in getattr(answer, "notices", [])]
    groups: dict[tuple[str, ...], list[Any]] = {}
    for c in answer.citations:  # one card per measure, or per document section
        groups.setdefault((c.measure_no,) if c.measure_no else (c.doc_id, c.section), []).append(c)
    shown: set[str] = set()
    for cites in groups.values():
        c = cites[0]
        m = catalog.measures.get(c.measure_no) if catalog and c.measure_no else None
        head = (f'<a class="jp-no" href="#measure-{esc(c.measure_no)}">No. {esc(c.measure_no)}</a>'
                if c.measure_no else "")
        quoted = list({x.quote: x for x in reversed(cites) if x.quote}.values())[::-1]  # first citation per quote
        title = doc_titles.get(c.doc_id, c.doc_id)
        label = page_label(getattr(c, "page", None), getattr(c, "slide", None))
        parts.append(
            f'<div class="jp-cite">{head}<b>{esc(c.title)}</b>'
            + (f'<div class="jp-meta">主担当府省庁: {esc(_ministries(c.lead_ministries))}</div>'
               if c.measure_no or c.lead_ministries else "")
            + f'<div class="jp-meta">文書: {esc(title)}</div>'
            + f'<div class="jp-meta">節: {esc(c.section or "—")}'
            + (f' <span class="jp-page">{esc(label)}</span>' if label and not quoted else "") + "</div>"
            + "".join(source_viewer(x, by_id.get(x.doc_id), catalog, title, terms) for x in quoted)
            + (measure_card(m) if m else "")
            + "</div>"
        )
        if m:
            shown.add(m.measure_no)
    if not answer.citations:
        parts.append('<div class="jp-empty">この回答には出典がありません（計画と関連資料に該当する記載が見つかりませんでした）。</div>')
    others = [n for n in list(dict.fromkeys([*_CITE_RE.findall(answer.text), *earlier])) if n not in shown]
    cards = [measure_card(catalog.measures[n], with_title=True) for n in others if catalog and n in catalog.measures]
    if cards:
        parts.append('<div class="jp-sub">会話で言及された施策</div>' + "".join(cards))
    # Measures on the same subject that the answer does not cite (Answer.related): their cards.
    related = [n for n in getattr(answer, "related", None) or [] if n not in shown and n not in others]
    rel_cards = [measure_card(catalog.measures[n], with_title=True) for n in related if catalog and n in catalog.measures]
    if rel_cards:
        parts.append('<div class="jp-sub">関連する施策</div>' + "".join(rel_cards))
    return '<div class="jp-sources">' + "".join(parts) + "</div>"


# --- shared state --------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """Everything the page serves, as one immutable value: the Assistant (or why there is none),
    the catalog and the documents. A rebuild replaces the whole value with one assignment, so a
    request that took a snapshot never sees a new catalog beside an old index."""

    assistant: Any = None
    error: BaseException | None = None
    catalog: Catalog | None = None
    documents: tuple[Any, ...] = ()

    @property
    def doc_titles(self) -> dict[str, str]:
        """doc_id → the manifest's full title (it names the edition and date staff can look up)."""
        return {**DOC_LABELS, **{d.info.doc_id: d.info.title for d in self.documents}}

    def banner(self) -> str:
        """The banner shown above the build button, or "" when the assistant is ready."""
        if self.assistant is not None:
            return ""
        # By class name, so that a broken assistant.index module cannot break the banner too.
        kinds = {c.__name__ for c in type(self.error).__mro__}
        action = "作成"
        if self.error is None or "IndexMissing" in kinds:
            heading = "インデックスがありません"
        elif "IndexStale" in kinds:
            heading, action = "インデックスが古くなっています", "更新"
        elif "IndexUnavailable" in kinds:
            heading = "インデックスを利用できません"
        else:
            heading = "アシスタントを読み込めませんでした"
        detail = str(self.error) if self.error else f"`{BUILD_CMD}` を実行して作成してください。"
        return (f'<div class="jp-banner"><b>{esc(heading)}</b><br>{esc(detail)}<br>'
                f"下の「インデックスを作成」ボタンで{action}できます（数分かかります）。</div>")


def _served_by(assistant: Any) -> Served:  # accepts any object with the Assistant's interface
    return Served(assistant, None, getattr(assistant, "catalog", None),
                  tuple(getattr(assistant, "documents", None) or ()))


class Runtime:
    """What the page serves (:class:`Served`), shared by every browser session.

    ``served`` is replaced as a whole, never changed in place: handlers read it once per request
    (``state = rt.served``) and use only that snapshot.
    """

    def __init__(self, settings: Settings, assistant: Any = None) -> None:
        self.settings = settings
        self.served = Served()
        self._build_lock = threading.Lock()
        self._feedback_lock = threading.Lock()
        if assistant is not None:
            self.served = _served_by(assistant)
        else:
            self.load()

    # Read-only views of the current snapshot, for callers that need a single field.
    @property
    def assistant(self) -> Any:
        return self.served.assistant

    @property
    def error(self) -> BaseException | None:
        return self.served.error

    @property
    def catalog(self) -> Catalog | None:
        return self.served.catalog

    @property
    def documents(self) -> list[Any]:
        return list(self.served.documents)

    @property
    def doc_titles(self) -> dict[str, str]:
        return self.served.doc_titles

    def banner(self) -> str:
        """The current snapshot's banner (see :meth:`Served.banner`)."""
        return self.served.banner()

    def load(self, *, reread_corpus: bool = False) -> bool:
        """(Re)load the Assistant and swap it in; on failure serve the error, with the catalog if possible.

        Documents are kept from the previous snapshot (so the 施策一覧 tab works even when the
        index does not) unless ``reread_corpus``. Returns whether an Assistant is now served.
        """
        old = self.served
        documents: list[Any] = [] if reread_corpus else list(old.documents)
        try:  # guarded imports too: any failure must leave the page usable
            from assistant.api import Assistant
            from assistant.corpus import load_corpus

            documents = documents or list(load_corpus(self.settings.corpus_dir))
            served = _served_by(Assistant(self.settings, documents=documents))
        except Exception as exc:
            log.warning("assistant unavailable: %s", exc)
            catalog = None if reread_corpus else old.catalog
            if catalog is None and documents:
                try:
                    from assistant.catalog import build_catalog

                    catalog = build_catalog(documents)
                except Exception as cat_exc:
                    log.warning("catalog unavailable: %s", cat_exc)
            served = Served(None, exc, catalog, tuple(documents))
        self.served = served  # the one swap: a request sees the old snapshot or the new, never a mix
        return served.assistant is not None

    def build(self, report: Callable[[float, str], None]) -> str:
        """Build the index with the shared pipeline, then load the Assistant. Returns a message.

        Until the new Assistant is ready the previous snapshot keeps being served.
        """
        with self._build_lock:
            try:
                from assistant.pipeline import build_index_from_settings
            except ImportError:
                return f"この画面からは作成できません。端末で `{BUILD_CMD}` を実行してから、ページを再読み込みしてください。"
            try:
                build_index_from_settings(self.settings, progress_callback=report)
            except Exception as exc:
                log.exception("index build failed")
                return f"インデックスの作成に失敗しました: {exc}"
            report(0.97, "インデックスを読み込んでいます")
            if self.load(reread_corpus=True):  # the build re-read the corpus: so do we
                return "インデックスを作成しました。質問できます。"
            return f"インデックスは作成しましたが、読み込めませんでした: {self.error}"

    def write_feedback(self, record: dict[str, Any]) -> None:
        """Append one JSON line to the feedback file (parent directory created)."""
        path = self.settings.feedback_path
        with self._feedback_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")


# --- data for components -------------------------------------------------------------------


def measure_rows(catalog: Catalog | None, query: str = "") -> list[list[str]]:
    """Rows of the 施策一覧 table, filtered by a free-text query (number, title, ministry, text)."""
    if catalog is None:
        return []
    q = unicodedata.normalize("NFKC", query or "").strip().casefold()
    wanted = set(find_measure_nos(q)) if q else set()
    rows = []
    for m in catalog.in_order():
        if q and m.measure_no not in wanted:
            hay = " ".join([m.title, m.chapter_title, *m.lead_ministries, *m.related_ministries, *m.bullets, *m.targets])
            if not all(w in unicodedata.normalize("NFKC", hay).casefold() for w in q.split()):
                continue
        rows.append([m.measure_no, m.title, f"{m.chapter}. {m.chapter_title}", _ministries(m.lead_ministries)])
    return rows


def _choices(rt: Runtime | Served) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    rt = rt.served if isinstance(rt, Runtime) else rt  # one snapshot for all three lists
    doc_ids = [d.info.doc_id for d in rt.documents] or list(DOC_LABELS)
    titles = {**rt.doc_titles, **DOC_LABELS}  # short labels fit the dropdown
    docs = [("すべての文書", "")] + [(titles.get(d, d), d) for d in doc_ids]
    chapters = [("すべての分野", "")] + [(f"{n}. {t}", str(n)) for n, t in CHAPTER_TITLES.items()]
    names = sorted({n for m in rt.catalog.measures.values() for n in m.lead_ministries}) if rt.catalog else []
    return docs, chapters, [("すべての府省庁", "")] + [(n, n) for n in names]


def _filters(document: str | None, chapter: str | None, ministry: str | None) -> dict[str, Any]:
    chosen = {"doc_id": document, "chapter": int(chapter) if chapter else None, "ministry": ministry}
    return {k: v for k, v in chosen.items() if v}


def _error_message(exc: BaseException) -> str:
    """These exceptions carry Japanese messages meant for the user; anything else gets a generic one."""
    try:
        from assistant.index import IndexUnavailable
        from assistant.questions import InvalidQuestion
        from assistant.retrieval import InvalidFilter
    except ImportError:  # a half-installed package: the generic message below still helps
        return "回答を作成できません。管理者に連絡してください。"
    if isinstance(exc, InvalidFilter):
        return f"絞り込み条件を確認してください: {exc}"
    if isinstance(exc, InvalidQuestion | IndexUnavailable):
        return str(exc)
    return "回答の作成中にエラーが発生しました。時間をおいてもう一度お試しください。"


def new_conversation() -> dict[str, Any]:
    """Per-session state: answers by chat index (for feedback) and measures cited so far."""
    return {"records": {}, "measures": []}


# --- the app -------------------------------------------------------------------------------


def create_app(settings: Settings, assistant: Any = None) -> gr.Blocks:
    """Build the page. ``assistant`` may be injected (tests); otherwise it is loaded here, and a
    failure to load only switches the page to its missing-index state."""
    rt = Runtime(settings, assistant)
    docs, chapters, ministries = _choices(rt)

    def chat(message: str, history: list[dict], document: str, chapter: str, ministry: str,
             conv: dict[str, Any] | None) -> Iterator[tuple[Any, Any, Any, Any]]:
        """Stream the answer to ``message``; ``history`` is the conversation so far."""
        if not isinstance(message, str) or not message.strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        conv = dict(conv or new_conversation())
        shown = _display_history(history)
        plain = [{"role": m["role"], "content": to_plain(m["content"])} for m in shown]
        shown.append({"role": "user", "content": to_display(message)})
        yield "", shown, gr.skip(), gr.skip()
        text, final = "", None
        state = rt.served  # one snapshot for the whole answer, even if a rebuild swaps it meanwhile
        try:
            if state.assistant is None:
                raise state.error or RuntimeError("assistant not loaded")
            for piece in state.assistant.stream(message, history=plain, filters=_filters(document, chapter, ministry)):
                if isinstance(piece, str):
                    text += piece
                    yield "", [*shown, {"role": "assistant", "content": to_display(text, link_citations=True)}], \
                        gr.skip(), gr.skip()
                else:
                    final = piece
        except Exception as exc:
            if not isinstance(exc, ValueError | LookupError) and state.assistant is not None:
                log.exception("answering failed")
            msg = _error_message(exc)
            if state.assistant is None:
                msg += "（画面上部の「インデックスを作成」ボタンで作成できます）"
            shown.append({"role": "assistant", "content": "⚠️ " + to_display(msg)})
            yield "", shown, gr.skip(), conv
            return
        answer_text = final.text if final is not None else text
        shown.append({"role": "assistant", "content": to_display(answer_text, link_citations=True)})
        records = dict(conv.get("records", {}))
        earlier = list(conv.get("measures", []))
        citations = [{**asdict(c), "lead_ministries": list(c.lead_ministries)} for c in (final.citations if final else [])]
        records[len(shown) - 1] = {"question": message, "answer": answer_text, "citations": citations}
        cited = list(dict.fromkeys([*_CITE_RE.findall(answer_text), *earlier]))
        conv = {"records": records, "measures": cited[:40]}
        panel = (sources_html(final, message, state.catalog, state.doc_titles, earlier, documents=state.documents)
                 if final else EMPTY_SOURCES)
        yield "", shown, panel, conv

    def on_like(conv: dict[str, Any] | None, data: gr.LikeData) -> None:
        index = data.index if isinstance(data.index, int) else data.index[0]
        rating = {True: "up", "Like": "up", False: "down", "Dislike": "down"}.get(data.liked)
        if rating is None:  # feedback withdrawn or an unknown option: nothing to record
            return
        record = (conv or {}).get("records", {}).get(index)
        if record is None:  # an error message, not an answer
            return
        try:
            rt.write_feedback({**record, "rating": rating, "timestamp": datetime.now(UTC).isoformat()})
            gr.Info("フィードバックを記録しました。ありがとうございます。")
        except OSError as exc:
            log.exception("feedback write failed")
            gr.Warning(f"フィードバックを保存できませんでした: {exc}")

    def on_build(progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[Any, ...]:  # noqa: B008
        msg = rt.build(lambda frac, desc="": progress(frac, desc=desc))
        return (*_refresh(), msg)

    def _refresh() -> tuple[Any, ...]:
        state = rt.served
        d, c, mi = _choices(state)
        rows = measure_rows(state.catalog)
        return (gr.update(visible=state.assistant is None), state.banner(), gr.update(choices=d),
                gr.update(choices=mi), rows, f"{len(rows)} 件")

    def on_search(query: str) -> tuple[list[list[str]], str]:
        rows = measure_rows(rt.catalog, query)
        return rows, f"{len(rows)} 件" if rows else "該当する施策はありません。"

    def on_select(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        catalog = rt.catalog  # one read of the snapshot
        m = catalog.get(str(row[0])) if catalog and row else None
        if m is None:
            return EMPTY_CARD
        return f'<div class="jp-listcard">{measure_card(m, with_title=True, id_prefix="list-", open_=True)}</div>'

    rows = measure_rows(rt.catalog)
    with gr.Blocks(title="重点計画アシスタント", analytics_enabled=False) as demo:
        gr.HTML(f"<style>{CSS}</style><div class='jp-header'><h1>重点計画アシスタント</h1>"
                "<p>「デジタル社会の実現に向けた重点計画」について質問できます。回答には確認できる出典が付きます。</p></div>",
                js_on_load=None)
        with gr.Group(visible=rt.assistant is None) as banner:
            banner_html = gr.HTML(rt.banner(), js_on_load=None, elem_id="jp-banner")
            build_btn = gr.Button("インデックスを作成", variant="primary")
        build_status = gr.Markdown()
        with gr.Tabs():
            with gr.Tab("チャット", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=360):
                        chatbot = gr.Chatbot(label="会話", height=520, elem_id="jp-chat", latex_delimiters=[],
                                             buttons=["copy"], placeholder="下の入力欄に質問を入力してください。")
                        with gr.Row():
                            box = gr.Textbox(label="質問", show_label=False, elem_id="jp-input", scale=5, lines=1, max_lines=4, autofocus=True,
                                             placeholder="質問を入力して Enter（例: No. 1-57 の主担当府省庁は？）")
                            send = gr.Button("送信", variant="primary", scale=1, min_width=80)
                        new_btn = gr.Button("新しい会話", size="sm")
                        gr.Markdown("**質問の例**（クリックすると質問します）")
                        with gr.Row():
                            example_btns = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                        with gr.Accordion("絞り込み", open=False):
                            doc_dd = gr.Dropdown(docs, value="", label="文書・版")
                            chapter_dd = gr.Dropdown(chapters, value="", label="分野（重点政策の5分野）")
                            ministry_dd = gr.Dropdown(ministries, value="", label="主担当府省庁")
                    with gr.Column(scale=2, min_width=320):
                        gr.Markdown("### 出典")
                        sources = gr.HTML(EMPTY_SOURCES, js_on_load=LINK_JS, elem_id="jp-sources")
            with gr.Tab("施策一覧", id="measures"):
                search = gr.Textbox(label="検索（番号・施策名・府省庁・キーワード）", placeholder="例: マイナンバーカード")
                count = gr.Markdown(f"{len(rows)} 件")
                table = gr.Dataframe(value=rows, headers=TABLE_HEADERS, datatype="str", interactive=False, wrap=True,
                                     max_height=440, column_widths=["9%", "46%", "25%", "20%"], elem_id="jp-table")
                card = gr.HTML(EMPTY_CARD, js_on_load=None, elem_id="jp-list-card")
        conv = gr.State(new_conversation())

        chat_in = [box, chatbot, doc_dd, chapter_dd, ministry_dd, conv]
        chat_out = [box, chatbot, sources, conv]
        gr.on([box.submit, send.click], chat, chat_in, chat_out, api_name="chat", concurrency_limit=8,
              show_progress="minimal")
        for btn, q in zip(example_btns, EXAMPLES, strict=True):
            btn.click(_const(q), None, box, queue=False, api_visibility="private").then(
                chat, chat_in, chat_out, api_visibility="private", concurrency_limit=8, show_progress="minimal")
        new_btn.click(lambda: ([], EMPTY_SOURCES, new_conversation(), ""), None, [chatbot, sources, conv, box],
                      queue=False, api_visibility="private")
        # The chat's own trash button clears only the messages: clear the sources and state too.
        chatbot.clear(lambda: (EMPTY_SOURCES, new_conversation()), None, [sources, conv], queue=False,
                      api_visibility="private")
        chatbot.like(on_like, [conv], None, api_visibility="private")
        refresh_out = [banner, banner_html, doc_dd, ministry_dd, table, count]
        build_btn.click(on_build, None, [*refresh_out, build_status], api_visibility="private",
                        show_progress_on=[banner_html])
        demo.load(_refresh, None, refresh_out, api_visibility="private", queue=False)
        search.change(on_search, search, [table, count], api_visibility="private", queue=False,
                      trigger_mode="always_last")
        table.select(on_select, None, card, api_visibility="private", queue=False)
    demo.queue(default_concurrency_limit=4)
    return demo


def _const(value: str) -> Callable[[], str]:
    return lambda: value


def login_pair(settings: Settings) -> tuple[str, str] | None:
    """``ASSISTANT_UI_AUTH=user:password`` as Gradio's auth pair (None: no login).

    Raises :class:`~assistant.config.InvalidSetting` (Japanese message; the CLI exits 2) when the
    value is not ``user:password``.
    """
    from assistant.config import InvalidSetting

    if not settings.ui_auth:
        return None
    user, _, password = settings.ui_auth.partition(":")
    if not (user and password):
        raise InvalidSetting("ASSISTANT_UI_AUTH は user:password の形式で指定してください。")
    return user, password


LOGIN_MESSAGE = "重点計画アシスタントにログインしてください。"


def main(argv: Sequence[str] | None = None, *, settings: Settings | None = None) -> int:
    """Start the page on loopback by default and block until Ctrl+C.

    ``settings`` comes from the CLI (``python -m assistant ui``, every flag already applied);
    without it ``--host/--port`` are parsed from ``argv`` (``python app.py``).
    """
    parser = argparse.ArgumentParser(prog="app.py", description="重点計画アシスタントの Web 画面を起動します。")
    parser.add_argument("--host", help="待ち受けるアドレス（既定: 127.0.0.1 / ASSISTANT_UI_HOST）")
    parser.add_argument("--port", type=int, help="ポート番号（既定: 7860 / GRADIO_SERVER_PORT / ASSISTANT_UI_PORT）")
    if settings is None:
        args = parser.parse_args(argv)
        settings = Settings.from_env().replace(ui_host=args.host, ui_port=args.port)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio polls itself at start-up
    try:
        auth = login_pair(settings)
    except ValueError as exc:
        parser.error(str(exc))
    demo = create_app(settings)
    _, url, _ = demo.launch(server_name=settings.ui_host, server_port=settings.ui_port, auth=auth,
                            auth_message=LOGIN_MESSAGE if auth else None,
                            prevent_thread_lock=True, quiet=True, show_error=False)
    print(f"重点計画アシスタントを起動しました: {url}" + ("（ログインが必要です）" if auth else ""), flush=True)
    demo.block_thread()
    return 0


__all__ = ["create_app", "login_pair", "main", "measure_rows", "sources_html", "to_display", "to_plain"]
