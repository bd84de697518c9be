"""The source viewer of the chat page (``assistant.ui.sources_html``) on real answers.

Real Assistant, index and corpus; citations are the answers' own, or copies of them changed
with ``dataclasses.replace`` to point at a chosen passage. The browser side (a click opens the
passage) is in tests/test_ui_browser.py.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from assistant.corpus import search_key
from assistant.ui import sources_html

VIEWER = re.compile(r'<details class="jp-src">(.*?)</details>', re.S)


def _html(assistant: Any, question: str, filters: dict | None = None) -> tuple[Any, str]:
    answer = assistant.answer(question, filters=filters) if filters else assistant.answer(question)
    titles = {d.info.doc_id: d.info.title for d in assistant.documents}
    return answer, sources_html(answer, question, assistant.catalog, titles, documents=assistant.documents)


def _pages(html: str) -> list[str]:
    return re.findall(r'<span class="jp-page">(.*?)</span>', html)


def _hits(html: str) -> list[str]:
    return re.findall(r'<mark class="jp-hit">(.*?)</mark>', html, re.S)


def test_measure_quote_has_its_page_and_opens_in_its_measure(assistant):
    answer, html = _html(assistant, "No. 1-57 の主担当府省庁は？")
    viewers = VIEWER.findall(html)
    assert viewers and len(viewers) == len({c.quote for c in answer.citations if c.quote})
    first = viewers[0]
    assert "p.52" in _pages(first)  # the TOC puts No. 1-57 on page 52
    assert "ページ: p.52" in first and "節: 第2 重点政策一覧 &gt; ○[No. 1-57] 運転免許証との一体化" in first
    quote = next(c.quote for c in answer.citations if c.quote)
    assert search_key(_hits(first)[0]) == search_key(quote)


def test_a_common_line_is_found_in_its_own_measure(assistant, catalog):
    """「主担当府省庁：デジタル庁」 is in over a hundred measures: the viewer must show the cited one."""
    answer, _ = _html(assistant, "No. 1-57 の主担当府省庁は？")
    base = next(c for c in answer.citations if c.measure_no)
    later = [m for m in catalog.in_order() if m.lead_ministries == ("デジタル庁",)][5]
    cite = dataclasses.replace(base, measure_no=later.measure_no, title=later.title, quote="主担当府省庁：デジタル庁")
    html = sources_html(dataclasses.replace(answer, citations=[cite]), "主担当は？", catalog,
                        {"plan2025": "重点計画"}, documents=assistant.documents)
    context = re.search(r'<div class="jp-context">(.*?)</div>', html, re.S).group(1)
    assert f"[No. {later.measure_no}]" in context and later.title.replace(" ", "")[:8] in context.replace(" ", "")


def test_slides_show_the_slide_number(assistant):
    answer, html = _html(assistant, "デジタル庁のミッションは？", {"doc_id": "cio-forum-2021"})
    assert answer.citations and all(c.doc_id == "cio-forum-2021" for c in answer.citations)
    labels = _pages(html)
    assert labels and all(re.fullmatch(r"スライド\d+", label) for label in labels)
    assert not any(label.startswith("p.") for label in labels)
    # The label is the slide the quote is on, which its section path names too.
    for viewer in VIEWER.findall(html):
        n = re.search(r"スライド(\d+)", viewer).group(1)
        assert f"節: スライド {n}" in viewer


def test_the_web_page_has_no_page_but_still_opens(assistant):
    answer, html = _html(assistant, "2024年の重点計画のポイントは？", {"doc_id": "plan2024-summary"})
    assert answer.citations and VIEWER.findall(html)
    assert _pages(html) == []
    assert _hits(html) and "ページ:" not in html


def test_pdf_text_quote_has_its_printed_page(assistant, documents):
    answer, html = _html(assistant, "GIGAスクール構想について2021年の計画は？", {"doc_id": "plan2021-education"})
    doc = next(d for d in documents if d.info.doc_id == "plan2021-education")
    cited = [c for c in answer.citations if c.quote]
    assert cited
    for c, viewer in zip(cited, VIEWER.findall(html), strict=False):
        span = doc.locate(c.quote)
        assert span and f"p.{doc.page_at(span[0])}" in _pages(viewer)


def test_source_text_is_escaped(assistant, catalog, plan_doc):
    """A passage with angle brackets (「<NanoTerasu>」 in the plan) is shown as text, never as markup."""
    answer, _ = _html(assistant, "No. 1-57 の主担当府省庁は？")
    base = next(c for c in answer.citations if c.measure_no)
    m = next(m for m in catalog.in_order() if "<NanoTerasu>" in plan_doc.raw[m.start : m.end])
    cite = dataclasses.replace(base, measure_no=m.measure_no, title=m.title, quote="<NanoTerasu>")
    html = sources_html(dataclasses.replace(answer, citations=[cite]), "<NanoTerasu>", catalog,
                        {"plan2025": "重点計画"}, documents=assistant.documents)
    assert "<NanoTerasu>" not in html and "&lt;NanoTerasu&gt;" in html
    assert _hits(html) == ["&lt;NanoTerasu&gt;"]


@pytest.mark.parametrize("documents_given", [False, True])
def test_page_attribute_of_the_citation_is_shown(assistant, documents_given):
    """A citation that carries ``page``/``slide`` shows it even when the passage is not looked up."""
    answer, _ = _html(assistant, "No. 1-57 の主担当府省庁は？")
    base = next(c for c in answer.citations if c.quote)

    class WithPage:  # the answer's citation plus the page field answering.py adds
        def __init__(self, c: Any, page: int) -> None:
            self.__dict__.update({f.name: getattr(c, f.name) for f in dataclasses.fields(c)}, page=page, slide=None)

    html = sources_html(dataclasses.replace(answer, citations=[WithPage(base, 52)]), "主担当", assistant.catalog,
                        {}, documents=assistant.documents if documents_given else ())
    assert _pages(html) == ["p.52"]
    assert ("特定できませんでした" in html) is not documents_given


def test_related_measures_get_their_own_cards(assistant):
    import dataclasses

    from assistant.ui import sources_html

    answer = assistant.answer("No. 3-80 の担当は？")
    titles = {d.info.doc_id: d.info.title for d in assistant.documents}
    plain = sources_html(dataclasses.replace(answer, related=[]), "担当", assistant.catalog, titles)
    html = sources_html(dataclasses.replace(answer, related=["3-83"]), "担当", assistant.catalog, titles)
    assert "関連する施策" not in plain
    assert "関連する施策" in html and 'id="measure-3-83"' in html and "measure-3-83" not in plain
