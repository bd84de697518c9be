"""Printed pages and slide numbers (``Document.page_at`` / ``slide_at``) on the real corpus.

Expected pages are read here from the raw files with small regexes of their own (the tables of
contents, the page numbers printed in the PDF text), independently of the code under test, and
the places they are looked up at come from other stages (catalog measures and procedures,
document sections, chunks).
"""

from __future__ import annotations

import re

import pytest

from assistant.chunking import chunk_corpus, fugashi_token_counter
from assistant.corpus import Document, clean_text, search_key

# "○[No. 1-57] 運転免許証との一体化<TAB>52": one or two entries per line of the 第2 list.
TOC_MEASURE = re.compile(r"○\[No\.\s*(\d+-\d+)\]\t?[^\t]*\t\s*(\d{1,3})\s*(?=\t|$)")
# "① デジタルインフラの整備<TAB>1" (第1 part of the plan's main TOC: one entry per line).
TOC_LINE = re.compile(r"^(.+?)\t(\d{1,3})$")
# "5.<TAB>在留資格に関する手続（◎法務省、デジタル庁）<TAB>23" (第4's own TOC, two columns).
TOC_PROCEDURE = re.compile(r"(?:^|\t)(\d{1,2})\.\t[^\t]*（◎[^\t]*\t(\d{1,3})(?=\t|$)")

# 20 measures across the five chapters (first, last and some in between of each).
SAMPLED_MEASURES = ["1-1", "1-13", "1-41", "1-57", "1-84", "1-109", "2-1", "2-6", "2-35", "2-51",
                    "3-1", "3-22", "3-50", "3-96", "3-121", "4-1", "4-16", "4-33", "5-1", "5-12"]
# 10 headings of 第1 across its 33 pages (labels as the TOC prints them).
SAMPLED_SECTIONS = [
    "① デジタルインフラの整備",
    "③ ガバメントソリューションサービス（GSS）への移行",
    "⑥ 「デジタル化」に対する不安やためらい",
    "3. 目指す社会の姿",
    "③ AI・デジタル技術等のテクノロジーの活用による行政手続のデジタル完結の推進",
    "④ オープンデータの推進",
    "② 防災・医療・こども・教育等の準公共分野におけるデジタル化",
    "③ 国の情報システムの最適化",
    "⑤ サイバーセキュリティの確保",
    "(3) 構造改革のためのデジタル原則",
]
SAMPLED_PROCEDURES = [1, 2, 5, 22, 41, 50, 77]


def _doc(documents: list[Document], doc_id: str) -> Document:
    return next(d for d in documents if d.info.doc_id == doc_id)


def _toc_lines(plan: Document) -> list[str]:
    """Lines of the plan before its first measure body (the main TOC and the 第2 list)."""
    body = re.search(r"(?m)^○\[No\. 1-1\] AI イノベーション促進とリスク対応の両立$", plan.raw)
    assert body is not None
    return plan.raw[: body.start()].split("\n")


@pytest.fixture(scope="module")
def plan(documents: list[Document]) -> Document:
    return _doc(documents, "plan2025")


@pytest.fixture(scope="module")
def toc_measure_pages(plan: Document) -> dict[str, int]:
    pages = {no: int(p) for line in _toc_lines(plan) for no, p in TOC_MEASURE.findall(line)}
    assert len(pages) == 326  # every measure has its page in the 第2 list
    return pages


# --- 2025 plan: table of contents ------------------------------------------------------------


@pytest.mark.parametrize("measure_no", SAMPLED_MEASURES)
def test_sampled_measure_starts_on_its_toc_page(plan, catalog, toc_measure_pages, measure_no):
    m = catalog.measures[measure_no]
    assert plan.page_at(m.start) == toc_measure_pages[measure_no]
    assert plan.page_mark_at(m.start).part == ""  # 第1 and 第2 share one numbering


def test_every_measure_heading_is_on_its_toc_page(plan, catalog, toc_measure_pages):
    wrong = {no: (plan.page_at(m.start), toc_measure_pages[no]) for no, m in catalog.measures.items()
             if plan.page_at(m.start) != toc_measure_pages[no]}
    assert wrong == {}


def test_a_quote_inside_a_measure_is_between_its_page_and_the_next_measures(plan, catalog, toc_measure_pages):
    m = catalog.measures["1-57"]
    assert plan.page_of_quote("主担当府省庁：警察庁", m.start, m.end) == 52
    ordered = catalog.in_order()
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.measure_no.split("-")[0] != a.measure_no.split("-")[0]:
            continue
        last_line = clean_text(plan.raw[a.start : a.end].rstrip().rsplit("\n", 1)[-1])  # without ** markup
        page = plan.page_of_quote(last_line, a.start, a.end)
        assert page is not None and toc_measure_pages[a.measure_no] <= page <= toc_measure_pages[b.measure_no]


