"""Stage 1 on the real corpus: manifest, hash check, cleaning, sections and quote lookup."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from assistant.corpus import (
    CorpusError,
    Document,
    RawTextIndex,
    clean_text,
    get_document,
    load_corpus,
    load_manifest,
    locate,
    search_key,
)

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
DOC_IDS = ["plan2025", "plan2024-summary", "plan2021-outline", "plan2021-education", "cio-forum-2021"]
PAGE_NUMBER_LINE = re.compile(r"(?m)^\s*\d{1,4}\s*$")
SENTENCE = re.compile(r"(?<=[。！？])|\n")


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    return load_corpus(CORPUS)


def body(doc: Document) -> list:
    return [s for s in doc.sections if s.kind == "body"]


def copy_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    for f in target.iterdir():
        f.chmod(0o644)  # the originals are read-only
    return target


# --- manifest and hash check ------------------------------------------------------------------


def test_manifest_describes_the_five_documents():
    infos = load_manifest(CORPUS)
    assert [i.doc_id for i in infos] == DOC_IDS
    for info in infos:
        data = (CORPUS / info.filename).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info.sha256
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", info.title), info.title
        assert info.publisher and "政府標準利用規約" in info.license
        assert re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", info.date)
        assert info.date.startswith(str(info.edition)) or info.doc_id == "cio-forum-2021"
        assert info.format in {"plan-markdown", "web-page", "pdf-text", "slides"}
    by_id = {i.doc_id: i for i in infos}
    assert by_id["plan2025"].date == "2025-06-13" and by_id["plan2025"].edition == 2025
    assert by_id["plan2024-summary"].edition == 2024


def test_changed_file_fails_loudly_naming_it(tmp_path):
    corpus = copy_corpus(tmp_path)
    target = corpus / "plan-2025-full.md"
    data = bytearray(target.read_bytes())
    data[1000] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(CorpusError) as err:
        load_corpus(corpus)
    message = str(err.value)
    assert "plan-2025-full.md" in message and "sha256" in message and "変更" in message
    # Without verification the changed copy still loads (for deliberate experiments).
    assert len(load_corpus(corpus, verify=False)) == 5


def test_missing_file_fails_naming_it(tmp_path):
    corpus = copy_corpus(tmp_path)
    (corpus / "plan-2021-outline.txt").unlink()
    with pytest.raises(CorpusError, match=r"plan-2021-outline\.txt.*見つかりません"):
        load_corpus(corpus)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('format = "slides"', 'format = "powerpoint"', "format"),
        ("edition = 2024", 'edition = "2024"', "edition"),
        ('doc_id = "plan2021-outline"', 'doc_id = "plan2025"', "重複"),
        ('date = "2025-06-13"', 'date = "2025-13-40"', "date"),
        ("edition = 2025\n", "edition = 2025\nauthor = 'x'\n", "不明なキー"),
    ],
)
def test_invalid_manifest_is_rejected(tmp_path, old, new, expected):
    corpus = copy_corpus(tmp_path)
    manifest = corpus / "manifest.toml"
    text = manifest.read_text(encoding="utf-8")
    assert old in text
    manifest.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CorpusError, match=expected):
        load_manifest(corpus)


def test_missing_manifest(tmp_path):
    with pytest.raises(CorpusError, match="manifest"):
        load_corpus(tmp_path)


def test_a_new_document_needs_only_a_file_and_a_manifest_entry(tmp_path):
    corpus = copy_corpus(tmp_path)
    text = "第１ 総則\n\n１．目的\n\nこの文書は試験用であり、行が途中で\n\n切れている。\n\n２．範囲\n\n対象は全国とする。\n"
    (corpus / "extra.txt").write_text(text, encoding="utf-8")
    entry = f"""
