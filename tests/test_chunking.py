"""Chunking invariants on the real corpus."""

from __future__ import annotations

import dataclasses
import json

import pytest

from assistant.chunking import (
    CHUNKER_VERSION,
    Chunk,
    chunk_corpus,
    fugashi_token_counter,
    measure_body_sentences,
    measure_target_lines,
    pack_sentences,
    sentence_units,
    split_sentences,
)
from assistant.pipeline import chunk_documents
from assistant.tokenizer import JapaneseTokenizer


@pytest.fixture(scope="module")
def counter():
    return fugashi_token_counter()


@pytest.fixture(scope="module")
def chunks(documents, catalog, counter):
    return chunk_corpus(documents, catalog, counter, 400)


@pytest.fixture(scope="module")
def tokenizer():
    return JapaneseTokenizer()


@pytest.fixture(scope="module")
def tokenized(documents, catalog, counter, tokenizer):
    """The chunks as the index is built from them: with their quotable sentences tokenised."""
    return chunk_corpus(documents, catalog, counter, 400, tokenize=tokenizer.tokenize)


def test_every_measure_is_indexed_and_none_crosses_two(chunks, catalog):
    measure_chunks = [c for c in chunks if c.kind == "measure"]
    assert {c.measure_no for c in measure_chunks} == set(catalog.measures)
    for c in measure_chunks:
        m = catalog.measures[c.measure_no]
        # The chunk's text belongs to its own measure: every bullet sentence is in that measure's body.
        assert f"No. {m.measure_no}" in c.embed_text and m.title in c.embed_text
        assert (c.start, c.end) == (m.start, m.end)
        # No other measure's heading is inside the chunk.
        assert c.text.count("○[No.") == 0 and c.text.startswith(f"No. {m.measure_no} ")


def test_measure_chunks_carry_lead_ministry(chunks, catalog):
    for c in chunks:
        if c.kind in ("measure", "roadmap"):
            m = catalog.measures[c.measure_no]
            assert c.lead_ministries == m.lead_ministries
            assert ("主担当府省庁：" + "、".join(m.lead_ministries)) in c.embed_text


def test_sizes_in_tokens(chunks, counter):
    sizes = [counter(c.text) for c in chunks]
    assert max(sizes) <= 600  # 400-token budget + the header of a split measure
    assert sum(sizes) / len(sizes) > 100  # not shredded


def test_no_table_of_contents(chunks):
    # The truncated TOC lists "○[No. X-Y]\ttitle\tpage": page-number columns never reach a chunk.
    assert not any("\t" in c.text and "○[No." in c.text for c in chunks)
    assert not any(c.text.count("○[No.") > 1 for c in chunks)


def test_offsets_map_back_to_raw(chunks, documents, catalog):
    docs = {d.info.doc_id: d for d in documents}
    for c in chunks:
        assert 0 <= c.start < c.end <= len(docs[c.doc_id].raw)
    # Every sentence of a section or measure chunk is found inside the raw span it points to.
    for c in [c for c in chunks if c.kind in ("section", "measure")][::5]:
        doc = docs[c.doc_id]
        lines = split_sentences(c.text)
        if c.kind == "measure":
            lines = [s.lstrip("・") for s in lines if not s.startswith(("No. ", "主担当", "関係", "具体的な目標"))]
        for sent in lines[:4]:
            assert doc.locate(sent, c.start, c.end), (c.chunk_id, sent)


def test_all_documents_chunked(chunks, documents):
    assert {c.doc_id for c in chunks} == {d.info.doc_id for d in documents}
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_pack_sentences_overlap_whole_sentences(counter):
    sents = [f"これは{i}番目の文で、施策の内容を説明しています。" for i in range(30)]
    pieces = pack_sentences(sents, counter, 60)
    assert len(pieces) > 3
    for a, b in zip(pieces, pieces[1:], strict=False):
        assert a.split("\n")[-1] == b.split("\n")[0]  # one whole sentence of overlap
    for p in pieces:
        assert all(s in sents for s in p.split("\n"))


def test_split_sentences_japanese():
    assert split_sentences("一つ目。二つ目！三つ目？\n・箇条書き") == ["一つ目。", "二つ目！", "三つ目？", "・箇条書き"]


# -- quotable sentences stored with the chunks --------------------------------------------------


def test_sentences_do_not_change_the_chunks(chunks, tokenized):
    # Same text, embedded text and metadata: the embedding cache and Chroma are not disturbed.
    assert all(not c.sentences for c in chunks)
    assert [dataclasses.replace(c, sentences=()) for c in tokenized] == chunks
    assert all(c.sentences for c in tokenized)


