"""Tasks read from how a turn closes (assistant/task_requests.py), and questions that close the
same way but ask what the documents say.

Every phrasing is in neither eval suite (checked below). The tasks are chosen so that no request
kind of the intents table describes them: they are caught because their closing verb or the thing
they ask for is not a way of asking for information, with no word of theirs listed anywhere.
"""

from __future__ import annotations

import unicodedata

import pytest

from assistant.intents import load_intents, request_kind
from assistant.task_requests import TaskRequestReader
from assistant.tokenizer import JapaneseTokenizer
from tests.test_understanding import assert_in_neither_suite

TASKS = [
    "庁内報に載せる四コマ漫画のネタを練っといて",
    "デジタル田園都市をテーマに落語の小噺をこしらえて",
    "窓口対応の研修で使う寸劇の台詞を用意してほしい",
    "年賀状に添える一言を一緒にひねり出してもらえますか",
    "元気のない部下を励ましてやってください",
    "この計画の良いところを思いきり褒めちぎって",
    "ロボットっぽい口調で喋ってみて",
    "次の課内会議の議題を決めておいて",
    "来年の運勢を占ってください",
    "しりとりの続きをやってよ",
    "異動する先輩への寄せ書きの言葉を3案ください",
    "新人歓迎会の出し物の段取りをお願いします",
]

QUESTIONS = [
    "ガバメントクラウドへの移行期限を教えてもらえますか",
    "防災に関係する施策を一覧にしてください",
    "医療DXの施策を番号順に並べて",
    "No. 2-14の中身をかいつまんで説明して",
    "自治体システムの標準化の話を要約してください",
    "マイナ保険証まわりの施策を洗い出しておいて",
    "主担当の府省庁も添えて",
    "もう少し詳しく書いて",
    "No. 1-57を表示して",
    "関係する施策を三つ挙げてみて",
    "その工程表を見せてくれない？",
    "教育DXの目標をお願いします",
    "続きをください",
    "前の施策と比べてみて",
    "今どうなってるか調べて",
    "公金受取口座の話、担当はどこか答えて",
]


def test_phrasings_are_in_neither_eval_suite():
    assert_in_neither_suite(TASKS + QUESTIONS + ["主担当の府省庁も書いといて", "推進体制の説明を、漫談の調子に仕立てて"])


@pytest.fixture(scope="module")
def reader():
    return TaskRequestReader(JapaneseTokenizer(), load_intents())


@pytest.mark.parametrize("text", TASKS)
def test_a_request_closing_on_a_verb_of_doing_is_a_task(reader, text):
    normalized = unicodedata.normalize("NFKC", text)
    assert request_kind(normalized) is None  # no listed kind describes it ...
    found = reader.request(normalized)  # ... how it closes does
    assert found is not None and found.name == "task"


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_request_for_what_the_documents_say_is_no_task(reader, text):
    assert reader.request(unicodedata.normalize("NFKC", text)) is None


def test_quoted_text_is_material_not_the_request(reader):
    # the quote closes on a verb of doing, the request on 教えて
    assert reader.request("「窓口で書かずに済むようにして」という目標の施策を教えて") is None
    assert reader.request("「書かない窓口」という言葉を、落語の口調に仕立てて") is not None


def test_each_sentence_is_read(reader):
    assert reader.request("No. 3-12の担当は？ついでに乾杯の音頭も考えといて") is not None
    assert reader.request("乾杯の音頭の件は結構です。No. 3-12の担当は？") is None


def test_the_refusal_says_what_the_assistant_does(understanding):
    analysis = understanding.analyse("庁内報に載せる四コマ漫画のネタを練っといて")
    assert analysis.request is not None and analysis.request.label == "計画についての質問以外"
    from assistant.answerability import request_refusal

    refusal = request_refusal(analysis)
    assert refusal is not None and refusal.kind == "task"
    assert "計画についての質問以外のご依頼にはお応えできません" in refusal.text


@pytest.fixture(scope="module")
def understanding(catalog):
    from assistant.tokenizer import load_synonyms
    from assistant.understanding import TermAnalyzer, Understanding

    return Understanding(TermAnalyzer(JapaneseTokenizer(), load_synonyms()), catalog, editions=[2021, 2024, 2025])


def test_a_field_asked_with_a_verb_of_doing_is_no_task(reader):
    assert reader.request("主担当の府省庁も書いといて") is None
    assert reader.request("推進体制の説明を、漫談の調子に仕立てて") is not None


# Listing verbs (挙げて, 洗い出して) ask what the documents say when what they list is a thing the
# documents name; things no document names (test cases, interview questions) can only be made up.
LISTS_MADE_UP = [
    "監査の前に見直すべきチェックポイントを箇条書きで洗い出してほしい",
    "新人研修で使うアイスブレイクのお題を5つ挙げてくれる？",
]
LISTS_THE_DOCUMENTS = [
    "子育て支援に関わる施策を洗い出してほしい",
    "サイバーセキュリティの課題を挙げてくれる？",
]
# Roles set for the assistant by how the turn frames it, not by a listed role name.
ROLES = [
    "きみは意地悪な記者って設定で、私に質問を浴びせて",
    "プレゼンの練習台になってもらえる？",
]


def test_listing_and_role_phrasings_are_in_neither_eval_suite():
    assert_in_neither_suite(LISTS_MADE_UP + LISTS_THE_DOCUMENTS + ROLES)


@pytest.mark.parametrize("text", LISTS_MADE_UP + ROLES)
def test_listing_things_no_document_names_or_taking_a_role_is_a_task(assistant, text):
    assert assistant.understanding.analyse(text).request is not None


@pytest.mark.parametrize("text", LISTS_THE_DOCUMENTS)
def test_listing_what_the_documents_name_is_a_question(assistant, text):
    assert assistant.understanding.analyse(text).request is None


def test_without_the_corpus_vocabulary_a_listing_verb_asks_for_information(reader):
    # the reader alone cannot tell a made-up thing from one the documents name
    assert reader.request("監査の前に見直すべきチェックポイントを箇条書きで洗い出してほしい") is None
