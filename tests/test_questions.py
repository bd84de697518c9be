"""Input checks: the question and the history as they arrive."""

from __future__ import annotations

import pytest

from assistant.questions import InvalidQuestion, cited_measures, clean_question, normalize_history


def test_empty_and_whitespace_questions_are_refused():
    for q in ("", "   ", "\u3000\t\n", "\x00\x01"):
        with pytest.raises(InvalidQuestion) as exc:
            clean_question(q, 2000)
        assert exc.value.reason == "empty"
        assert "質問が空です" in str(exc.value)


def test_long_question_is_refused_with_the_limit():
    with pytest.raises(InvalidQuestion) as exc:
        clean_question("あ" * 100_000, 2000)
    assert exc.value.reason == "too_long" and exc.value.limit == 2000
    assert "2,000文字以内" in str(exc.value) and "100,000文字" in str(exc.value)


def test_control_characters_and_lone_surrogates_are_removed():
    assert clean_question("No.\x00 1-57\ud800 の主担当\x7fは？", 2000) == "No. 1-57 の主担当 は？"


def test_not_a_string():
    with pytest.raises(InvalidQuestion):
        clean_question(None, 2000)  # type: ignore[arg-type]


def test_history_from_gradio_format_and_garbage():
    hist = [
        {"role": "user", "metadata": None, "content": [{"text": "No. 1-57 は？", "type": "text"}]},
        {"role": "assistant", "content": [{"text": "… [No. 1-57]", "type": "text"}]},
        {"role": "system", "content": "ignored"},
        "not a dict",
    ]
    turns = normalize_history(hist, 20)
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert cited_measures(turns[1]["content"]) == ["1-57"]


def test_cited_measures_takes_bracketed_and_bare_numbers_in_order():
    from assistant.questions import cited_measures

    text = "防災の施策は No. 3-27（基盤）、No. 3-30（Lアラート）です。詳細 [No. 3-31] と [No. 3-27]。"
    assert cited_measures(text) == ["3-27", "3-30", "3-31"]
    assert cited_measures("施策番号ではない No. 12-345-6 や ABCNo. 1-1") == []


def test_numbers_enumerated_after_a_cited_one_are_cited_too():
    from assistant.questions import cited_measures

    assert cited_measures("移行の施策①②（No. 2-1、2-2）があります。") == ["2-1", "2-2"]
    assert cited_measures("No. 1-47と1-90、それに No. 3-5 です") == ["1-47", "1-90", "3-5"]
    # a date after a number is not one: 「No. 1-5、2025年」
    assert cited_measures("No. 1-5、2025年度から") == ["1-5"]