def test_stored_tokens_equal_tokenising_the_sentence(tokenized, tokenizer):
    fresh = JapaneseTokenizer()  # another tagger: stored tokens depend on the text alone
    for c in tokenized[::3]:
        for s in c.sentences:
            assert s.tokens == tuple(fresh.tokenize(s.text)), (c.chunk_id, s.text)
        assert len({s.text for s in c.sentences}) == len(c.sentences)  # each sentence once


def test_chunks_carry_every_sentence_answers_quote(tokenized, catalog):
    """The sentences the composer scores: a chunk's sentence units, a measure's bullets and
    targets, a procedure group's 取組内容."""
    for c in tokenized:
        stored = {s.text for s in c.sentences}
        assert set(sentence_units(c.text)) <= stored, c.chunk_id
        if c.kind == "measure":
            m = catalog.measures[c.measure_no]
            assert set(measure_body_sentences(m)) | {t for t in measure_target_lines(m) if t} <= stored
    for p in catalog.procedures:
        stored = {s.text for c in tokenized if c.kind == "procedure" and c.start == p.start for s in c.sentences}
        assert set(sentence_units(p.actions)) <= stored, p.title


def test_measure_sentences_lose_their_bullet_marks(catalog):
    m = catalog.measures["1-57"]
    assert measure_body_sentences(m) and not any(s.startswith(("・", "-", " ")) for s in measure_body_sentences(m))
    assert len(measure_target_lines(m)) == len(m.targets)  # one entry per line: positions follow the plan


def test_chunk_from_dict_round_trips(tokenized):
    for c in tokenized[::7]:
        assert Chunk.from_dict(c.to_dict()) == c
        # to_dict is asdict without the deep copy: the same JSON, so the same index digest.
        assert json.dumps(c.to_dict(), sort_keys=True) == json.dumps(dataclasses.asdict(c), sort_keys=True)
    # A line written by chunker version 1 had no sentences: it still reads (as a chunk without any).
    old = dataclasses.asdict(tokenized[0])
    del old["sentences"]
    assert Chunk.from_dict(old).sentences == () and CHUNKER_VERSION != "1"


def test_sentence_units_cut_long_unpunctuated_text():
    prose = "一つ目の文です。二つ目の文です。"
    assert sentence_units(prose) == ["一つ目の文です。", "二つ目の文です。"]
    page = " ".join(["デジタル庁の取組"] * 30)  # a web page line without 。
    units = sentence_units(page)
    assert len(units) > 1 and all(len(u) <= 120 for u in units)
    assert " ".join(units) == page


class CountingTokenizer(JapaneseTokenizer):
    """A real tokenizer that counts its calls."""

    calls = 0

    def tokenize(self, text: str) -> list[str]:
        self.calls += 1
        return super().tokenize(text)


def test_known_sentence_tokens_are_reused(settings, documents, catalog, tokenized):
    """The pipeline hands a build the tokens the current index already stores: only new
    sentences reach the tokenizer, and the chunks are the same."""
    known = {s.text: s.tokens for c in tokenized for s in c.sentences}
    tok = CountingTokenizer()
    assert chunk_documents(settings, documents, catalog, tok, known_tokens=known) == tokenized
    assert tok.calls == 0
    missing = next(iter(known))
    del known[missing]
    assert chunk_documents(settings, documents, catalog, tok, known_tokens=known) == tokenized
    assert tok.calls == 1


def test_the_roadmap_preface_is_a_chunk_with_its_header_rows(chunks, documents, catalog):
    """第3's preface says what the 工程表 shows; its header rows (columns, years, quarters) are table
    cells that cleaning drops: retrieval sees them in the embedded text, quotes only the preface."""
    doc = next(d for d in documents if d.info.doc_id == catalog.doc_id)
    preface = [c for c in chunks if c.kind == "section" and c.section.startswith("第3")]
    assert len(preface) == 1 and "取組スケジュールを示すものである" in preface[0].text
    embedded = preface[0].embed_text.splitlines()
    assert any(r.startswith("施策管理 番号 施策名 取組内容の見出し") for r in embedded)
    assert "2024年度 2025年度 2026年度 2027年度 2028年度" in embedded
    assert "主担当府省庁" not in preface[0].text
    assert preface[0].end <= min(r.start for r in catalog.roadmap)  # no roadmap row inside it
    for sentence in preface[0].text.splitlines()[1:]:
        assert doc.locate(sentence) is not None, sentence
