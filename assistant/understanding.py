"""Understanding a turn: what is asked, about what, and what a follow-up refers to.

One :class:`QuestionAnalysis` per turn, computed once and passed down: the fields asked (from
the intents table, :mod:`assistant.intents`), the question's terms with their corpus weights (:class:`QueryTerms`),
and the resolved :class:`ConversationState` — subject, measures in focus (in the order the user
named them when they did), fields, and how the turn was read ("shift", "ordinal" …).

A follow-up inherits what it leaves out and replaces what it states: new content words mean a
new retrieval with the inherited field; a pronoun or an ordinal means the measures in focus.
The state is derived again from the history on every turn (the API is stateless), from the
user's own words and the measures each earlier answer cited as ``[No. X-Y]``.

Rule-based and data-light: it must work without an LLM, in about a millisecond, and predictably.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import permutations
from typing import Any

from assistant.bilingual import STOP_WORDS, Bridged, EnglishBridge
from assistant.catalog import Catalog, canonical_ministry, find_measure_nos
from assistant.chunking import measure_text
from assistant.corpus import search_key
from assistant.intents import (
    IntentTable,
    MissingKind,
    RequestKind,
    detect_fields,
    load_intents,
    missing_kind,
    request_kind,
)
from assistant.questions import MAX_QUERY_CHARS, cited_measures, message_text
from assistant.spelling import Respeller, Respelling
from assistant.task_requests import TaskRequestReader
from assistant.tokenizer import JapaneseTokenizer, expand_query, synonym_terms, unigrams

# Words that say how something is asked, not what: never subject terms, never evidence.
# Nouns of the calendar: a follow-up naming only a period (「では再来年度は？」) names nothing new.
_CALENDAR_WORDS = frozenset({"年度", "年", "月", "日", "時点", "時期", "期間", "年間", "上半期", "下半期", "四半期"})

# A bracketed example in an answer (「（例: No. 1-57）」): no measure it names is under discussion.
_EXAMPLE_RE = re.compile(r"[（(]例[:：][^（）()]{0,40}[）)]")

QUESTION_WORDS = frozenset({
    "教える", "ください", "下さい", "何", "どこ", "どの", "どう", "どんな", "どのよう", "いつ", "誰", "ある",
    "いる", "する", "なる", "れる", "られる", "思う", "知る", "たい", "ほしい", "欲しい", "について", "関する",
    "施策", "取組", "取り組み", "取り組む", "計画", "重点", "重点計画", "担当", "主担当", "目標", "具体", "具体的",
    "府省庁", "省庁", "府省", "関係", "内容", "概要", "とは", "です", "ます", "what", "is", "the", "of", "a", "an",
    "in", "for", "to", "and", "which", "who", "how", "does", "do", "plan", "are", "about", "measure", "measures",
    "教え", "件", "やつ", "こと", "もの", "今", "ため", "方法", "やり方", "仕方", "知りたい", "わかる", "分かる",
    "数字", "名前", "数値", "規模", "程度", "水準", "割合", "件数", "人数", "文脈", "一言", "一通り", "聞く", "見る", "言う", "いう", "よい", "いい", "良い", "お願い", "願う", "くれる", "もらう", "みる", "おく",
    "全部", "一覧", "すべて", "全て", "主", "他", "ほか", "別", "どれ", "どちら", "ところ", "感じ", "ちょっと",
    "じゃあ", "では", "さっき", "先ほど", "前者", "後者", "最初", "最後", "番目", "つ目", "つめ", "似る", "同じ", "同様",
    "それぞれ", "両方", "方", "場合", "挙げる", "まとめる", "載る", "書く", "記載", "あれ", "これ", "それ",
    "意味", "定義", "略", "略称", "愛称", "通称", "呼び名", "正式名称", "呼ぶ",
    # the everyday light verb for する: 「調査はどこがやった？」
    "やる",
    # words about the text, not its subject: 「…への言及は？」「…の注記は」 ask what the documents say
    "言及", "記述", "明記", "注記", "注釈", "脚注", "触れる", "述べる",
    # predicates of a follow-up that add no subject: 「いつまでに終わる？」「いつから使える？」
    "終わる", "終える", "始まる", "始める", "使える", "変わる", "決まる",
    # how to answer, not what about: 「もっと詳しく」「詳細を教えて」「簡単に言うと？」
    "詳しい", "詳しく", "くわしい", "くわしく", "詳細", "簡単", "簡潔", "もっと", "もう少し", "少し",
    # whether something holds: 「…って本当？」「…は事実ですか」 ask about the rest of the sentence
    "本当", "ほんと", "ホント", "事実", "確か", "間違い",
    # from now on: 「今後はどう進めるの？」 asks what comes next of the same subject
    "今後", "これから", "この先",
    # a date asked for, like いつ: 「決定された日付は？」「施行の日時は」「開始の年月日」
    "日付", "日時", "年月日",
})

# 「2021年の計画」「令和3年時点」: an edition named by its year.
_YEAR_RE = re.compile(r"(20\d\d|令和\d{1,2}|令和[一二三四五六七八九十]{1,2})(?:\(20\d\d\))?年(?:の|版|時点|度版|当時)")
_ERA_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}

# Documents named by what they are (a slide deck, a web page, the 2021 education chapter).
_EDITION_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("cio-forum-2021", re.compile(r"CIO|フォーラム|スライド|デジタルサービス局|改革関連法|デジタル庁の(設置|発足|組織|ミッション|バリュー|ビジョン)", re.I)),
    ("plan2021-education", re.compile(r"(2021|令和3|令和３|前の|旧|最初の)[^。]{0,20}(教育|学校|初等中等|GIGA)|(教育|学校|初等中等)[^。]{0,20}(2021|令和3)|初等中等教育|抜粋")),
    ("plan2021-outline", re.compile(r"構成イメージ|構成案|新重点計画|(2021|令和3)[^。]{0,15}(構成|骨子|案)")),
    ("plan2024-summary", re.compile(r"2024|令和6|令和６|昨年の|前年の|去年の|ウェブページ|webページ|ホームページの要約")),
]
# How a turn names one of the documents (the slides, the web page, an edition), as words to leave out
# of its subject.
_DOCUMENT_NAMING_RE = re.compile(
    r"CIO\s*フォーラム(の資料)?|フォーラムの資料|スライド|デッキ|プレゼン資料|ウェブページ|webページ|ホームページ|"
    r"(20\d\d|令和\d{1,2}|令和[一二三四五六七八九十]{1,2})年(度)?(版)?の(重点)?(計画|概要|資料)|(前|旧|最初)の(重点)?計画|旧計画",
    re.IGNORECASE,
)
# A plan edition asked for by year (「2030年版の計画」「次期計画」): compared with the editions held.
_EDITION_ASK_RE = re.compile(
    r"(20\d\d)年(?:度)?(?:版|度版)?の(?:重点)?計画|(20\d\d)年に改定|(次期|次の|来年|再来年)の?(?:重点)?計画"
    # 「2022年6月に閣議決定された重点計画」「2019年に策定の計画」
    r"|(20\d\d)年[^。？?、]{0,8}?(?:閣議決定|策定|決定|改定)(?:された|の|した)[^。？?]{0,4}?(?:重点)?計画"
)

_MEASURE_NO_RE = re.compile(r"\d+-\d+")
# 「第3の工程表」「第4に載っている手続」: the plan's five parts (not 第2回, 第1段階, 第3者).
_PART_RE = re.compile(r"第([1-5一二三四五])(?![0-9回段次期者弾号条項章節])")
_HIRAGANA_RE = re.compile(r"[\u3040-\u309f]+")
_KANJI_WORD_RE = re.compile(r"[\u4e00-\u9fff々]{2,}")
_KATAKANA_WORD_RE = re.compile(r"[\u30a0-\u30ffー]{3,}")
_KATAKANA_CHAR_RE = re.compile(r"[\u30a0-\u30ffー]")
_KANJI_COMPOUND_RE = re.compile(r"[\u4e00-\u9fff]{4,10}")
# A question word asking a time or an amount: a follow-up holding one asks that, not the field before.
# 「じゃあこれから何をするの？」「今後どう進める？」 ask what is done, not the field asked before either.
# (「何を防げる？」「何自治体を対象に？」「どこで使える？」「なぜ必要？」: each asks a thing of its own)
_OWN_ASK_RE = re.compile(r"いつ|何年|何月|何日|どれくらい|どのくらい|どれだけ|何(%|％|割|件|人|社|か所|箇所)"
                         r"|何(に|を|が|と|の)|何[\u4e00-\u9fff]{1,3}(?=[をがはにでの？?]|$)|(何|なに|なん)で|どこ(で|に|から|まで)"
                         r"|どう(進め|する|やって|取り組|なる|変わ)|どんな|なぜ|どうして|いくつ"
                         # 「その仕組みを開発したのはどこ？」「指針を決めたのは誰？」: the body that made or
                         # decided a thing, which the text names (not the measure's lead ministry)
                         r"|(開発|作成|作っ|作る|策定|提供|運営|構築|設置|決定|決め|公表|発表)(した|して(い)?る|する|た)?(の|ところ)は(どこ|誰|だれ)")
# How much more a follow-up's own words weigh, and how much less the inherited subject's (the measure in
# focus holds those anyway), in choosing what to quote.
OWN_WORD_BOOST = 2.0
# Words below this IDF are said of the whole plan (デジタル化 0.9, 推進 0.5): they name no one thing.
GENERIC_IDF = 1.0
INHERITED_WORD_WEIGHT = 0.25
_REDUPLICATED_RE = re.compile(r"[\u4e00-\u9fff]々")
_KANJI_ABBREVIATION_RE = re.compile(r"[\u4e00-\u9fff]{2,3}")
# A Latin word as the tokenizer keeps it (casefolded): JC-STAR, e-tax, teams.
LATIN_WORD_RE = re.compile(r"[a-z][a-z0-9.'&+-]+")
_KANJI_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
              "ひと": 1, "ふた": 2, "みっ": 3, "よっ": 4, "いつ": 5}


# --- terms -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryTerms:
    """The question's words, analysed once per turn and passed down to every later stage."""

    text: str  # what the terms were taken from (the resolved retrieval query)
    tokens: tuple[str, ...]  # every token, unigrams and noun bigrams
    content: frozenset[str]  # content words the user typed (question words removed)
    expanded: frozenset[str]  # content words added by synonym expansion
    weights: dict[str, float]  # IDF weights: typed words full, synonyms 0.7
    naming: tuple[str, ...] = ()  # the turn's own words naming its subject (nouns, names)
    synonym_weights: dict[str, float] = field(default_factory=dict)  # staff terms the synonym table maps
    # the plan's wordings for each staff term, each as its content words (all of them hold it)
    synonym_words: dict[str, tuple[frozenset[str], ...]] = field(default_factory=dict)
    phrases: tuple[str, ...] = ()  # multi-word runs of the subject (「デジタル3原則」), spaces removed
    unknown: tuple[str, ...] = ()  # those of them found in no document
    # naming words the question uses as verbs (推移する, 強調されている): what is said of the subject
    verbal: tuple[str, ...] = ()
    # ministries the question names (canonical): 「主担当は文科省？」 checks one against the answer
    ministries: tuple[str, ...] = ()
    # naming words the dictionary tags as names of people, places or organisations (熊本, 河野)
    names: tuple[str, ...] = ()
    # a follow-up's own words about the measure in focus (「それはどのクラウドの上に構築されるの？」: 構築,
    # クラウド): what to quote of that measure, its inherited subject being held by all of it
    own: frozenset[str] = frozenset()

    def focused(self) -> QueryTerms:
        """These terms weighted for choosing a sentence of the measure in focus: the turn's own
        words count more, the inherited subject's less (every sentence of the measure is about it)."""
        if not self.own:
            return self
        return replace(self, weights={w: v * (OWN_WORD_BOOST if w in self.own else INHERITED_WORD_WEIGHT)
                                      for w, v in self.weights.items()})

    @property
    def words(self) -> frozenset[str]:
        return self.content | self.expanded

    @property
    def typed_words(self) -> list[str]:
        """The content words as typed, without the noun bigrams the tokenizer adds (マイナ免許)."""
        return [t for t in unigrams(self.tokens) if t in self.content]

    def rare(self, min_weight: float = 2.5) -> set[str]:
        """Distinctive words: those rare enough in the corpus to identify a passage."""
        return {w for w, weight in self.weights.items() if weight >= min_weight}