[[documents]]
doc_id = "extra"
title = "試験用の文書"
publisher = "デジタル庁"
date = "2025-01-01"
edition = 2025
format = "pdf-text"
license = "政府標準利用規約（第2.0版）"
filename = "extra.txt"
sha256 = "{hashlib.sha256(text.encode()).hexdigest()}"
"""
    with (corpus / "manifest.toml").open("a", encoding="utf-8") as f:
        f.write(entry)
    extra = get_document(load_corpus(corpus), "extra")
    assert [s.path for s in extra.sections] == [("第１ 総則", "１．目的"), ("第１ 総則", "２．範囲")]
    assert "この文書は試験用であり、行が途中で切れている。" in extra.sections[0].text


def test_get_document(docs):
    assert get_document(docs, "plan2025").info.filename == "plan-2025-full.md"
    with pytest.raises(CorpusError, match="no-such-doc"):
        get_document(docs, "no-such-doc")


# --- sections: offsets, cleaning, quote lookup ------------------------------------------------


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_sections_point_into_the_raw_file(docs, doc_id):
    doc = get_document(docs, doc_id)
    assert body(doc), "no body sections"
    previous_end = 0
    for s in doc.sections:
        assert s.doc_id == doc_id and s.path and all(s.path) and s.text.strip()
        assert s.kind in {"body", "toc", "nav"}
        assert previous_end <= s.start < s.end <= len(doc.raw), (s.path, s.start, s.end)
        previous_end = s.end
        # Cleaning only deletes noise and rewrites whitespace: the keys agree exactly.
        assert search_key(s.text) == doc.index.key_between(s.start, s.end), s.path


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_every_sentence_can_be_located_in_its_section(docs, doc_id):
    doc = get_document(docs, doc_id)
    for s in doc.sections:
        for sentence in filter(str.strip, SENTENCE.split(s.text)):
            span = doc.locate(sentence, s.start, s.end)
            assert span is not None, (s.path, sentence)
            assert s.start <= span[0] < span[1] <= s.end
            assert search_key(doc.raw[span[0] : span[1]]).endswith(search_key(sentence)[-1:])


@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_cleaning_leaves_no_markup_or_page_furniture(docs, doc_id):
    doc = get_document(docs, doc_id)
    for s in doc.sections:
        assert not PAGE_NUMBER_LINE.search(s.text), (s.path, PAGE_NUMBER_LINE.search(s.text))
        for junk in ("<sup>", "</sup>", "<b>", "**", "- ・"):
            assert junk not in s.text, (s.path, junk)
        assert not re.search(r"(?m)^#", s.text), s.path


def test_repeated_page_headers_are_dropped(docs):
    doc = get_document(docs, "plan2025")
    header = "デジタル社会の実現に向けた重点計画 工程表"
    assert doc.raw.count(header) > 50  # the raw file really has them
    for s in doc.sections:
        assert not re.search(r"(?m)^\s*デジタル社会の実現に向けた重点計画\s*(工程表)?\s*$", s.text), s.path
        assert "1Q\t2Q" not in s.text


def test_web_page_navigation_is_not_body(docs):
    doc = get_document(docs, "plan2024-summary")
    for s in body(doc):
        for nav in ("本文へ移動", "サイトマップ", "プライバシーポリシー", "Global Site"):
            assert nav not in s.text, (s.path, nav)
    nav_text = " ".join(s.text for s in doc.sections if s.kind == "nav")
    assert "本文へ移動" in nav_text and "サイトマップ" in nav_text
    bodies = "\n".join(s.text for s in body(doc))
    assert "2024年6月21日、「デジタル社会の実現に向けた重点計画」が閣議決定されました。" in bodies
    tops = {s.path[0] for s in body(doc)}
    assert {"はじめに", "重点計画とは", "概要", "推進体制の強化", "脚注"} <= tops
    assert (
        "概要",
        "5. 重点課題に対応するための重点的な取組",
        "1. デジタル共通基盤構築の強化・加速",
        "1. デジタル完結の基盤となる取組",
    ) in {s.path for s in doc.sections}
    assert any(s.kind == "toc" and s.text.startswith("目次") for s in doc.sections)


def test_slides_one_section_each_and_boilerplate_is_nav(docs):
    doc = get_document(docs, "cio-forum-2021")
    slides = body(doc)
    assert [s.path[0] for s in slides] == [f"スライド {n}" for n in range(1, 38)]
    assert slides[0].path == ("スライド 1", "デジタル改革のこれまでの経緯")
    assert slides[0].text.startswith("令和2年9月")
    for s in slides:
        assert "Upgrade to Pro" not in s.text and "More Decks by" not in s.text
    nav = [s for s in doc.sections if s.kind == "nav"]
    assert nav and "Upgrade to Pro" in nav[0].text and "Transcript" in nav[0].text
    # A slide's continuation line is joined to its first line.
    assert "個人番号の利用による預貯金口座の管理等に関する法律案" in slides[0].text


def test_pdf_lines_broken_mid_sentence_are_rejoined(docs):
    doc = get_document(docs, "plan2021-education")
    sentence = (
        "我が国では、高度情報通信ネットワーク社会形成基本法（IT基本法）の制定以降、インターネット等の"
        "ネットワーク環境の整備は相当程度進展したものの、デジタル技術の進展に伴い、その重要性・多様性・容量が"
        "爆発的に増大した「データ」については、生成・流通・活用など全ての側面において環境整備が十分ではなかった。"
    )
    assert "インターネット等のネットワーク環境" not in doc.raw  # broken across lines in the raw file
    texts = "\n".join(s.text for s in body(doc))
    assert sentence in texts  # whole, footnote number "1" dropped
    assert "進めることに繋がるとしている。" in texts  # ruby line "つ な" removed, "繋\nがる" joined
    assert "つ な" not in texts and "令和3年（2021年）12月24日" in "".join(s.text for s in doc.sections)
    assert "デジタル社会推進会議は、" in texts  # glued footnote 76 removed
    assert "17業務に" in texts  # a real number next to a footnote stays


def test_outline_headings_nest(docs):
    doc = get_document(docs, "plan2021-outline")
    paths = {s.path for s in body(doc)}
    assert (
        "第２部 デジタル社会の実現に向けた基本的な施策",
        "１．国民に対する行政サービスのデジタル化の推進",
        "（２）マイナンバーカード等の活用の推進",
    ) in paths
    mynumber = next(s for s in body(doc) if s.path[-1] == "（２）マイナンバーカード等の活用の推進")
    assert (
        "・マイナポータル等を通じたオンライン手続の充実（概ね全市町村で、子育て等主要手続のオンライン申請を可能に）等"
        in mynumber.text
    )


def test_plan2025_covers_all_parts_with_numbered_paths(docs):
    doc = get_document(docs, "plan2025")
    parts = {s.path[0].split()[0] for s in body(doc)}
    assert {"第1", "第2", "第3", "第4", "第5"} <= parts
    paths = {s.path for s in doc.sections}
    assert (
        "第1 目指す社会の姿、取組の方向性と重点的な取組",
        "4. 取組の方向性と重点的な取組",
        "(1) AI・デジタル技術等のテクノロジーの徹底活用による社会全体のデジタル化の推進",
        "① AI の活用環境の整備と利活用の促進",
    ) in paths
    # Bold and unmarked headings count too ("（３）KPI" has no #).
    assert any(p[-1] == "（３）KPI" and p[0].startswith("第4") for p in paths)
    measures = {s.path[1] for s in body(doc) if s.path[0].startswith("第2") and len(s.path) > 1}
    assert len({m for m in measures if m.startswith("○[No.")}) == 326
    # No section is a whole part: the longest stays well below the size of 第2 (≈400k characters).
    assert max(len(s.text) for s in doc.sections) < 20_000


def test_plan2025_tables_of_contents_are_marked(docs):
    doc = get_document(docs, "plan2025")
    toc = [s for s in doc.sections if s.kind == "toc"]
    toc_text = "\n".join(s.text for s in toc)
    assert "第1 目指す社会の姿、取組の方向性と重点的な取組\t1" in toc_text  # the front 目次
    assert "○[No. 1-41]" in toc_text  # the measure list at the start of 第2
    assert any(s.path[0].startswith("第4") for s in toc) and any(s.path[0].startswith("第5") for s in toc)
    page_entry = re.compile(r"(?m)\t\d{1,3}\s*$")
    for s in body(doc):
        if s.path[0].startswith(("第1", "第2", "第5")):
            assert not page_entry.search(s.text), s.path
    cover = doc.sections[0]
    assert cover.kind == "body" and "国会に報告するものである。" in cover.text


# --- text helpers -----------------------------------------------------------------------------


def test_clean_text_rules():
    assert clean_text("- ・ 項目である。") == "・項目である。"
    assert clean_text("#### ① デジタルインフラの整備") == "① デジタルインフラの整備"
    assert clean_text("**具体的な目標：**目標<sup>12</sup>を定める。") == "具体的な目標：目標を定める。"
    assert (
        clean_text("前の段落である。\n\n12\n\n---\n\n次の 段落 です。") == "前の段落である。\n次の段落です。"
    )
    assert clean_text("これは途中で\n\n切れた文です。") == "これは途中で切れた文です。"
    assert clean_text("ことに 繋\nつ な\n\nがる。") == "ことに繋がる。"
    assert clean_text("Data Free Flow with Trust （ DFFT ）") == "Data Free Flow with Trust（DFFT）"
    assert (
        clean_text("（１）見出し\n\n本文が続く。") == "（１）見出し\n本文が続く。"
    )  # a heading is not joined
    assert clean_text("・ 一つ目\n・ 二つ目") == "・一つ目\n・二つ目"
    assert (
        clean_text("本文。\n\n重点計画 工程表\n\n続き。", page_headers=["重点計画 工程表"])
        == "本文。\n続き。"
    )
    assert clean_text("A\tB\nC\tD") == "A\tB\nC\tD"  # table rows are never joined
    assert clean_text("２０２５年度") == "２０２５年度"  # no NFKC: quotes keep the original characters


def test_search_key_normalises_width_and_spacing():
    assert search_key("ＡＩ 活用　２０２５年\n①") == "AI活用2025年1"
    assert search_key(" \n\t") == ""


def test_locate_maps_back_to_raw_offsets():
    raw = "見出し\n\n前半の文章が\n\n31\n\n後半に続く。ＡＩの話。"
    span = locate("前半の文章が後半に続く。", raw)
    assert span == (raw.index("前半"), raw.index("続く。") + 3)
    assert locate("AIの話", raw) == (raw.index("ＡＩ"), raw.index("の話") + 2)
    assert locate("存在しない文", raw) is None
    assert locate("", raw) is None
    index = RawTextIndex(raw)
    assert index.locate("見出し", start=5) is None  # outside the window
    assert index.locate("見出し", end=3) == (0, 3)


def test_locate_in_the_plan_by_cleaned_quote(docs):
    doc = get_document(docs, "plan2025")
    quote = "我が国においては、高度情報通信ネットワーク社会形成基本法（IT 基本法）の制定以降"
    start, end = doc.locate(quote)
    assert "<sup>1</sup>" in doc.raw[start:end]  # the footnote marker sits inside the span
    assert locate(quote, doc.raw) == (start, end)


def test_reload_and_locate_every_sentence(docs):
    """Loading again gives the same documents; 2,000 cleaned sentences all map back to raw text.
    (How fast: `python -m assistant bench`, "corpus".)"""
    again = load_corpus(CORPUS)
    assert [(d.info.doc_id, len(d.sections), d.raw) for d in again] == [(d.info.doc_id, len(d.sections), d.raw) for d in docs]
    doc = get_document(docs, "plan2025")
    sentences = [x for s in body(doc) for x in SENTENCE.split(s.text) if len(x) > 10][:2000]
    assert len(sentences) == 2000
    assert sum(doc.locate(x) is not None for x in sentences) == 2000
