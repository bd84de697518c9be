"""Question understanding without the index: input checks, intents, follow-up references."""

from __future__ import annotations

import pytest

from assistant.questions import (
    InvalidQuestion,
    analyse,
    cited_measures,
    clean_question,
    detect_intent,
    normalize_history,
    unanswerable_kind,
)


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


@pytest.mark.parametrize(
    "question,intent",
    [
        ("No. 1-57 の主担当府省庁は？", "lead"),
        ("マイナ免許証ってどこの省がやってるの", "lead"),
        ("この施策の関係府省庁は", "related"),
        ("ガバメントクラウド移行の目標は何ですか", "targets"),
        ("それはいつまでに達成する予定？", "targets"),
        ("No. 3-40 の工程表を見せて", "roadmap"),
        ("防災に関するどんな施策がありますか", "topic"),
        ("ベース・レジストリとは", "what"),
        ("Which ministry leads the My Number Card measures?", "lead"),
    ],
)
def test_intents(question, intent):
    assert detect_intent(question) == intent


def test_measure_numbers_in_any_spelling():
    assert analyse("ＮＯ．１－５７の主担当").measure_nos == ["1-57"]
    assert analyse("施策3-40と1-1").measure_nos == ["3-40", "1-1"]


HISTORY = [
    {"role": "user", "content": "マイナンバーカードの施策は？"},
    {"role": "assistant", "content": "・No. 1-42「取得支援」[No. 1-42]\n・No. 1-43「マイナポータル」[No. 1-43]\n・No. 1-57 [No. 1-57]"},
]


def test_followup_refers_to_first_cited_measure():
    a = analyse("その施策の目標は？", HISTORY)
    assert a.is_followup and a.referenced_measures == ["1-42"] and a.intent == "targets"
    assert "マイナンバーカード" in a.retrieval_query  # the earlier topic travels with the follow-up


@pytest.mark.parametrize("q,expected", [("2つ目の主担当は？", "1-43"), ("二つ目の担当は", "1-43"),
                                        ("最後のやつの目標は", "1-57"), ("3番目の施策の工程表", "1-57")])
def test_followup_ordinals(q, expected):
    assert analyse(q, HISTORY).referenced_measures == [expected]


def test_new_topic_is_not_a_followup():
    a = analyse("サイバーセキュリティ人材の育成について知りたい", HISTORY)
    assert not a.is_followup and a.referenced_measures == []


def test_explicit_number_wins_over_history():
    a = analyse("No. 3-40 の主担当は", HISTORY)
    assert a.measure_nos == ["3-40"] and a.referenced_measures == []


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
    assert analyse("その目標は？", turns).referenced_measures == ["1-57"]


@pytest.mark.parametrize(
    "q,kind",
    [
        ("No. 1-57 の予算額はいくら？", "money"),
        ("現在のデジタル大臣は誰ですか", "person"),
        ("クラウド事業者の社名を教えて", "company"),
        ("パスワードを忘れたので再発行の方法を教えて", "personal_help"),
        ("おすすめの生成AIはどれ？", "opinion"),
        ("2030年版の重点計画の施策", "future_plan"),
        ("韓国のデジタル政府計画は？", "foreign_plan"),
    ],
)
def test_unanswerable_kinds(q, kind):
    found = unanswerable_kind(q)
    assert found is not None and found[0] == kind


def test_answerable_questions_are_not_flagged():
    for q in ("ガバメントクラウドの目標は？", "No. 1-57 の主担当は？", "データセンターの地方分散"):
        assert unanswerable_kind(q) is None