DocumentFrequency = Callable[[str], int]


# Nouns that say "a field of" in 「Xの分野」「X領域のもの」「X関係」: the field is X.
# Nouns that say a word stands for a field or its whole scope (医療分野, 防災関係, セキュリティ全般):
# they name no thing of their own.
SCOPE_NOUNS = frozenset({"分野", "領域", "方面", "部門", "業界", "関係", "関連", "系", "面", "全般", "全体", "周り", "まわり",
                         "周辺"})

# Interrogatives the tokenizer joins with a counter (何人, 何本, 何年度, いくつ) and words that
# only place the question in time (今回, 今年度): they say what is asked, not what about. (いく: the
# tokenizer reads いくつ as いく + つ.)
_INTERROGATIVE_RE = re.compile(r"^(何|いく[つら]|幾)|^(いく|今回|今年|今年度|今度)$")


def is_content_word(token: str) -> bool:
    if _INTERROGATIVE_RE.search(token):
        return False
    return (token not in QUESTION_WORDS and len(token) > 1) or token.isdigit()


class TermAnalyzer:
    """Tokenises a text once and weighs its words by how rare they are in the indexed corpus."""

    def __init__(self, tokenizer: JapaneseTokenizer, synonyms: dict[str, list[str]],
                 document_frequency: DocumentFrequency | None = None, n_docs: int = 0,
                 vocabulary: Sequence[str] = (), texts: Iterable[str] = ()) -> None:
        self.tokenizer = tokenizer
        self.synonyms = synonyms
        self.document_frequency = document_frequency
        self.n_docs = n_docs
        # Katakana words of the corpus by their first two characters, for abbreviations (スパコン).
        self._katakana: dict[str, list[str]] = {}
        self._abbreviations: dict[str, str | None] = {}
        for tok in vocabulary:
            if len(tok) >= 5 and _KATAKANA_WORD_RE.fullmatch(tok):
                self._katakana.setdefault(tok[:1], []).append(tok)
        # Kanji compounds of the corpus text (臨時行政調査会), with how often each occurs: the
        # tokenizer splits them, so they are not in the vocabulary; staff clip them (臨調, 地公体).
        self._compounds: dict[str, Counter[str]] = {}
        katakana_runs: set[str] = set()
        for text in texts:
            for run in _KANJI_COMPOUND_RE.findall(text):
                self._compounds.setdefault(run[:1], Counter())[run] += 1
            katakana_runs.update(_KATAKANA_WORD_RE.findall(unicodedata.normalize("NFKC", text)))
        # every katakana run of the corpus text, to tell a loanword the documents use (as a whole or
        # inside a longer one: the joined text) from one they never do; empty without texts (nothing
        # is absent then)
        self._katakana_runs = frozenset(katakana_runs)
        self._corpus_text = "\n".join(sorted(katakana_runs))
        # Kana-typed words and homophone typos, respelled by reading before anything else looks.
        self.respeller = Respeller(tokenizer, vocabulary, document_frequency, katakana_runs) \
            if vocabulary and document_frequency else None

    def respell(self, normalized: str) -> Respelling:
        """``normalized`` in the corpus's spelling (unchanged without a vocabulary)."""
        return self.respeller.respell(normalized) if self.respeller else Respelling(normalized)

    def abbreviation_of(self, word: str) -> str | None:
        """The corpus word a katakana abbreviation stands for (スパコン → スーパーコンピュータ): the
        most frequent katakana word of the corpus that starts like it (same first character, the
        second within its first few), is longer by at least two, and holds its characters in order.
        A kanji abbreviation (臨調, 地公体) stands for a kanji compound of the corpus text in the
        same way (臨時行政調査会, 地方公共団体)."""
        if word in self._abbreviations:  # asked for several times per turn (terms, refusals)
            return self._abbreviations[word]
        if _KANJI_ABBREVIATION_RE.fullmatch(word) and not self.known(word):
            self._abbreviations[word] = self._compound_for(word)
            return self._abbreviations[word]
        # Abbreviations clip words (スパ|コン, ガバ|クラ): four characters or more, not ending in a long
        # vowel — a short word such as カレー is a word of its own, not a clipping of カレンダー.
        if not (4 <= len(word) <= 6 and _KATAKANA_WORD_RE.fullmatch(word)) or word.endswith("ー") or self.known(word):
            return None
        best, best_df = None, 0
        for cand in self._katakana.get(word[:1], ()):
            if len(cand) >= len(word) + 2 and 0 < cand.find(word[1], 1) <= 3 and _in_order(word[1:], cand[1:]):
                df = self.document_frequency(cand) if self.document_frequency else 1
                if df > best_df:
                    best, best_df = cand, df
        self._abbreviations[word] = best
        return best

    def _compound_for(self, word: str) -> str | None:
        """The most frequent corpus compound (seen twice or more) that starts with the word's first
        kanji, holds the others in order, each in a later part of it (a clipping keeps the head of
        each part: 臨|時 行|政 調|査 会), and is at least two characters longer."""
        best, best_n = None, 1
        for run, n in self._compounds.get(word[:1], Counter()).items():
            if n > best_n and len(run) >= len(word) + 2 and _in_order(word[1:], run[1:]) \
                    and word[1] not in run[1:2]:
                best, best_n = run, n
        return best

    def idf(self, token: str) -> float:
        """Inverse document frequency over the indexed chunks (rare words weigh more)."""
        df = self.document_frequency(token) if self.document_frequency else 0
        n = self.n_docs
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def known(self, token: str) -> bool:
        return self.document_frequency is None or self.document_frequency(token) > 0

    def terms(self, text: str, *, subject: str | None = None, naming: Sequence[str] | None = None) -> QueryTerms:
        """Terms of ``text``; ``subject`` (the turn's own words) is checked for unknown words.

        ``naming``: the subject's naming words when the caller has them already.
        """
        tokens = tuple(self.tokenizer.tokenize(text))
        content = frozenset(t for t in tokens if is_content_word(t))
        expanded_text = expand_query(text, self.synonyms)
        expanded: frozenset[str] = frozenset()
        if expanded_text != text:
            extra = self.tokenizer.tokenize(expanded_text[len(text):])
            expanded = frozenset(t for t in extra if is_content_word(t)) - content
        weights = {w: self.idf(w) for w in content}
        weights.update({w: 0.7 * self.idf(w) for w in expanded})
        unknown: tuple[str, ...] = ()
        mapped: dict[str, float] = {}
        mapped_words: dict[str, tuple[frozenset[str], ...]] = {}
        named: tuple[str, ...] = ()
        if subject is not None and self.document_frequency is not None:
            named = tuple(naming) if naming is not None else tuple(self.naming_words(subject))
            unknown = tuple(w for w in named if not self.known(w) and self.abbreviation_of(w) is None)
            # A staff term such as マイナカード names the subject as firmly as the plan's own word.
            for term in synonym_terms(subject, self.synonyms):
                if any(term in w and term != w for w in unknown):
                    # a staff term inside a katakana name no document has (メタバース of
                    # 「ガバメントメタバース」) is part of that name, not a second word for the subject
                    continue
                # Each of the plan's wordings counts only whole: 「医療DX」 is not held by a passage
                # that merely says DX.
                wordings = tuple(frozenset(t for t in self.tokenizer.tokenize(e) if is_content_word(t))
                                 for e in self.synonyms[term])
                mapped[term] = max((self.idf(t) for w in wordings for t in w), default=0.0)
                mapped_words[term] = tuple(w for w in wordings if w)
        verbal = tuple(w for w in named if w in self.verbal_nouns(subject)) if subject is not None else ()
        names = tuple(w for w in named if w in self.proper_nouns(subject)) if subject is not None else ()
        return QueryTerms(text=text, tokens=tokens, content=content, expanded=expanded, weights=weights,
                          naming=named, synonym_weights=mapped, synonym_words=mapped_words, unknown=unknown,
                          phrases=tuple(self.phrases(subject if subject is not None else text)), verbal=verbal,
                          names=names)

    def ends_subject(self, text: str, word: str) -> bool:
        """Whether ``word`` is the last thing ``text`` names: no noun of the subject follows it,
        whether a plan word or a staff term (「荷物をドローンで届ける取組」 ends on ドローン, not 荷物;
        「来場者数の目標は」 ends on 来場者数, 目標 being the field asked)."""
        key = unicodedata.normalize("NFKC", text).casefold()
        at = key.rfind(word)
        if at < 0:
            return False
        tail = key[at + len(word):]
        if synonym_terms(tail, self.synonyms):
            return False
        morphemes = self.tokenizer.morphemes(tail)
        verbs = [i for i, m in enumerate(morphemes) if m.pos1 == "動詞"]
        if verbs and any(m.pos1 == "名詞" for m in morphemes[verbs[0] + 1:]):
            # a clause on the word modifies a later noun (「詐欺を減らす施策」「荷物を運べるようにする取組」):
            # the word is what the asked thing acts on, not the asked thing
            return False
        return not any(len(n) >= 2 and n not in QUESTION_WORDS and n not in _CALENDAR_WORDS and not n.startswith("何")
                       for n in self.tokenizer.naming_nouns(tail))

    def proper_nouns(self, text: str) -> set[str]:
        """Base forms of the nouns unidic tags 固有名詞 (people, places, organisations)."""
        return {m.base.lower() for m in self.tokenizer.morphemes(text) if m.pos1 == "名詞" and m.pos2 == "固有名詞"}

    def verbal_nouns(self, text: str) -> set[str]:
        """Nouns followed by a form of する (推移する, 強調されて): used as verbs, they say what
        happens to the subject rather than name it."""
        morphemes = self.tokenizer.morphemes(text)
        return {m.base.lower() for m, nxt in zip(morphemes, morphemes[1:], strict=False)
                if m.pos1 == "名詞" and nxt.lemma in ("為る", "する")}

    def phrases(self, text: str) -> list[str]:
        """Runs of the text between particles and punctuation that hold two words or more: a passage
        quoting such a run (「デジタル3原則」) speaks of exactly what was asked."""
        key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
        out = []
        for run in re.split(r"[\u3040-\u309f、。・「」『』（）()？?！!,.:：]+|何|誰", key):
            if len(run) >= 4 and len([t for t in self.tokenizer.tokenize(run) if is_content_word(t)]) >= 2:
                out.append(run.lower())
        return out

    def names_known_things(self, compound: str) -> bool:
        """Whether every naming word of a noun compound is one the documents use (テストケース: no)."""
        return all(self.known(w) for w in self.naming_words(compound))

    def _staff_compound(self, run: str) -> bool:
        """A staff term, alone or joined to a katakana word of the corpus (スマホ|アプリ)."""
        if run in self.synonyms:
            return True
        return any(run[:i] in self.synonyms and run[i:] in self._katakana_runs for i in range(2, len(run) - 1))

    def head_noun(self, name: str) -> str:
        """The last run of nouns of a thing named: what it is (「公務員向けの統計研修」 → 統計研修);
        the words before it say which one."""
        ms = self.tokenizer.morphemes(name)
        end = len(ms)
        while end and ms[end - 1].pos1 not in ("名詞", "接尾辞"):
            end -= 1
        start = end
        while start and ms[start - 1].pos1 in ("名詞", "接頭辞", "接尾辞"):
            start -= 1
        if start >= 2 and end - start == 1 and ms[start - 1].surface == "の" \
                and (ms[start].pos3 == "サ変可能" or ms[start].surface in QUESTION_WORDS):
            # 「電子インボイスの普及」「税務当局の連携の施策」: an act (普及, 推進) of a thing, or a word for
            # any measure (施策, 取組, 話) — the thing is named before の
            return self.head_noun("".join(m.surface for m in ms[: start - 1]))
        return "".join(m.surface for m in ms[start:end])

    def naming_words(self, subject: str) -> list[str]:
        """Words that name what the subject is about, in order, without repeats.

        Nouns (not 今年, 3キロ, nor the counter of 何: 何パーセント) of two or more kanji or three or
        more katakana, and Latin words (not measure numbers). Colloquial terms the synonym table knows (ガバクラ) are left out:
        they stand for the plan's own wording.
        """
        key = typed = unicodedata.normalize("NFKC", subject).casefold()
        # A katakana word the corpus text never contains names something the documents do not
        # mention (マイナポイント), whatever its parts are (マイナ, ポイント; the staff term マイナポ):
        # it counts whole — unless it is a staff term of its own (マイナカード).
        absent = [run for run in _KATAKANA_WORD_RE.findall(key) if self._corpus_text
                  and run not in self._corpus_text and not self._staff_compound(run)]
        for run in absent:
            key = key.replace(run, " ")
        for term in synonym_terms(key, self.synonyms):
            key = key.replace(term, " ")
        # Latin words as the tokenizer keeps them whole (JC-STAR, not JC | STAR); the rest from the tagger.
        candidates = absent + [t for t in self.tokenizer.naming_nouns(key) if not t.isascii()]
        candidates += [t for t in self.tokenizer.tokenize(key) if LATIN_WORD_RE.fullmatch(t)]
        out: list[str] = []
        for tok in candidates:
            if tok in out or tok in QUESTION_WORDS or _MEASURE_NO_RE.search(tok) or f"何{tok}" in typed \
                    or tok.startswith("何") or _REDUPLICATED_RE.fullmatch(tok):
                # (「何パーセント」「何県ずつ」: the counter asked for, not what the subject is;
                # 「国々」「人々」: one common kanji doubled, as plain as the kanji alone)
                continue
            if _KANJI_WORD_RE.fullmatch(tok) or _KATAKANA_WORD_RE.fullmatch(tok) or LATIN_WORD_RE.fullmatch(tok):
                out.append(tok)
        return out

