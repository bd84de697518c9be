"""Spelling recovery by reading (assistant.spelling) on the real corpus vocabulary.

Phrasings are in no eval suite (checked by the last test).
"""

from __future__ import annotations

import pytest

from assistant.spelling import Respeller, to_katakana
from tests.test_understanding import assert_in_neither_suite

PHRASINGS: list[str] = []


def phr(text: str) -> str:
    PHRASINGS.append(text)
    return text


@pytest.fixture(scope="module")
def respeller(assistant) -> Respeller:
    assert assistant.analyzer.respeller is not None
    return assistant.analyzer.respeller


def test_to_katakana():
    assert to_katakana("でんしかるて・ABC") == "デンシカルテ・ABC"


@pytest.mark.parametrize("question,typed,plan", [
    (phr("でんしかるてを入れる病院への支援"), "でんしかるて", "電子カルテ"),
    (phr("ちほうこうきょうだんたいの窓口について"), "ちほうこうきょうだんたい", "地方公共団体"),
    (phr("ほけんしょうの扱いはどうなるの"), "ほけんしょう", "保険証"),
    # katakana typed for a word the plan writes in kanji, by reading
    (phr("戸籍にフリガナが載るのはいつから"), "フリガナ", "振り仮名"),
    (phr("シンリョウホウシュウの改定をデジタルで"), "シンリョウホウシュウ", "診療報酬"),
])
def test_nouns_typed_in_kana_take_the_plans_kanji(respeller, question, typed, plan):
    result = respeller.respell(question)
    assert (typed, plan) in result.changes and plan in result.text and typed not in result.text


def test_loanwords_typed_in_hiragana_take_katakana(respeller):
    result = respeller.respell(phr("くらうどを使う自治体は増えた？"))
    assert result.text.startswith("クラウドを使う")
    whole = respeller.respell(phr("まいなんばーかーどで救急搬送"))
    assert whole.text.startswith("マイナンバーカードで")


def test_kana_that_finishes_a_kanji_word(respeller):
    result = respeller.respell(phr("こども家庭ちょうの相談窓口のDX"))
    assert result.text.startswith("こども家庭庁の") and ("ちょう", "庁") in result.changes


@pytest.mark.parametrize("question", [phr("ルールの見直しはいつごろ？"), phr("指針の見直しはいつごろになる？")])
def test_the_kana_ending_of_a_kanji_word_starts_no_respelled_word(respeller, question):
    # 見直し|は|いつ: し ends 見直し, so しはい is not 支配
    assert not respeller.respell(question).changes


@pytest.mark.parametrize("question,typo,plan", [
    (phr("高度な人財の確保はどう進める"), "人財", "人材"),
    (phr("後期高齢者の保健証は廃止？"), "保健証", "保険証"),
])
def test_a_kanji_of_the_same_sound_is_corrected(respeller, question, typo, plan):
    result = respeller.respell(question)
    assert plan in result.text and typo not in result.text


@pytest.mark.parametrize("question,slip,plan", [
    (phr("ガバメントクラウトへ移るのはいつ？"), "ガバメントクラウト", "ガバメントクラウド"),
    (phr("マイナンバカードで受診できる病院"), "マイナンバカード", "マイナンバーカード"),
    (phr("マイナポタルの使い勝手をよくする取組"), "マイナポタル", "マイナポータル"),
    # compounds the tokenizer splits (サイバー|ポート) are found against the text's katakana runs
    (phr("サイバーポトにつながる港湾の関係者は何者？"), "サイバーポト", "サイバーポート"),
    (phr("ベースレジストリの整備でアドレスベスレジストリは？"), "アドレスベスレジストリ", "アドレスベースレジストリ"),
    # Latin letters typed by their names take the plan's letters
    (phr("ジェイアラートはどこの省が持ってる？"), "ジェイアラート", "Jアラート"),
    (phr("エルアラートの安定運用の目標"), "エルアラート", "Lアラート"),
    (phr("ジーアイジーエーの端末は何年で更新？"), "ジーアイジーエー", "GIGA"),
])
def test_katakana_slips_take_the_plans_spelling(respeller, question, slip, plan):
    result = respeller.respell(question)
    assert (slip, plan) in result.changes and plan in result.text


def test_letter_names_that_spell_nothing_the_plan_has_stay_as_typed(respeller):
    # エスエヌエス (SNS + nothing) would be letters the corpus may know; エイチピーオー is not a word
    for question in (phr("エイチピーオーの施策"),):
        assert respeller.respell(question).changes == (), question


def test_a_katakana_name_the_plan_lacks_stays_as_typed(respeller):
    for question in (phr("ポケトークを窓口に置く施策"), phr("ユーチューブで広報する計画")):
        assert respeller.respell(question).changes == (), question


