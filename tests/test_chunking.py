"""Chunking invariants on the real corpus."""

from __future__ import annotations

import pytest

from assistant.chunking import chunk_corpus, fugashi_token_counter, pack_sentences, split_sentences


@pytest.fixture(scope="module")
def counter():
    return fugashi_token_counter()


@pytest.fixture(scope="module")
def chunks(documents, catalog, counter):
    return chunk_corpus(documents, catalog, counter, 400)


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