# --- conversation state --------------------------------------------------------------------------


@dataclass
class ConversationState:
    """What one turn was taken to mean, resolved against the earlier turns.

    ``resolution`` says how: ``new`` (a question of its own), ``measure_no`` (numbers typed),
    ``reference`` (その施策, それ), ``ordinal`` (2つ目, 後者), ``ellipsis`` (「担当は？」),
    ``shift`` (a new subject keeping the field: 「では物流では？」), ``similar`` (something like
    the earlier measures elsewhere: they are excluded), ``refine`` (the earlier subject narrowed),
    ``aspect`` (new words that the measure in focus itself holds: a detail of that measure),
    ``more`` (「他には？」: the same subject, the measures not shown yet: they are excluded).
    """

    subject: str  # the subject in the user's words (markers and field words removed)
    subject_terms: tuple[str, ...]  # its content words
    fields: tuple[str, ...]  # fields asked, inherited when the turn names none
    focus: tuple[str, ...] = ()  # measures this turn is about, in the user's order when they named several
    named: tuple[str, ...] = ()  # the subjects the user named in this turn, in their order
    resolution: str = "new"
    inherited: tuple[str, ...] = ()  # which parts came from earlier turns: "fields", "subject", "focus"
    exclude: tuple[str, ...] = ()  # measures a "similar" follow-up moves away from
    require: tuple[str, ...] = ()  # words an answer must hold (the new field of a "similar" follow-up)
    filters: dict[str, Any] = field(default_factory=dict)
    answered: tuple[str, ...] = ()  # measures the answer to this turn cited (filled for earlier turns)
    each: bool = False  # the user asks about each of the things they named (「AとB、それぞれ」)
    listing: tuple[str, ...] = ()  # what ordinals count: the things named, or the answer's list
    exhaustive: bool = False  # a list asked to be complete (全部, 一覧) rather than its main measures

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_followup(self) -> bool:
        return self.resolution not in ("new", "measure_no")


@dataclass
class QuestionAnalysis:
    """What later stages need to know about one turn."""

    text: str  # cleaned question as typed
    normalized: str  # NFKC, kana-typed words and homophone typos respelled (assistant.spelling)
    intent: str  # the main field: "lead", "related", "targets", "roadmap", "list", "what", "general"
    intents: list[str] = field(default_factory=list)  # all fields asked for, main first
    measure_nos: list[str] = field(default_factory=list)  # numbers written in the question
    referenced_measures: list[str] = field(default_factory=list)  # measures a follow-up points at
    is_followup: bool = False
    retrieval_query: str = ""  # the resolved query (question + what it inherits)
    preferred_doc: str | None = None  # when the wording points at an older document
    preferred_edition: int | None = None  # 「2021年の計画では…」 without naming the document
    preferred_part: str | None = None  # 「第3の工程表は…」: a part of the plan named (第1 … 第5)
    asked_edition: int | None = None  # an edition asked for by year or as 次期/来年 (may not be held)
    english: bool = False
    bridged: list[Bridged] = field(default_factory=list)  # an English question's words in the plan's
    unbridged_names: list[str] = field(default_factory=list)  # its names the documents lack (Bitcoin)
    context_measures: list[str] = field(default_factory=list)  # measures still in the conversation
    terms: QueryTerms | None = None
    respellings: list[tuple[str, str]] = field(default_factory=list)  # (as typed, as the plan spells it)
    state: ConversationState | None = None
    request: RequestKind | None = None  # a task for the assistant, not a question about the plan
    missing: MissingKind | None = None  # a kind of fact plans usually do not hold
    asked_detail: str | None = None  # the noun the question ends asking about (「…に罰則は？」 → 罰則)

    @property
    def fields(self) -> list[str]:
        return self.intents or [self.intent]