def test_loose_katakana_ignores_long_vowels_voicing_and_small_kana():
    from assistant.spelling import loose_katakana

    assert loose_katakana("ガバメントクラウド") == loose_katakana("カバメントクラウト")
    assert loose_katakana("マイナポータル") == loose_katakana("マイナポタル")
    assert loose_katakana("シェア") == loose_katakana("シエア") != loose_katakana("シア")


@pytest.mark.parametrize("question", [
    phr("自治体システムの標準化はいつ終わりますか？教えてください"),
    phr("すべての府省庁が対象ですか"),
    phr("手続のオンライン化について知りたいです"),
    phr("エストニアの電子政府との比較はある？"),  # a name the plan lacks stays as typed
])
def test_questions_written_the_plans_way_are_left_alone(respeller, question):
    result = respeller.respell(question)
    assert result.text == question and result.changes == ()


def test_particles_and_verbs_stay_as_typed(respeller):
    result = respeller.respell(phr("もくひょうをおしえてください"))
    assert result.text == "目標をおしえてください"


def test_the_answer_says_how_it_read_the_question(assistant):
    answer = assistant.answer(phr("でんしかるての普及はいつまでに？"))
    assert not answer.abstained and "3-43" in answer.measure_nos
    assert any("『でんしかるて』を『電子カルテ』" in n for n in answer.notices)
    plain = assistant.answer(phr("電子カルテの普及はいつまでに？"))
    assert plain.notices == [] and plain.measure_nos[:1] == answer.measure_nos[:1]


def test_a_homophone_typo_is_not_taken_for_a_word_the_plan_lacks(assistant):
    answer = assistant.answer(phr("デジタル人財をどう育てるのか"))
    assert not answer.abstained and answer.refusal is None


def test_phrasings_are_in_no_eval_suite():
    assert_in_neither_suite(PHRASINGS)


@pytest.mark.parametrize(("word", "kana"), [
    ("ikou", "いこう"), ("nannin", "なんにん"), ("iin", "いいん"), ("gakkou", "がっこう"),
    ("mainanbaakaado", "まいなんばーかーど"), ("kon'ya", "こんや"), ("hyoujunka", "ひょうじゅんか"),
    ("target", None), ("the", None), ("leads", None),
])
def test_romaji_reads_as_kana(word, kana):
    from assistant.spelling import romaji_to_kana

    assert romaji_to_kana(word) == kana


def test_a_question_typed_with_the_ime_off_is_read_as_kana(assistant):
    """「gabamento kuraudo no ikou kigen」 is kana input typed in romaji; an English question is not."""
    from assistant.spelling import romaji_question

    assert romaji_question("What is the target for local governments?") is None
    assert romaji_question("No1-57 no tantou") is None  # a measure number: not romaji input
    # particles typed as pronounced are written as kana input writes them
    assert romaji_question("kaado wo tsukau houhou wa") == "かーどをつかうほうほうは"
    assert romaji_question("kouiki e no iten") == "こういきへのいてん"
    a = assistant.answer("gabamento kuraudo heno ikou no kigen wa?")
    assert not a.abstained and a.measure_nos[:1] == ["3-80"], a.text
    assert a.notices and "ガバメントクラウド" in a.notices[0]


def test_a_long_loanword_in_hiragana_is_taken_whatever_the_parse(assistant):
    """unidic parses 「べーすれじすとり」 as grammar (べ|ー|すれ|じ|す|とり); five kana or more that
    sound like a katakana word of the plan are that word. Grammar stays as typed."""
    respell = assistant.analyzer.respell
    assert respell("べーすれじすとりの進み具合").text.startswith("ベースレジストリ")
    assert respell("調べてくださいますか").text == "調べてくださいますか"


def test_short_kana_nouns_that_together_sound_like_one_word(respeller):
    """unidic reads 「いちらん」 as い|ち|らん → 一|欄: together they sound like the corpus noun 一覧."""
    result = respeller.respell(phr("保健の施策のいちらんがほしい"))
    assert ("いちらん", "一覧") in result.changes
    # kana nouns that sound like no corpus noun together stay as typed
    assert respeller.respell(phr("そのうちことしの分は？")).changes == ()


def test_a_long_kana_run_is_respelled_in_linear_time(respeller, monkeypatch):
    """No piece is longer than the lexicon's longest reading: a 2,000-kana question (legal input)
    had taken minutes, every start position trying every end. Counted, not timed."""
    longest = respeller.longest_reading()
    assert 0 < longest < 40
    calls = []
    original = respeller._candidates
    monkeypatch.setattr(respeller, "_candidates", lambda kana: calls.append(len(kana)) or original(kana))
    respeller.respell("あ" * 2000)
    assert calls and max(calls) <= longest and len(calls) <= 2000 * longest


def test_a_katakana_word_with_its_small_tsu_dropped_takes_the_plans(respeller):
    question = phr("マイナンバーカードをスマホにインストルする話とキャシュレスの話")
    assert_in_neither_suite([question])
    result = respeller.respell(question)
    assert ("キャシュレス", "キャッシュレス") in result.changes