@pytest.mark.parametrize("label", SAMPLED_SECTIONS)
def test_sampled_section_heading_is_on_its_toc_page(plan, label):
    expected = {m.group(1).replace("\t", " "): int(m.group(2))
                for line in _toc_lines(plan) if (m := TOC_LINE.match(line))}
    key = search_key(label)
    # Where the body's section with that heading starts (a bare heading starts its first subsection).
    starts = [s.start for s in plan.sections
              if s.kind == "body" and any(search_key(p) == key for p in s.path)]
    assert starts, label
    assert plan.page_at(min(starts)) == expected[label]


@pytest.mark.parametrize("number", SAMPLED_PROCEDURES)
def test_part_4_has_its_own_numbering_from_its_own_toc(plan, catalog, number):
    toc_start = plan.raw.index("## 第4 オンライン化を実施する行政手続の一覧等")
    toc_end = plan.raw.index("## 第4 オンライン化を実施する行政手続の一覧等", toc_start + 1)
    expected = {int(n): int(p) for line in plan.raw[toc_start:toc_end].split("\n")
                for n, p in TOC_PROCEDURE.findall(line.replace("<b>", "").replace("</b>", ""))}
    proc = next(p for p in catalog.procedures if p.number == number)
    mark = plan.page_mark_at(proc.start)
    assert (mark.page, mark.part) == (expected[number], "第4 オンライン化を実施する行政手続の一覧等")


def test_roadmap_pages_are_counted_from_its_page_headers(plan, catalog):
    start = plan.raw.index("### 第3 工程表")
    end = plan.raw.index("## 第4 オンライン化を実施する行政手続の一覧等")
    part3 = plan.raw[start:end]
    # The one page number the conversion kept: "31" under the 31st running header.
    printed = re.search(r"(?m)^## デジタル社会の実現に向けた重点計画 工程表\n\n(31)\n", part3)
    assert printed is not None
    mark = plan.page_mark_at(start + printed.start(1))
    assert (mark.page, mark.part, mark.source) == (31, "第3 工程表", "header")
    # The row right before it is on page 30, the next row after it on that page.
    before = part3.rfind("\n2-13\t", 0, printed.start())
    after = re.compile(r"\n\d+-\d+\t").search(part3, printed.end())
    assert before > 0 and after is not None and after.group().strip() == "2-15"
    assert plan.page_at(start + before + 1) == 30 and plan.page_at(start + after.start() + 1) == 31
    # One page per column header row ("施策管理 番号…"): the last row is on the last page.
    n_pages = len(re.findall(r"(?m)^施策管理 番号\t", part3))
    last_row = max((r for m in catalog.measures.values() for r in m.roadmap), key=lambda r: r.start)
    assert n_pages == 95 and plan.page_at(last_row.start) == n_pages
    assert plan.page_at(catalog.measures["1-1"].roadmap[0].start) == 1


def test_part_5_and_the_cover_have_no_page(plan):
    # 第5 keeps no page number, TOC page or running header in the source: no page is made up.
    assert plan.page_at(plan.raw.index("## 第5 データ利活用制度の在り方に関する基本方針")) is None
    assert plan.page_of_quote("医療データの活用が進むイスラエル") is None
    assert plan.page_at(0) is None
    assert plan.page_at(plan.raw.index("# 第1 目指す社会の姿")) == 1


# --- 2021 PDF texts: printed page numbers ----------------------------------------------------

# Passages whose page was read off the raw file: the page numbers printed at page bottoms (12,
# 14, 18, 26) and inside the pages of the 工程表 annex (1, 2); pages in between are counted.
EDUCATION_PAGES = [
    ("な主体による実効性のある対策に", 12),  # last lines above the printed "12"
    ("第３ 司令塔としてのデジタル庁の役割", 14),  # page 13 is left out of the excerpt: its footer reads 14
    ("主として次の施策について主導的な役割を担い", 14),
    ("第４ デジタル社会の実現に向けての理念・原則", 15),
    ("喫緊の課題であり、行政機関等には", 16),
    ("第５ デジタル化の基本戦略", 18),
    ("⑤ 共通基盤利用原則", 18),  # the heading ends page 18…
    ("ID、ベース・レジストリ等は、国・地方公共団体や準公共", 19),  # …its text starts page 19
    # The heading right after the printed "26" (the words occur on page 26 too, inside a sentence).
    ("包括的データ戦略に関する具体的な施策 ① トラストを確保する枠組みの実現", 27),
]