# Nouns that say when, or ask, rather than name a detail (「今何％」「どこ」 are not details).
# A number or an interrogative also takes the counters after it (何万キロ, 3年ごと).
_NOT_DETAIL_RE = re.compile(r"[0-9０-９.,%％]+|[一二三四五六七八九十百千万億]+|何.*|いく[つら].*|幾.*|いつ.*|どこ.*|どれ.*|どの.*|"
                            r"誰|だれ|今|現在|今年|今年度|来年|来年度|今後|将来|最新|直近|いま")


# A follow-up that keeps the earlier subject and restricts it to one lead ministry (「そのうち警察庁の
# ものは？」「国交省のだけ」「内閣府が担当のものだけ教えて」) or leaves one out (「文科省以外のものは？」).
# The items of an enumeration in prose: 「A、B及びC」「AやB」「AとB、」 (a name may hold と: split at と only
# before a comma). MIN_PARAPHRASE_COVER: share of an item's word weight a title must hold.
_ENUMERATION_RE = re.compile(r"[、,，。\n]|[・•]\s|及び|並びに|および|(?<=[^\s])や(?=[^\s、])|と(?=、)|や(?=、)")
MIN_PARAPHRASE_COVER = 0.6
# 「Xのほうは」「Xの方の担当」: one of several things, picked by its name
# 「そのうち…」「その中で…」「これらのうち…」: among the measures the last answer listed
_AMONG_THEM_RE = re.compile(r"^(その|この|それらの|これらの|上記の)(うち|中|なか)")
_PICK_RE = re.compile(r"(の方|のほう)(?=は|の|が|って|を|で|も|[？?]|$)")

# A ministry as staff write it (文科省, デジタル庁), within a longer run (「これの主担当は文科省」)
MINISTRY_PATTERN = r"([^\s、。がのはをでもと]{2,12}?(?:省|庁|府|官房|委員会|院))"
_MINISTRY_RE = re.compile(MINISTRY_PATTERN)
_MINISTRY_ONLY_RE = re.compile(
    MINISTRY_PATTERN + r"(?:が(?:主)?担当(?:して(?:いる|る))?|の担当|が所管)?の?(?:もの|施策|取組|やつ|分)?"
    r"(?:だけ|のみ|に絞|に限|(?:は|って)[？?]?$|を(?:教えて|挙げて)|で[？?]?$)"
)
_MINISTRY_EXCEPT_RE = re.compile(MINISTRY_PATTERN + r"(?:が(?:主)?担当(?:の|する|している)?(?:もの|施策)?)?以外")


# How a request is phrased (「…を挙げて」「教えてください」): not what it is about.
_REQUEST_VERB_RE = re.compile(
    r"(を|について)?(挙げ|教え|まとめ|見せ|出し|調べ|探し|知り|示し|列挙し|紹介し)(て|たい|たく)"
    r"(ください|下さい|ほしい|欲しい|もらえ(ます|る)?か?|くれ(ます|る)?か?|います|です)?"
)


def _ministry_tail(run: str, known: frozenset[str]) -> tuple[str, str] | None:
    """(canonical name, as written) of the longest tail of ``run`` naming a ministry in ``known``: a
    match of MINISTRY_PATTERN may start before the name (「これの主担当は文科省」「うち警察庁」)."""
    for start in range(len(run) - 1):
        written = run[start:]
        if (name := canonical_ministry(written)) in known:
            return name, written
    return None


def _with_head(text: str, m: re.Match[str]) -> str:
    """The ministry run a match captured, with a few characters before it: MINISTRY_PATTERN stops
    at a particle-like kana inside a name (こ|ども家庭庁), and the tail search finds the whole name."""
    return text[max(0, m.start(1) - 4):m.end(1)]


def _in_order(chars: str, word: str) -> bool:
    """Whether ``chars`` occur in ``word`` in this order (not necessarily adjacent)."""
    it = iter(word)
    return all(c in it for c in chars)


_JAPANESE_CHAR_RE = re.compile(r"[ぁ-ゖァ-ヺー\u4e00-\u9fff々]")
_TYPED_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*")  # Latin words as typed (case kept)


def _joined_letters(text: str) -> str:
    """「ま い な ん ば ー か ー ど の 目 標」: Japanese typed one character at a time, spaces between,
    joined again (most space-separated pieces are single Japanese characters)."""
    pieces = text.split()
    singles = sum(1 for p in pieces if len(p) == 1 and _JAPANESE_CHAR_RE.match(p))
    return "".join(pieces) if len(pieces) >= 5 and singles >= 0.7 * len(pieces) else text


# A year in the Japanese era: 「R7年度」「令和7年度」「H30年」. The plan counts years in the Western
# calendar (2025年度 over three hundred times, 令和7年度 seven), so a fiscal year and an abbreviated
# year are given their Western number too (「令和7(2025)年度」).
_ERA_YEAR_RE = re.compile(r"(?<![A-Za-z0-9])(?:(令和|平成)(\d{1,2}|元)(?=年度)|([RrHh])(\d{1,2}|元)(?=年))")
_ERA_START = {"令和": 2018, "平成": 1988, "r": 2018, "h": 1988}
_ERA_NAME = {"r": "令和", "h": "平成"}


# The things a list question enumerates: 「研究の基盤（スパコン、放射光施設、研究データの共有など）」,
# 「光回線、5G、衛星通信、電波の割り当てなど、…の施策」. Items are short runs between 、 (or ・ , /).
_ENUMERATED_SPLIT_RE = re.compile(r"[、,/／]|とか|や(?=[^\s、。]{2})")
_ENUMERATION_TAIL_RE = re.compile(r"(など|なんか|みたいな|といった|まで(全部|すべて)?|も含めて|等)$")
MAX_ENUMERATED_CHARS = 15


def enumerated_items(text: str) -> list[str]:
    """The items a question enumerates as parts of its subject, in order (two or more), or []:
    the contents of a bracket split at its commas, or else the longest run of three or more short
    comma-separated pieces."""
    bracket = re.search(r"[（(]([^（()）]{4,120})[）)]", text)
    if bracket:
        pieces = [p.strip() for p in _ENUMERATED_SPLIT_RE.split(bracket.group(1))]
    else:
        best: list[str] = []
        for sentence in re.split(r"[。？?！!]", text):
            run: list[str] = []
            for p in (p.strip() for p in re.split(r"[、,]", sentence)):
                if 1 < len(_ENUMERATION_TAIL_RE.sub("", p)) <= MAX_ENUMERATED_CHARS:
                    run.append(p)
                    continue
                if len(run) > len(best):
                    best = run
                run = [p] if 1 < len(_ENUMERATION_TAIL_RE.sub("", p)) <= MAX_ENUMERATED_CHARS else []
            if len(run) > len(best):
                best = run
        pieces = best if len(best) >= 3 else []
    items = [_ENUMERATION_TAIL_RE.sub("", p).strip() for p in pieces]
    items = [p for p in items if len(p) >= 2]
    return items if len(items) >= 2 else []


def western_years(text: str) -> str:
    """``text`` with each fiscal year of the Japanese era, and each abbreviated era year (R7年度,
    H30年), followed by its Western year: 「R7年度は」 → 「令和7(2025)年度は」."""
    def western(m: re.Match[str]) -> str:
        era, num = (m.group(1), m.group(2)) if m.group(1) else (m.group(3).lower(), m.group(4))
        n = 1 if num == "元" else int(num)
        return f"{_ERA_NAME.get(era, era)}{num}({_ERA_START[era] + n})"
    return _ERA_YEAR_RE.sub(western, text)


