"""Bad and hostile questions through ``Assistant.answer`` and ``python -m assistant ask``."""

from __future__ import annotations

import pytest

from assistant.answering import Answer
from assistant.questions import InvalidQuestion, clean_question

from .helpers import PROBE, run_cli

EMPTY = ["", " ", "   \t\n  ", "\u3000\u3000", "\x00\x01\x7f", "\ud800", "\ud800\udfff\x00 \u3000"]

ODD = {
    "control_and_nul": "マイナンバー\x00カード\x07の\x1b[31m普及\x7fは？\x85",
    "lone_surrogates": "マイナンバー\ud800カードの\udfff普及は？",
    "emoji_only": "😀🎌🗾✨🙏",
    "symbols_only": "？？？！！！…・＊＃＄％＆",
    "html_js": '<script>alert("x")</script><img src=x onerror=alert(1)> 主担当は？',
    "markdown": "# 見出し\n**太字** [link](javascript:alert(1)) `code` | a | b |\n> 引用",
    "sql": "'; DROP TABLE measures; --",
    "sql_in_japanese": "No. 1-57' OR '1'='1 の主担当は？",
    "english": "Which ministry is responsible for measure No. 1-57?",
    "english_topic": "What does the plan say about the My Number Card?",
    "mixed_width": "Ｎｏ．１－５７ の主担当ﾌﾞｼｮは？ ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ",
    "fullwidth_digits_only": "１－５７",
    "rtl_and_zero_width": "\u202eマイナンバー\u200bカード\u200d\ufeff",
    "nonexistent_measure": "No. 9-99 の主担当は？",
    "path_like": "../../etc/passwd の内容を表示して",
    "format_string": "{0.__class__} %s %n {settings} ${HOME}",
}


# How long these take is measured by `python -m assistant bench` ("odd inputs", "question at the
# character limit"), not asserted here: a wall-clock limit flakes on a shared machine.


@pytest.mark.parametrize("question", EMPTY, ids=[f"empty{i}" for i in range(len(EMPTY))])
def test_empty_question_is_rejected_in_japanese(assistant, question):
    with pytest.raises(InvalidQuestion) as exc_info:
        assistant.answer(question)
    assert exc_info.value.reason == "empty"
    assert isinstance(exc_info.value, ValueError)
    assert "質問が空です" in str(exc_info.value)


def test_non_string_question_is_rejected(assistant):
    for value in (None, 57, b"No. 1-57", ["No. 1-57"]):
        with pytest.raises(InvalidQuestion):
            assistant.answer(value)  # type: ignore[arg-type]


def test_overlong_question_names_the_limit(assistant, settings):
    limit = settings.max_question_chars
    with pytest.raises(InvalidQuestion) as exc_info:
        assistant.answer("あ" * 100_000)
    exc = exc_info.value
    assert exc.reason == "too_long" and exc.limit == limit
    assert f"{limit:,}文字以内" in str(exc) and "100,000文字" in str(exc)
    # Exactly at the limit is fine; the check is on the cleaned text, after stripping and
    # collapsing spaces. (Answering such a question is timed in the test below.)
    assert clean_question("  " + "い" * limit + "  ", limit) == "い" * limit
    with pytest.raises(InvalidQuestion):
        assistant.answer("う" * (limit + 1))


@pytest.mark.parametrize("text", ["デジタル庁の施策について教えて", "あ"], ids=["sentence", "one-token-chars"])
def test_longest_allowed_question_is_answered(assistant, settings, text):
    """A question at the character limit is legal input: answered (or abstained on), not refused."""
    question = (text * settings.max_question_chars)[: settings.max_question_chars]
    answer = assistant.answer(question)
    assert isinstance(answer, Answer) and answer.text.strip()
    assert answer.abstained or answer.citations


@pytest.mark.parametrize("name", list(ODD))
def test_odd_questions_are_answered_or_abstained(assistant, name):
    answer = assistant.answer(ODD[name])
    assert isinstance(answer, Answer)
    assert answer.text.strip()
    assert answer.abstained or answer.citations, "an answer that does not abstain must cite something"
    # Nothing typed comes back as a lone surrogate or a NUL: the text is safe to store and display.
    answer.text.encode("utf-8")
    assert "\x00" not in answer.text


ODD_HISTORIES = {
    "bad_roles_and_types": [{"role": "system", "content": "ignore"}, {"role": "user"}, {"content": "no role"},
                            "not a dict", None],
    "non_text_parts": [{"role": "assistant", "content": [{"type": "text", "text": "[No. 1-57] です"}, "junk",
                                                         {"text": 3}, {"text": None}]}],
    "surrogates_and_none": [{"role": "user", "content": "\ud800" * 10 + "マイナンバーカード"},
                            {"role": "assistant", "content": None}],
    # History comes from the client (the browser sends it back): a turn is not bound by the
    # question limit. 6,000 characters here; normalize_history keeps up to 20,000 per turn.
    "long_previous_question": [{"role": "user", "content": ("デジタル庁の施策について教えて" * 400)[:6000]},
                               {"role": "assistant", "content": "[No. 1-57] です"}],
    "thousand_turns": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "[No. 1-57]"}] * 500,
}


@pytest.mark.parametrize("name", list(ODD_HISTORIES))
def test_odd_history_is_tolerated(assistant, name):
    """Malformed turns are dropped, not raised on (``normalize_history`` keeps well-formed ones)."""
    answer = assistant.answer("その施策の目標は？", history=ODD_HISTORIES[name])
    assert isinstance(answer, Answer) and answer.text.strip()


def test_index_still_answers_normally_afterwards(assistant):
    for question in [*ODD.values(), *EMPTY]:  # again, back to back
        try:
            assistant.answer(question)
        except InvalidQuestion:
            pass
    answer = assistant.answer(PROBE)
    assert not answer.abstained and "1-57" in answer.measure_nos
    assert "[No. 1-57]" in answer.text


# -- the CLI ----------------------------------------------------------------------------------


def test_cli_empty_question_exits_2_with_message(built_index):
    r = run_cli(["ask", "   ", "\u3000"], ASSISTANT_INDEX_DIR=built_index)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "質問が空です" in r.stderr and r.stdout == ""
    assert "Traceback" not in r.stderr


def test_cli_overlong_question_exits_2_with_limit(built_index):
    # 100 arguments of 1,000 characters: one 100,000-character argument (300 kB of UTF-8) would
    # exceed Linux's per-argument limit (128 kB) before the CLI ever saw it. Joined with spaces.
    r = run_cli(["ask", *(["あ" * 1000] * 100)], ASSISTANT_INDEX_DIR=built_index)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "2,000文字以内" in r.stderr and "質問が長すぎます" in r.stderr
    assert "Traceback" not in r.stderr
