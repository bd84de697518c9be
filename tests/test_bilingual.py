"""English questions bridged to the plan's words (assistant.bilingual), on the real index.

Phrasings are in no eval suite (checked by the last test).
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.bilingual import EnglishBridge, loanwords
from tests.test_understanding import assert_in_neither_suite

PHRASINGS: list[str] = []


def phr(text: str) -> str:
    PHRASINGS.append(text)
    return text


@pytest.fixture(scope="module")
def bridge(assistant) -> EnglishBridge:
    bridge = assistant.understanding.bridge
    assert bridge is not None
    return bridge


def japanese(bridge: EnglishBridge, text: str) -> list[str]:
    return [b.japanese for b in bridge.bridge(text)]


def test_loanwords_come_from_the_dictionarys_record_of_their_origin(assistant):
    table = loanwords(assistant.tokenizer, assistant.index.vocabulary())
    assert table["platform"] == "プラットフォーム"
    assert table["island"] == "アイランド"
    assert all(v and k.isascii() for k, v in table.items())


def test_the_index_stores_a_vector_for_each_naming_word(assistant):
    words, vectors = assistant.index.vocabulary_vectors()
    assert vectors is not None and len(words) == vectors.shape[0] > 1000
    assert "特許" in words and not any("ぁ" <= c <= "ゖ" for w in words for c in w)
    assert np.allclose(np.linalg.norm(vectors[:50], axis=1), 1.0, atol=1e-3)


def test_english_words_bridge_to_the_plans_words(bridge):
    assert "特許" in japanese(bridge, phr("Is the patent examination system being rebuilt?"))
    assert "放射線" in japanese(bridge, phr("Anything on radiation measurements?"))
    words = japanese(bridge, phr("Tell me about smart island projects"))
    assert "スマート" in words and "アイランド" in words


def test_names_in_romaji_take_the_plans_kanji(bridge):
    assert "富岳" in japanese(bridge, phr("What will follow Fugaku?"))
    assert "振り仮名" in japanese(bridge, phr("Do registers get furigana?"))


def test_function_words_and_asked_fields_are_not_bridged(bridge):
    assert japanese(bridge, phr("Which ministry is in charge and what is the target?")) == []


def test_a_name_with_no_bridge_is_unsupported(assistant):
    answer = assistant.answer(phr("Is Dogecoin mining covered anywhere?"))
    assert answer.abstained and answer.refusal == "unknown_terms", answer.text
    assert "Dogecoin" in answer.text


@pytest.mark.parametrize("question,measure", [
    (phr("Which ministry runs the Smart Island project?"), "1-30"),
    (phr("By when do family registers get furigana?"), "1-90"),
    (phr("What's the target for the radiation monitoring platform?"), "3-42"),
])
def test_english_questions_find_the_measure(assistant, question, measure):
    answer = assistant.answer(question)
    assert not answer.abstained and answer.measure_nos[:1] == [measure], answer.text


def test_a_fee_named_is_not_a_fee_asked(assistant):
    answer = assistant.answer(phr("When does the medical fee revision module go live?"))
    assert answer.refusal != "missing_fact", answer.text
    asked = assistant.answer(phr("What fee is charged for a My Number Card reissue?"))
    assert asked.abstained, asked.text


def test_without_vocabulary_vectors_only_loanwords_bridge(assistant):
    plain = EnglishBridge(loanwords(assistant.tokenizer, assistant.index.vocabulary()))
    assert japanese(plain, "smart island") == ["スマート", "アイランド"]
    assert japanese(plain, "patent") == []


def test_phrasings_are_in_no_eval_suite():
    assert_in_neither_suite(PHRASINGS)


def test_a_long_english_text_bridges_only_its_first_words(bridge):
    from assistant.bilingual import MAX_BRIDGED_WORDS

    text = " ".join(["patent radiation supercomputer monitoring"] * 20)
    assert 0 < len({b.english for b in bridge.bridge(text)}) <= MAX_BRIDGED_WORDS
    assert len(bridge.bridge(text)) <= 2 * MAX_BRIDGED_WORDS