def _is_english(text: str) -> bool:
    """Mostly Latin letters: an English question (a Japanese one may contain a few Latin names)."""
    japanese = len(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return latin > 0 and japanese <= 0.1 * latin


def _remove(text: str, patterns: Sequence[re.Pattern[str]]) -> str:
    """``text`` without the matches of ``patterns`` — except a match inside a katakana word
    (ポイント in マイナポイント, 概要 is not at risk): a word is not cut in two."""
    def cut(m: re.Match[str]) -> str:
        s, e = m.span()
        inside = (s > 0 and _KATAKANA_CHAR_RE.match(m.string[s - 1]) and _KATAKANA_CHAR_RE.match(m.string[s])) or (
            e < len(m.string) and e > s and _KATAKANA_CHAR_RE.match(m.string[e]) and _KATAKANA_CHAR_RE.match(m.string[e - 1]))
        return m.group(0) if inside else " "
    for p in patterns:
        text = p.sub(cut, text)
    return text


class Understanding:
    """Analyses turns: fields, terms and the conversation state. Thread-safe (no mutable state)."""

    def __init__(self, analyzer: TermAnalyzer, catalog: Catalog | None = None, *,
                 table: IntentTable | None = None, editions: Sequence[int] = (),
                 bridge: EnglishBridge | None = None) -> None:
        """``bridge``: turns English questions' words into the corpus's (none: English is read as is)."""
        self.analyzer = analyzer
        self.bridge = bridge
        self.catalog = catalog
        self.table = table or load_intents()
        # a request no kind of the table describes, read from how its sentences close
        self.tasks = TaskRequestReader(analyzer.tokenizer, self.table, named_in_documents=analyzer.names_known_things)
        self.editions = sorted(set(editions))
        self._measure_tokens: dict[tuple[str, bool], frozenset[str]] = {}
        # What a question asks for (a field, a budget, a count) is not what it is about.
        self._field_patterns = tuple(p for f in self.table.fields for p in f.patterns) + tuple(
            k.asks for k in self.table.missing
        )
        self._marker_patterns = tuple(
            p for name, ps in self.table.markers.items() if name not in ("named_split", "exhaustive") for p in ps
        )

    # -- one turn on its own ----------------------------------------------------------------

    def without_greeting(self, normalized: str) -> str:
        """The question without the greetings and tags staff put before it (「お疲れ様です。【至急】」)
        and the urgency or thanks after it (「…？至急です」)."""
        patterns = [p for k, p in self.table.lead_in.items() if k in ("greeting", "tag", "trailer")]
        text, changed = normalized, True
        while changed:
            changed = False
            for p in patterns:
                stripped = p.sub("", text, count=1)
                if stripped != text and stripped.strip():
                    text, changed = stripped, True
        return text

    def without_lead_in(self, text: str) -> str:
        """``text`` without a lead-in clause (「課長から聞かれたのですが、」), when what follows it names
        a subject of its own."""
        clause = self.table.lead_in.get("clause")
        m = clause.match(text) if clause is not None else None
        # 「電子処方箋についてですが、」「GビズIDの件ですが、」 name the topic: that is the subject.
        if m is None or re.search(r"について|の件|に関して|に関する|に対して|のことで|の話", m.group(0)):
            return text
        if self._names_rare_thing(m.group(0)):
            # 「エストニアのX-Roadが有名らしいのですが、」 is not small talk: it names what is asked about
            return text
        rest = text[m.end():]
        probe = self.subject_of(rest, lead_in=False)
        return rest if self.subject_terms(probe) else text

    def _names_rare_thing(self, clause: str) -> bool:
        """Whether a clause names a place, an organisation, a product or a system (a proper noun, a
        Latin or katakana word) that at most two passages mention: the clause is then about the
        subject (「エストニアのX-Roadが…」), unlike 「課長に聞かれたのですが」."""
        analyzer = self.analyzer
        if analyzer.document_frequency is None:
            return False
        words = analyzer.proper_nouns(clause) | {t for t in analyzer.tokenizer.tokenize(clause)
                                                 if LATIN_WORD_RE.fullmatch(t) or _KATAKANA_WORD_RE.fullmatch(t)}
        return any(len(w) >= 2 and analyzer.document_frequency(w) <= 2 for w in words)

    def subject_of(self, normalized: str, *, lead_in: bool = True) -> str:
        """The question with field words and conversation markers removed: what it is about.

        ``lead_in``: leave out a lead-in clause before the question (see ``without_lead_in``)."""
        text = self.without_lead_in(normalized) if lead_in else normalized
        # 「CIOフォーラムの資料で、…」 says where to look (preferred_doc), not what about — unless
        # the document is all the question names.
        unplaced = re.sub(r"^[でにはの、\s]+", "", _DOCUMENT_NAMING_RE.sub(" ", text)).strip()
        if unplaced != text.strip() and self.subject_terms(unplaced):
            text = unplaced
        text = _remove(text, self._marker_patterns)
        text = _remove(text, self._field_patterns)
        text = _REQUEST_VERB_RE.sub(" ", text)
        text = re.sub(r"[？?！!。]+|ください|下さい", " ", text)
        text = re.sub(r"(は|には|で|に)?(どんな|どのような|どういう|何か)(もの|こと)?(が|は)?(ある|あります|あるの)(か|でしょうか)?", " ", text)
        # Particles and relative phrases left dangling where a field word was removed
        # (「医療情報の共有の」, 「医療DXに関わる で」).
        text = re.sub(r"(?:^|\s)[のはをがにでともへや](?=\s|$)", " ", text)
        text = re.sub(r"\s+", " ", text).strip(" 、,")
        text = re.sub(r"(に|へ)?(関わる|関係する|関連する|関する|まつわる)$", "", text).strip(" 、,")
        return re.sub(r"(\s*[のはをがにでともへや]){1,2}$", "", text).strip(" 、,")

    def _names_item_of_last_answer(self, normalized: str, history: Sequence[dict]) -> bool:
        """Whether every own subject word of the turn is in the last answer: 「引越しのほうは？」 picks an
        item that answer named, not a modifier of the measure it was about."""
        answer = next((t.get("content", "") for t in reversed(history) if t.get("role") == "assistant"), "")
        key = unicodedata.normalize("NFKC", answer).casefold()
        words = [w for w in self.subject_terms(self.subject_of(normalized)) if len(w) >= 2]
        return bool(key) and bool(words) and all(w in key for w in words)

    def subject_terms(self, subject: str) -> tuple[str, ...]:
        """Content words of a subject; hiragana fragments left by removed markers (のと) are not words."""
        toks = self.analyzer.tokenizer.tokenize(subject)
        out: list[str] = []
        for t in toks:
            if is_content_word(t) and not t.isdigit() and not _HIRAGANA_RE.fullmatch(t) and t not in out:
                out.append(t)
        return tuple(out)

    def named_subjects(self, subject: str, question: str = "") -> tuple[str, ...]:
        """The things a user names in one question (「AとB、それぞれ」 → A, B), in their order."""
        # A ministry the question names is the value checked (「どちらもデジタル庁の担当？」), not a thing named.
        checked = {t for _name, written in self.ministries_named(question or subject)
                   for t in self.subject_terms(written)}
        named: tuple[str, ...] = ()
        for marker in ("named_split", "named_split_weak"):
            parts = [subject]
            for p in self.table.markers.get(marker, ()):
                parts = [piece for part in parts for piece in p.split(part)]
            # (「AとB、デジタル化の施策があれば」: a piece saying only what the plan says of everything
            # — デジタル化, 推進 — is what is asked of the things named, not a third thing)
            named = tuple(p.strip(" の") for p in parts
                          if (own := set(self.subject_terms(p)) - checked)
                          and (self.analyzer.document_frequency is None
                               or any(self.analyzer.idf(t) >= GENERIC_IDF for t in own)))
            if len(named) >= 2:
                return named
        return ()

    def edition_asked(self, normalized: str) -> int | None:
        m = _EDITION_ASK_RE.search(normalized)
        if not m:
            return None
        if m.group(3):
            return (max(self.editions) if self.editions else 2025) + (2 if m.group(3) == "再来年" else 1)
        return int(m.group(1) or m.group(2) or m.group(4))

    def preferred_edition(self, normalized: str) -> int | None:
        year = _YEAR_RE.search(normalized)
        if not year:
            return None
        token = year.group(1)
        if token.startswith("令和"):
            n = token[2:]
            num = int(n) if n.isdigit() else _KANJI_NUM.get(n, 0)
            return 2018 + num
        return int(token)

    # -- the follow-up -------------------------------------------------------------------------

    def _ordinal(self, normalized: str) -> int | None:
        m = self.table.marker("ordinal", normalized)
        if not m:
            return None
        if m.group(3):
            return 1
        if m.group(4):
            return -1
        token = m.group(1)
        return int(token) if token.isdigit() else _KANJI_NUM.get(token)

    def measure_tokens(self, measure_no: str, *, title_only: bool = False) -> frozenset[str]:
        """Tokens of a measure's whole text (title, body, targets, 工程表 headings), or of its title
        alone, kept once computed."""
        key = (measure_no, title_only)
        toks = self._measure_tokens.get(key)
        if toks is None:
            m = self.catalog.measures.get(measure_no) if self.catalog else None
            if m is None:
                text = ""
            else:
                text = m.title if title_only else measure_text(m) + "\n" + "\n".join(r.heading for r in m.roadmap)
            toks = frozenset(self.analyzer.tokenizer.tokenize(text))
            self._measure_tokens[key] = toks
        return toks

    def focus_holding(self, focus: Sequence[str], words: Sequence[str], *, title_only: bool = False) -> str | None:
        """The measure in focus whose text holds every one of ``words`` (bigrams aside): the first
        whose title does (「Lアラートのほう」 is the measure named so), else the first whose text does
        (unless ``title_only``)."""
        needed = [w for w in unigrams(list(words)) if not w.isdigit()]
        if not needed or self.catalog is None:
            return None

        # a staff word is held in the plan's wording for it (自治体 → 地方公共団体), its parts with it
        tokenize = self.analyzer.tokenizer.tokenize
        wordings = [(frozenset((w, *tokenize(w))), [frozenset(tokenize(e)) for e in self.analyzer.synonyms.get(w, ())])
                    for w in words]

        def holds(toks: frozenset[str]) -> bool:
            worded = {part for parts, alternatives in wordings if any(a <= toks for a in alternatives) for part in parts}
            return all(w in toks or w in worded for w in needed)

        by_title = next((no for no in focus[:5] if holds(self.measure_tokens(no, title_only=True))), None)
        if by_title is not None or title_only:
            return by_title
        return next((no for no in focus[:5] if holds(self.measure_tokens(no))), None)

    def titled(self, words: str) -> bool:
        """Whether some measure's title writes ``words`` (NFKC, spaces ignored)."""
        key = search_key(words)
        return self.catalog is not None and bool(key) and any(key in search_key(m.title) for m in self.catalog.measures.values())

    def order_by_naming(self, named: Sequence[str], cited: Sequence[str]) -> tuple[str, ...]:
        """The cited measures in the order the user named their subjects (each name → its best measure)."""
        if not named or len(cited) < 2 or self.catalog is None:
            return tuple(cited)
        tok = self.analyzer.tokenizer.tokenize
        texts = {}
        for no in cited:
            m = self.catalog.measures.get(no)
            if m is not None:
                texts[no] = set(tok(m.title + "\n" + "\n".join(m.bullets[:3])))
        # The assignment of names to measures with the most shared (IDF-weighted) words overall:
        # taking names one by one would let the first grab the measure that fits the second best.
        names = [{w for w in tok(name) if is_content_word(w)} for name in named[:4]]
        nos = list(texts)
        best_total, ordered = -1.0, []
        for perm in permutations(nos, min(len(names), len(nos))):
            total = sum(sum(self.analyzer.idf(w) for w in words & texts[no]) for words, no in zip(names, perm, strict=False))
            if total > best_total:
                best_total, ordered = total, list(perm)
        return tuple(ordered + [n for n in cited if n not in ordered])

    def _turn_state(self, normalized: str, previous: ConversationState | None, *,
                    measure_nos: Sequence[str], earlier_lists: Sequence[Sequence[str]] = ()) -> ConversationState:
        """Resolve one turn against the state of the turn before it (None for the first)."""
        fields = tuple(f for f in detect_fields(normalized, self.table) if f != "general")
        subject = self.subject_of(normalized)
        terms = self.subject_terms(subject)
        named = self.named_subjects(subject, normalized)
        if measure_nos:
            return ConversationState(subject, terms, fields or ("what",), focus=tuple(measure_nos), named=named,
                                     resolution="measure_no")
        # (「証明書やカードの施策、それぞれ挙げて」 asks for a list of measures: それぞれ is each of them)
        each = bool(named) and fields[:1] != ("list",) and (
            self.table.marker("all_of", normalized) is not None
            or re.search(r"違い|比較|比べ|differ|compare", normalized) is not None)
        if previous is None:
            return ConversationState(subject, terms, fields or ("general",), named=named, each=each)

        shift = self.table.marker("shift", normalized) is not None
        if shift and fields == ("what",):
            fields = ()  # 「…についても教えて」 asks the earlier question again: 教えて names no field
        own_fields = bool(fields)
        inherit_fields = fields or tuple(f for f in previous.fields if f != "list") or previous.fields
        if not own_fields and _OWN_ASK_RE.search(normalized):
            # 「（担当は？の後で）それはいつ出るの？」 asks a time of its own: the earlier field (主担当)
            # is not what it asks, though no field word says so.
            inherit_fields = ("general",)
        previous_words = set(previous.subject_terms)
        new_terms = tuple(t for t in terms if t not in previous_words)
        prior_focus = previous.answered or previous.focus
        # 「CIOフォーラムの資料では？」「2021年の計画には？」 name where to look, not what about:
        # the earlier subject, in that document.
        named_docs = {t for m in _DOCUMENT_NAMING_RE.finditer(normalized) for t in self.subject_terms(m.group(0))}
        new_terms = tuple(t for t in new_terms if t not in named_docs)
        verbs = {m.base.lower() for m in self.analyzer.tokenizer.morphemes(subject) if m.pos1 in ("動詞", "形容詞")}
        if new_terms and set(new_terms) <= verbs:
            # Only verbs are new (「どう扱われてた？」「どう使う？」): what is said of the same subject.
            new_terms = ()
        if prior_focus and own_fields and set(fields) <= {"lead", "related", "what"} and set(fields) - {"what"}:
            # 「これの主担当は文科省？」 checks a ministry against the measure in focus: the ministry
            # is the value asked about, not a new subject.
            checked = {t for _name, written in self.ministries_named(normalized) for t in self.subject_terms(written)}
            new_terms = tuple(t for t in new_terms if t not in checked)
        ordinal = self._ordinal(normalized)
        reference = self.table.marker("reference", normalized) is not None
        all_of = self.table.marker("all_of", normalized) is not None
        similar = self.table.marker("similar", normalized) is not None
        narrow = self.table.marker("narrow", normalized) is not None
        more = self.table.marker("more", normalized) is not None

        def state(resolution: str, focus: Sequence[str] = (), *, subject_: str = subject,
                  terms_: Sequence[str] = terms, inherited: Sequence[str] = (), exclude: Sequence[str] = (),
                  fields_: Sequence[str] | None = None, require: Sequence[str] = ()) -> ConversationState:
            used = tuple(fields_) if fields_ is not None else (fields if own_fields else inherit_fields)
            inh = tuple(inherited) + (() if own_fields or fields_ is not None else ("fields",))
            return ConversationState(subject_, tuple(terms_), used or ("general",), focus=tuple(focus),
                                     named=named, resolution=resolution, inherited=inh, exclude=tuple(exclude),
                                     require=tuple(require))

        restriction = self.ministry_restriction(normalized)
        if restriction is not None and self.catalog is not None:
            name, written, keep = restriction
            rest = set(self.subject_terms(re.sub(f"({re.escape(written)}|{re.escape(name)})(以外)?", " ", subject)))
            rest -= previous_words
            if not rest:
                # The earlier subject's measures of that ministry, or of the others: a list (or the
                # field asked of them), not the measure in focus.
                led = tuple(no for no, m in self.catalog.measures.items() if name in m.lead_ministries)
                restricted = state("refine", (), subject_=previous.subject, terms_=previous.subject_terms,
                                   inherited=("subject",), exclude=() if keep else led,
                                   fields_=tuple(f for f in fields if f not in ("lead", "what")) or ("list",))
                restricted.filters = {"ministry": name} if keep else {}
                return restricted
        if ordinal is not None and len(previous.named) >= max(2, abs(ordinal)) \
                and len(previous.listing) != len(previous.named):
            # 「AとBについて」, then 「前者は？」: the thing the user named, searched anew with the field
            # asked, whatever the answer listed (one measure, about B; or three). An answer with one
            # measure per thing named counts in the user's order (below); so does an ordinal beyond
            # the things named.
            name = previous.named[ordinal - 1] if ordinal > 0 else previous.named[-1]
            # (「2つ目のほうのガイドラインは？」: what the turn adds is asked of the thing named)
            name_terms = self.subject_terms(name)
            own = tuple(t for t in new_terms if t not in name_terms)
            head = self.analyzer.head_noun(name)
            # (by its title first; by its text, with what the turn adds, only when no measure of the
            # plan is titled so — 「テクノロジーマップ」 is No. 2-13's, not the measure in focus that
            # mentions it; failing both, a new search finds it)
            nouns = [head, *(t for t in own if t not in verbs)]
            holder = self.focus_holding(prior_focus, [head], title_only=True) if head else None
            if holder is not None and len(nouns) > 1 and self.focus_holding([holder], nouns) is None:
                holder = None  # titled so, but silent on what the turn adds
            if holder is None and head and not self.titled(head):
                holder = self.focus_holding(prior_focus, nouns)
            if holder is not None:
                # one measure the answer gave for two things named (both in its text): the thing
                # named is the measure that writes what it is
                return state("ordinal", [holder], subject_=f"{name} {subject}".strip() if own else name,
                             terms_=name_terms + own, inherited=("subject", "focus"))
            # the answer must be about the thing named, not only about the words added to it
            # (「後者のワンストップ化は」: a passage on 相続, not any ワンストップ化)
            naming = [w for w in self.analyzer.naming_words(name) if self.analyzer.known(w)]
            anchor = (max(naming, key=self.analyzer.idf),) if own and naming else ()
            return state("shift", subject_=f"{name} {subject}".strip() if own else name,
                         terms_=name_terms + own, inherited=("subject",), require=anchor)
        if ordinal is not None:
            # Ordinals count the user's own words when they named several things, else the answer's list.
            # 「後者」 is the second thing the user named, even two turns later.
            candidates: Sequence[str] = previous.listing or prior_focus
            if ordinal > len(candidates):
                candidates = next((lst for lst in reversed(earlier_lists) if len(lst) >= ordinal), candidates)
            if candidates and abs(ordinal) <= len(candidates):
                pick = candidates[ordinal - 1] if ordinal > 0 else candidates[-1]
                return state("ordinal", [pick], subject_=previous.subject, terms_=previous.subject_terms,
                             inherited=("subject", "focus"))
        if similar and new_terms:
            # 「似た施策で、学校関係のものは？」: the earlier kind of measure, in the new field (the
            # answer must hold the new words: retrieval keeps only passages that do).
            # The field is named by its own words (医療 in 「医療分野のもの」), not by the noun that
            # says it is a field (分野, 領域) — nearly every passage holds those.
            field_words = tuple(t for t in new_terms if t not in SCOPE_NOUNS) or new_terms
            return state("similar", subject_=f"{subject} {previous.subject}".strip(),
                         terms_=new_terms + tuple(previous.subject_terms), inherited=("subject",),
                         exclude=prior_focus, fields_=fields or ("list",), require=field_words)
        if similar and not new_terms and prior_focus and self.catalog is not None \
                and prior_focus[0] in self.catalog.measures:
            # 「似たような施策は？」 with no field named: measures like the one in focus (searched by its
            # title, which names what it does), other than those already shown.
            title = self.catalog.measures[prior_focus[0]].title
            return state("similar", subject_=title, terms_=self.subject_terms(title), inherited=("subject",),
                         exclude=prior_focus, fields_=fields or ("list",))
        if new_terms and narrow:
            # 「民間向けのものだけだと？」: the earlier subject, narrowed — a new search for both.
            refined = state("refine", (), subject_=f"{previous.subject} {subject}".strip(),
                            terms_=tuple(previous.subject_terms) + new_terms, inherited=("subject",))
            nouns = tuple(t for t in new_terms if t not in verbs) or new_terms
            if _AMONG_THEM_RE.match(normalized) and len(prior_focus) >= 2 \
                    and self.focus_holding(prior_focus, nouns) is not None:
                # 「そのうち、忘れ物のシステムはいつ全国で使える？」 after a list: one of the measures just listed, when
                # one of them speaks of it (else the user names something the list left out)
                refined.filters = {"measure_no": list(prior_focus)}
            return refined
        if more and not new_terms:
            # 「他には？」: the same subject, the measures not shown yet.
            return state("more", (), subject_=previous.subject, terms_=previous.subject_terms,
                         inherited=("subject",), exclude=prior_focus, fields_=("list",))
        if not new_terms and "list" in fields and set(fields) <= {"list", "what"} and not (ordinal or reference or all_of):
            # 「全部で何件？」「一覧にして」: the same subject's measures, as a list.
            return state("refine", (), subject_=previous.subject, terms_=previous.subject_terms,
                         inherited=("subject",), fields_=("list",))
        if new_terms and shift:
            # A new subject in a turn that keeps the earlier question's shape: 「では物流では？」
            return state("shift", subject_=subject, terms_=terms)
        if new_terms:
            # 「引越しのほうは？」 picks one of the things just listed by its name: a measure in focus
            # that merely mentions 引越し in its body is not it (a new search finds the one named so).
            picking = _PICK_RE.search(normalized) is not None
            # (what the turn says is done, 「上げたい」「取り組んでる」, need not be the measure's verb)
            nouns = tuple(t for t in new_terms if t not in verbs) or new_terms
            holder = self.focus_holding(prior_focus, nouns, title_only=picking)
            if holder is None and picking:
                return state("shift", subject_=subject, terms_=terms)
            if holder is not None:
                # 「対策技術の開発支援は何件が目標？」 after a measure whose text says exactly that: an
                # aspect of the measure in focus, not a new subject.
                # A turn that says what it asks of it (「制度が変わって、どういう対応が要るって？」)
                # asks that, not the field asked before (主担当); a short one (「開発支援のほうは？」) keeps it.
                asks_own = not own_fields and len(normalized) > 16
                return state("aspect", [holder], subject_=f"{previous.subject} {subject}".strip(),
                             terms_=tuple(previous.subject_terms) + new_terms, inherited=("subject", "focus"),
                             fields_=("general",) if asks_own else None)
            if reference:
                return state("refine", prior_focus[:3], subject_=f"{previous.subject} {subject}".strip(),
                             terms_=tuple(previous.subject_terms) + new_terms, inherited=("subject", "focus"))
            if not own_fields and len(normalized) <= 16:
                return state("shift", subject_=subject, terms_=terms)  # 「物流は？」
            return ConversationState(subject, terms, fields or ("general",), named=named, each=each)
        # No new content words: the turn asks about what is already in focus.
        focus = prior_focus if all_of else prior_focus[:1]
        return state("reference" if reference else "ellipsis", focus, subject_=previous.subject,
                     terms_=previous.subject_terms, inherited=("subject", "focus"))

    def conversation(self, turns: Sequence[dict]) -> tuple[ConversationState | None, list[list[str]], str]:
        """The state after the earlier turns, every list of measures an answer gave, and the last question."""
        state: ConversationState | None = None
        lists: list[list[str]] = []
        last_question = ""
        pending: str | None = None
        previous_listing: tuple[str, ...] = ()
        for message in turns:
            text = unicodedata.normalize("NFKC", message_text(message))
            if message.get("role") == "user":
                text = self.without_greeting(self.analyzer.respell(text).text)
                if pending is not None:  # a user turn without an answer: keep its subject
                    state = self._turn_state(pending, state, measure_nos=find_measure_nos(pending), earlier_lists=lists)
                pending, last_question = text[:MAX_QUERY_CHARS], text
                continue
            # A refusal's offer (「施策の番号（例: No. 1-57）…について質問してください。」) and any
            # bracketed example name no measure under discussion.
            for offer in self.table.offers.values():
                text = text.replace(unicodedata.normalize("NFKC", offer), " ")
            text = _EXAMPLE_RE.sub("", text)
            cited = cited_measures(text) or self.mentioned_measures(text)
            if pending is not None:
                state = self._turn_state(pending, state, measure_nos=find_measure_nos(pending), earlier_lists=lists)
                pending = None
            if state is not None:
                state.answered = self.order_by_naming(state.named, cited) if cited and state.each else (
                    tuple(cited) or state.focus)
                if state.resolution in ("ordinal", "reference", "ellipsis", "aspect") and previous_listing:
                    state.listing = previous_listing  # a follow-up on one item keeps the list it came from
                elif state.each and len(state.answered) >= len(state.named):
                    # The user asked about each thing they named: ordinals count their words.
                    state.listing = state.answered[: len(state.named)]
                else:
                    state.listing = state.answered
                previous_listing = state.listing
            if cited:
                lists.append(cited)
        if pending is not None:
            state = self._turn_state(pending, state, measure_nos=find_measure_nos(pending), earlier_lists=lists)
        return state, lists, last_question

    def unbridged_names(self, question: str, bridged: Sequence[Bridged]) -> list[str]:
        """The names of an English question (capitalised words after its first, acronyms, words with
        a capital inside: X-Road, iPhone, Singpass) that bridge to no corpus word and that no
        chunk contains."""
        taken = {w for b in bridged for w in b.english.split()}
        # words of a phrase the synonym table knows ("Digital Agency" → デジタル庁) are named by it
        taken |= {w for term in synonym_terms(question, self.analyzer.synonyms) for w in term.casefold().split()}
        out: list[str] = []
        for k, word in enumerate(_TYPED_WORD_RE.findall(unicodedata.normalize("NFKC", question))):
            name = re.sub(r"['’]s$", "", word).strip("-")
            key = name.casefold()
            inner_capital = any(c.isupper() for c in name[1:]) and not name.isupper()
            if not (name[:1].isupper() or inner_capital) or (k == 0 and not name.isupper() and not inner_capital) \
                    or key in STOP_WORDS or not name.replace("-", "").isalpha() \
                    or key in taken or self.analyzer.known(key) or name in out:
                continue
            out.append(name)
        return out

    def mentioned_measures(self, text: str) -> list[str]:
        """Measures an earlier answer names without this assistant's citation marks — an answer
        written by another tool or pasted by the user: numbers in any form (「施策3-80」「3-80番」)
        that the plan has, else measures whose full title it quotes, in order of mention."""
        if self.catalog is None:
            return []
        numbers = [no for no in find_measure_nos(text) if no in self.catalog.measures]
        if numbers:
            return numbers
        key = search_key(text)
        found = []
        for no, m in self.catalog.measures.items():
            title = search_key(m.title)
            if len(title) >= 6 and (at := key.find(title)) >= 0:
                found.append((at, no))
        return [no for _at, no in sorted(found)] or self.paraphrased_measures(text)

    def paraphrased_measures(self, text: str) -> list[str]:
        """Measures an answer enumerates in its own words (「保育現場のICT環境整備や、放課後児童クラブの
        DX推進など」): each item of the enumeration, taken for the measure whose title holds most
        of its words by weight (at least MIN_PARAPHRASE_COVER), in order of mention."""
        if self.catalog is None:
            return []
        out: list[str] = []
        for item in _ENUMERATION_RE.split(unicodedata.normalize("NFKC", text)):
            for ministry in self.catalog.ministries:
                # 「こども家庭庁が…を推進」: who leads is said beside the measure, not in its title
                item = item.replace(ministry, " ")
            words = {t for t in self.analyzer.tokenizer.tokenize(item) if is_content_word(t) and self.analyzer.known(t)}
            total = sum(self.analyzer.idf(t) for t in words)
            if len(words) < 2 or total <= 0:
                continue
            best, best_cover = None, 0.0
            for no in self.catalog.measures:
                shared = words & self.measure_tokens(no, title_only=True)
                cover = sum(self.analyzer.idf(t) for t in shared) / total
                if cover > best_cover:
                    best, best_cover = no, cover
            if best is not None and best_cover >= MIN_PARAPHRASE_COVER and best not in out:
                out.append(best)
        return out

    # -- the analysis ------------------------------------------------------------------------------

    def analyse(self, question: str, history: Sequence[dict] | None = None) -> QuestionAnalysis:
        """Fields, terms, requests and the resolved conversation state of one turn."""
        typed = western_years(_joined_letters(unicodedata.normalize("NFKC", question)))
        respelling = self.analyzer.respell(typed)
        normalized = self.without_greeting(respelling.text)
        english = _is_english(normalized)
        bridged = self.bridge.bridge(normalized) if english and self.bridge is not None else []
        if bridged:
            # The plan's words for the English ones join the question: the lexical side, the
            # subject and the refusal checks then see words the documents use.
            normalized = f"{normalized} {' '.join(dict.fromkeys(b.japanese for b in bridged))}"
        measure_nos = find_measure_nos(normalized)
        previous, lists, last_question = self.conversation(history or [])
        state = self._turn_state(normalized, previous, measure_nos=measure_nos, earlier_lists=lists)
        unbridged = self.unbridged_names(question, bridged) if english else []
        if bridged and not state.is_followup:
            # An English subject is weighed in the plan's words (and the names that have none):
            # its English words match nothing and would dilute every share of the subject.
            state.subject = " ".join(dict.fromkeys([*(b.japanese for b in bridged), *unbridged]))
        fields = [f for f in state.fields if f != "general"] or ["general"]
        if "list" in fields and fields[0] != "list" and state.resolution not in ("similar",):
            # 「防災の施策の目標を一覧で」 asks for targets; the list shape is secondary.
            fields = [f for f in fields if f != "list"] + ["list"]
        analysis = QuestionAnalysis(
            text=question, normalized=normalized, intent=fields[0], intents=fields, measure_nos=measure_nos,
            english=english, state=state, bridged=bridged,
            unbridged_names=unbridged,
            # (a request is read as typed too: the respeller takes 校正 for the plan's 公正)
            request=request_kind(normalized, self.table) or (
                request_kind(self.without_greeting(typed), self.table) if respelling.text != typed else None)
            or self.tasks.request(self.without_greeting(typed)),
            missing=missing_kind(normalized, self.table),
            asked_edition=self.edition_asked(normalized), respellings=list(respelling.changes),
            asked_detail=self.asked_detail(normalized),
        )
        state.exhaustive = self.table.marker("exhaustive", normalized) is not None
        if analysis.missing is None and state.is_followup and "fields" in state.inherited and last_question \
                and set(self.analyzer.naming_words(normalized)) <= _CALENDAR_WORDS \
                and not _OWN_ASK_RE.search(normalized):
            # 「デジタル庁の予算は？」 then 「では再来年度は？」 asks the same kind of fact of another year
            # (no word naming anything new): a kind the documents never state stays unstated.
            analysis.missing = missing_kind(unicodedata.normalize("NFKC", last_question), self.table)
        # Retrieval sees the normalised text: half-width katakana (ｶﾞﾊﾞﾒﾝﾄ) or full-width Latin
        # embed and tokenise unlike the plan's own spelling.
        analysis.retrieval_query = self.retrieval_query(normalized, state, previous, last_question)
        # Abbreviations the synonym table does not know (スパコン) search with the word they stand for.
        naming = self.analyzer.naming_words(state.subject)
        expansions = [e for w in naming if (e := self.analyzer.abbreviation_of(w))]
        if expansions:
            analysis.retrieval_query = f"{analysis.retrieval_query} {' '.join(expansions)}"[: MAX_QUERY_CHARS + 60]
        analysis.is_followup = state.is_followup
        if state.resolution in ("reference", "ellipsis", "ordinal", "refine", "aspect"):
            analysis.referenced_measures = list(state.focus[:3] if state.resolution != "refine" else [])
            analysis.context_measures = list(state.focus)
        elif previous is not None and (state.resolution == "new" or (
                state.resolution == "shift" and not self._names_item_of_last_answer(normalized, history or []))):
            # A question of its own in a conversation may still be about the measure just discussed
            # (「対策技術の開発支援は何件が目標？」): retrieval prefers it when it holds the new words —
            # so may a shift that replaces a modifier (「会社のほうは？」 of a measure on telework
            # in both the government and companies), unless it picks another item the answer named
            # (「引越しのほうは？」 after an answer naming 引越しの手続).
            analysis.context_measures = list(previous.answered or previous.focus)
        # A follow-up names the edition, the earlier question the subject (「GIGAスクールは？」 then
        # 「それって2021年の計画にもあった？」): the document is named by both together.
        inherited_text = unicodedata.normalize("NFKC", last_question) if state.is_followup \
            and state.resolution != "shift" else ""
        for doc_id, pattern in _EDITION_PATTERNS:
            if pattern.search(normalized) or (inherited_text and (
                    pattern.search(inherited_text) or pattern.search(f"{inherited_text} {normalized}")
                    or pattern.search(f"{normalized} {inherited_text}"))):
                analysis.preferred_doc = doc_id
                break
        if analysis.preferred_doc is None:
            analysis.preferred_edition = self.preferred_edition(normalized)
        latest = max(self.editions) if self.editions else None
        older_doc = analysis.preferred_doc is not None and (self.catalog is None
                                                             or analysis.preferred_doc != self.catalog.doc_id)
        older_edition = None not in (analysis.preferred_edition, latest) and analysis.preferred_edition < latest
        if (older_doc or older_edition) and analysis.referenced_measures:
            # The measures in focus are the 2025 plan's: an older edition is searched for the subject.
            analysis.referenced_measures = []
        part = _PART_RE.search(normalized)
        if part:
            analysis.preferred_part = "第" + str("12345一二三四五".index(part.group(1)) % 5 + 1)
        # The subject's words are checked against the corpus when the turn states them, and when it
        # inherits them with no measure to refer to (the earlier turn was refused: 「準天頂衛星の施策は？」
        # then 「それはいつまでに何機体制？」 is still about something the plan does not mention).
        own_subject = not state.is_followup or state.resolution in ("shift", "similar") or not state.focus
        analysis.terms = self.analyzer.terms(analysis.retrieval_query, subject=state.subject if own_subject else None,
                                             naming=naming)
        if state.is_followup and state.focus and state.resolution not in ("shift", "similar", "more"):
            # 「それはどのクラウドの上に構築されるの？」 about the measure in focus: the sentence to quote is the
            # one with the turn's own words (クラウド), not the one richest in the inherited subject's.
            own = set(self.subject_terms(self.subject_of(normalized))) - set(previous.subject_terms if previous else ())
            # (with the plan's wording for them: 荷物 is searched as 貨物, which the sentence holds)
            own |= {t for w in own for e in self.analyzer.synonyms.get(w, ()) for t in self.analyzer.tokenizer.tokenize(e)}
            if own & analysis.terms.weights.keys():
                analysis.terms = replace(analysis.terms, own=frozenset(own))
        elif state.resolution == "shift" and state.require and previous is not None:
            # 「後者で減らしていく事務はどういうもの？」: the thing named is searched anew; what the turn
            # adds (事務) chooses the sentence of its measure, not the name's words every sentence holds
            own = set(self.subject_terms(self.subject_of(normalized))) - set(previous.subject_terms)
            own |= {t for w in own for e in self.analyzer.synonyms.get(w, ()) for t in self.analyzer.tokenizer.tokenize(e)}
            if own & analysis.terms.weights.keys():
                analysis.terms = replace(analysis.terms, own=frozenset(own))
        elif state.resolution == "similar" and set(state.require) & analysis.terms.weights.keys():
            # 「似た…で、地盤のデータのほうは？」: the new field's words choose the measure and its
            # sentence; the earlier subject only says what kind of thing is meant.
            analysis.terms = replace(analysis.terms, own=frozenset(state.require))
        named_ministries = tuple(name for name, _written in self.ministries_named(normalized))
        if named_ministries:
            analysis.terms = replace(analysis.terms, ministries=named_ministries)
        return analysis

    def ministries_named(self, normalized: str) -> list[tuple[str, str]]:
        """(canonical name, as written) of each ministry the text names that the plan assigns
        measures to (「文科省」 → 文部科学省), in order."""
        if self.catalog is None:
            return []
        out: list[tuple[str, str]] = []
        for m in _MINISTRY_RE.finditer(normalized):
            found = _ministry_tail(_with_head(normalized, m), self.catalog.ministries)
            if found is not None and found[0] not in (n for n, _w in out):
                out.append(found)
        return out

    def ministry_restriction(self, normalized: str) -> tuple[str, str, bool] | None:
        """(canonical name, name as written, keep) when the turn restricts a subject to the measures one
        ministry leads (keep) or to those it does not lead: 「警察庁のものだけ」, 「文科省以外は？」."""
        if self.catalog is None:
            return None
        for pattern, keep in ((_MINISTRY_EXCEPT_RE, False), (_MINISTRY_ONLY_RE, True)):
            m = pattern.search(normalized)
            found = _ministry_tail(_with_head(normalized, m), self.catalog.lead_ministries) if m else None
            if found is not None:
                return (*found, keep)
        return None

    def asked_detail(self, normalized: str) -> str | None:
        """The detail a question asks whether a measure has (「電子処方箋を導入しない病院に罰則はありますか」
        → 罰則, 「デジタル推進委員は報酬をもらえるの？」 → 報酬): the noun phrase it ends on, followed
        by asking whether there is one (``[detail] asks_whether``). Not an aspect a measure's body
        explains (背景, 成果, 計画: ``[detail] explained``); 「…の実施主体は？」 is left alone too, as
        the plan states who does what without naming the role."""
        runs: list[tuple[list[str], int]] = [([], 0)]
        counting = False
        pos = 0
        for m in self.analyzer.tokenizer.morphemes(normalized):
            pos = normalized.find(m.surface, pos) + len(m.surface) if m.surface else pos
            noun = m.pos1 in ("名詞", "接尾辞")
            counting = noun and (counting or bool(_NOT_DETAIL_RE.fullmatch(m.surface)))
            if noun and not counting and (m.pos1 == "名詞" or runs[-1][0]):
                runs[-1][0].append(m.surface)
                runs[-1] = (runs[-1][0], pos)
            elif runs[-1][0]:
                runs.append(([], 0))
        run, end = next(((r, e) for r, e in reversed(runs) if r), ([], 0))
        whether = self.table.detail_whether
        if not run or whether is None or not whether.search(normalized[end:].strip()):
            return None
        explained = self.table.explained
        if explained is not None and (explained.search(run[-1]) or explained.search("".join(run))):
            return None
        detail = "".join(run)
        # 「…はいくつある？」「何件ある？」 ask how many, not whether there is one
        return detail if len(detail) >= 2 and detail not in QUESTION_WORDS and not _INTERROGATIVE_RE.search(detail) else None

    def retrieval_query(self, question: str, state: ConversationState, previous: ConversationState | None,
                        last_question: str) -> str:
        """The text retrieval sees: the question, plus what a follow-up inherits."""
        if state.resolution in ("new", "measure_no") or previous is None:
            return question[:MAX_QUERY_CHARS]
        field_words = self.table.field_query(state.fields)
        if state.resolution in ("shift", "similar", "refine", "more"):
            return f"{state.subject} {field_words}".strip()[:MAX_QUERY_CHARS]
        # Retrieval sees the earlier question too, so 「それはいつまで？」 keeps its topic.
        # Both parts are capped: history comes from the client and may be long.
        return f"{last_question[:100]} {question}".strip()[:MAX_QUERY_CHARS]


__all__ = [
    "QUESTION_WORDS", "ConversationState", "QueryTerms", "QuestionAnalysis", "TermAnalyzer", "Understanding",
    "is_content_word",
]