@pytest.mark.parametrize(("quote", "page"), EDUCATION_PAGES)
def test_education_excerpt_pages(documents, quote, page):
    doc = _doc(documents, "plan2021-education")
    assert doc.page_of_quote(quote) == page


def test_education_annex_has_its_own_page_numbers(documents):
    doc = _doc(documents, "plan2021-education")
    first = doc.locate("国・地方公共団体等の公的機関のウェブアクセシビリティ")
    second = doc.locate("通信事業者によるネットワークの冗")
    assert first and second
    assert (doc.page_at(first[0]), doc.page_mark_at(first[0]).part) == (1, "＜ 工程表 ＞")
    assert doc.page_at(second[0]) == 2


def test_education_page_breaks_agree_with_the_printed_numbers(documents):
    """Between two printed page numbers, the counted page breaks must add up, except where the
    excerpt leaves a whole page out (page 13, between the printed 12 and 14)."""
    doc = _doc(documents, "plan2021-education")
    printed = [m for m in doc._page_marks[1] if m.source == "printed" and m.part == ""]
    assert [m.page for m in printed] == [12, 14, 18, 26]
    marks = [m for m in doc._page_marks[1] if m.part == ""]
    gaps = []
    for a, b in zip(printed, printed[1:], strict=False):
        between = marks.index(b) - marks.index(a)
        if between != b.page - a.page:
            gaps.append((a.page, b.page))
    assert gaps == [(12, 14)]


def test_outline_without_printed_numbers_counts_pages_from_one(documents):
    doc = _doc(documents, "plan2021-outline")
    assert doc.page_of_quote("新重点計画の構成イメージ案") == 1
    assert doc.page_of_quote("（４）地方の情報システムの刷新") == 2
    assert doc.page_of_quote("データセンター、IX 等の立地環境の最適化の推進") == 3
    assert doc.page_of_quote("デジタル人材育成プラットフォームの構築") == 4


# --- slides and the web page -----------------------------------------------------------------


def test_slides_have_slide_numbers_not_pages(documents):
    deck = _doc(documents, "cio-forum-2021")
    slides = [s for s in deck.sections if s.path[0].startswith("スライド ")]
    assert len(slides) >= 30
    for s in slides:
        n = int(s.path[0].split()[1])
        assert deck.slide_at(s.start) == n and deck.slide_at(s.end - 1) == n
        assert deck.page_at(s.start) is None
    assert deck.slide_at(0) is None  # the sharing site's boilerplate before slide 1
    located = deck.locate("デジタル庁(仮称)設置の考え方")
    assert located and deck.slide_at(located[0]) == 3


def test_web_page_has_neither(documents):
    web = _doc(documents, "plan2024-summary")
    assert web.page_at(len(web.raw) // 2) is None and web.slide_at(len(web.raw) // 2) is None
    assert _doc(documents, "plan2025").slide_at(100_000) is None


# --- coverage --------------------------------------------------------------------------------


def test_page_coverage_of_plan_and_pdf_chunks(documents, catalog):
    """Share of the 2025 plan's and the 2021 PDF texts' chunks whose start has a page.

    All but the 2025 plan's 第5 (63 chunks) and its cover: the source has no page number there,
    so they stay None rather than get a guessed page.
    """
    by_id = {d.info.doc_id: d for d in documents}
    chunks = [c for c in chunk_corpus(documents, catalog, fugashi_token_counter(), 400)
              if c.doc_id in ("plan2025", "plan2021-outline", "plan2021-education")]
    missing = [c for c in chunks if by_id[c.doc_id].page_at(c.start) is None]
    coverage = 1 - len(missing) / len(chunks)
    print(f"\npage coverage: {coverage:.4f} ({len(chunks) - len(missing)}/{len(chunks)} chunks)")
    assert {c.section.split(" > ")[0] for c in missing} <= {"第5 データ利活用制度の在り方に関する基本方針", "表紙"}
    assert coverage >= 0.93
    paginated = [c for c in chunks if not c.section.startswith(("第5 ", "表紙"))]
    assert all(by_id[c.doc_id].page_at(c.start) is not None for c in paginated)


def test_pages_are_computed_once_per_document(documents):
    doc = _doc(documents, "plan2025")
    assert doc._page_marks is doc._page_marks
    starts, marks = doc._page_marks
    assert starts == sorted(starts) and len(starts) == len(marks) > 500
