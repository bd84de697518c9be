"""Composing an extractive answer: the lines shown, each with its citation.

The shape staff paste into a memo: the first line is the direct answer — the asked-for value
(ministry, date, figure, KPI) with its citation, one sentence where possible — then at most three
supporting lines, one sentence each, each cited. Everything else is in the source cards.

* A field of a measure (主担当, 目標, 工程表 …) is rendered by one small function per field,
  named in ``data/intents.toml``; a question for several fields gets one line per field.
* A list question gets every measure that clears a relevance bar (up to 10), one line each.
* Anything else gets the best sentences of the passages.

Sentences are chosen by one ranker with one scoring function (:meth:`Composer.rank`): the
question's words weighted by rarity, the field asked, figures when a figure is asked, position.
The question's words arrive analysed (:class:`~assistant.understanding.QueryTerms`); sentence
tokens come with the index (``Chunk.sentences``, computed when it was built), and any other
sentence is tokenised once and kept.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from assistant.catalog import Catalog, Measure
from assistant.chunking import (
    Chunk,
    measure_body_sentences,
    measure_target_sentences,
    measure_text,
    sentence_units,
    strip_bullet,
)
from assistant.corpus import Document, search_key
from assistant.intents import MissingKind, load_intents
from assistant.retrieval import Hit
from assistant.tokenizer import JapaneseTokenizer
from assistant.understanding import QueryTerms, is_content_word

# The question asks for a figure, a date or a target: prefer sentences that hold one.
# 「何」 with a counter (何分野, 何団体, 何パーセント) asks a figure; with a particle (何を, 何が, 何か) it does not
NUMERIC_ASK_RE = re.compile(r"いつ|いく[つら]|幾つ|何(?![をのがはにでともかやらよだてなへ\s、。？?!！])|どのくらい|どれくらい|どれだけ|割合|率|数|目標|KPI|時期|期限|予定|when|how many|how much|rate|target", re.I)
_FIGURE_RE = re.compile(r"\d|[一二三四五六七八九十百千万億]+(件|人|割|分野|法案|年)")
# What kind of figure a question asks for: a time (いつまでに), an amount (何件, どのくらいの規模), or either.
_TIME_ASK_RE = re.compile(r"いつ|何年|何月|時期|期限|めど|目途|目処|スケジュール|when|deadline", re.I)
_QUANTITY_ASK_RE = re.compile(
    r"何(?!年|月|日|時|を|が|の|で|と)[^\s、。？?]{0,3}|いくつ|どのくらい|どれくらい|どれだけ|どの程度|規模|割合|率|件数|人数|how many|how much",
    re.I)
# An amount as plans write it (a figure with a counter other than a date, a share, 「約17,000」).
_QUANTITY_RE = re.compile(
    r"\d[\d,.]*\s*(万|千|億)|\d[\d,.]*\s*(%|％|割|件|人|名|者|社|団体|か所|箇所|自治体|機関|校|法人|手続|地区|枚|店舗|"
    r"台|施設|か国|拠点|回|市町村|都市|km|キロ|隊|本部|システム|業務|分野|条項|円|倍|ポイント|時間|日間)|約\s*\d")
_DATE_RE = re.compile(r"\d{4}\s*年|令和\s*[0-9０-９元]|年度|\d\s*月")
_YEAR_RE = re.compile(r"\d{4}\s*年|令和\s*[0-9０-９元]")
_NAMED_YEAR_RE = re.compile(r"(20\d\d)\)?\s*年")  # a year the question names (「令和7(2025)年度」 too)
NAMED_YEAR_BONUS = 1.3
_THIS_YEAR_RE = re.compile(r"今年度|本年度|今年|this (fiscal )?year")


# A question asking what something is called (the intents table's "name" field), and a sentence
# that states a name: quoted (「医療情報基盤・診療報酬審査支払機構」), or in brackets after what it
# names (「…チャットボット（ガボット）」「（コネクテッド・ワンストップ）」), or said to be one (愛称, と呼ぶ).
# Saying so outright comes first: many sentences quote a law's or a report's name in passing.
_STATES_NAME_RES = (re.compile(r"愛称|通称|名称|略称|と呼|と称|という名"),
                    re.compile(r"「[^」]{2,40}」|『[^』]{2,40}』|[（(][^（()）]{0,30}[ァ-ヺA-Za-z][^（()）]{0,30}[）)]"))


NAME_STATED_BONUS = 1.3


@functools.lru_cache(maxsize=256)
def _asks_name(question: str) -> bool:
    """Whether the question asks what something is called (the intents table's "name" field)."""
    name = load_intents().field("name")
    return name is not None and name.matches(question)


def _asked_kind_re(numeric: bool | str) -> re.Pattern[str]:
    """The figures that answer a figure question of this kind (see asked_figure)."""
    return _QUANTITY_RE if numeric == "quantity" else _DATE_RE if numeric == "time" else _FIGURE_RE


# An item of a numbered list the question names: 「第10条」「第3項」, 「⑧」「8番目の原則」「3つ目の柱」.
_ITEM_NO_RE = re.compile(r"第\s*(\d{1,3})\s*(条|項|号|章|節)")
_ITEM_ORDINAL_RE = re.compile(r"(?<![\d第])(\d{1,2})\s*(番目|つ目|個目)|([①-⑳])")
ITEM_BONUS = 2.0


@functools.lru_cache(maxsize=256)
def asked_items(question: str) -> tuple[str, ...]:
    """How the documents write the numbered items a question names: 「第10条」 → 第10条, 第 10 条;
    「⑧番目」「8番目」「8つ目」 → ⑧ (the plan numbers principles and rules with circled digits)."""
    out: list[str] = []
    for m in _ITEM_NO_RE.finditer(question):
        out += [f"第{m.group(1)}{m.group(2)}", f"第 {m.group(1)} {m.group(2)}"]
    for m in _ITEM_ORDINAL_RE.finditer(question):
        n = int(m.group(1)) if m.group(1) else ord(m.group(3)) - 0x245F
        if 1 <= n <= 20:
            out.append(chr(0x245F + n))
    return tuple(dict.fromkeys(out))


def quoted(sentence: str) -> str:
    """A sentence as an answer line shows it: without its bullet, nor the number of the footnote it is."""
    return FOOTNOTE_LINE_RE.sub("", strip_bullet(sentence), count=1)


# 「手数料をどうする？」「期限はどうなる？」「書類がどう変わる？」: the noun asked how it is treated
_FOCUS_RE = re.compile(r"([\u4e00-\u9fffァ-ヺーA-Za-z]{2,})(?:を|は|が|って)(?:どう|どのように|どういうふうに|どんなふうに)")
FOCUS_BONUS = 1.3

# A question asking how something is done, and the sentences saying by what means.
_ASKS_HOW_RE = re.compile(r"どうやって|どのようにして|どのように(進め|実現|確保|行|実施)|どういう(やり方|方法|手順|手段)|どんな(やり方|方法|手順|手段)"
                          r"|(やり方|進め方|方法|手順|手段)(で|は|って|を)")
_STATES_MEANS_RE = re.compile(r"により|によって|を通じ|を通して|を活用し|を用いて|ながら|を行い|を基に|に基づき|ことで")
MEANS_BONUS = 1.6
# A target line whose content words are at least this share its measure's title's restates it; the
# body's best sentence leads instead when it scores at least RESTATED_TITLE_SHARE of it.
RESTATES_TITLE = 0.5
RESTATED_TITLE_SHARE = 0.4


@functools.lru_cache(maxsize=256)
def asked_focus(question: str) -> str:
    """The noun a question asks how it is treated or changes (「国は手数料をどうする？」 → 手数料), or ""."""
    m = _FOCUS_RE.search(_norm(question))
    return m.group(1) if m else ""


def _line_key(line: str) -> str:
    """What a supporting line quotes, without its bullet, its label (目標: ) and its citation."""
    return search_key(re.sub(r"^・\s*(目標|工程表|KPI)?[:：]?\s*", "", line).split(" [")[0])


def fragments(sentences: Iterable[str]) -> set[str]:
    """The sentences that are part of a longer one of ``sentences``: a sentence cut by a page break
    (its footnotes printed in between) is found whole elsewhere (a measure repeating 第1's text)."""
    keys = {sent: search_key(sent) for sent in sentences}
    return {sent for sent, key in keys.items()
            if any(len(other) > len(key) + 8 and key in other for other in keys.values())}


def states_asked_figure(sentence: str, numeric: bool | str) -> bool:
    """Whether a sentence holds a figure of the kind asked for (see asked_figure)."""
    return bool(_asked_kind_re(numeric).search(sentence))


def asked_figure(question: str) -> str:
    """"time", "quantity" or "any" when the question asks for a figure (NUMERIC_ASK_RE), else ""."""
    if not NUMERIC_ASK_RE.search(question):
        return ""
    time, quantity = bool(_TIME_ASK_RE.search(question)), bool(_QUANTITY_ASK_RE.search(question))
    return "time" if time and not quantity else "quantity" if quantity and not time else "any"
# A numbered or lettered line without a full stop is a heading (「（３）構造改革のためのデジタル原則」,
# 「Bマイナンバーカードの市民カード化の推進」): it names a topic and states nothing.
# A lettered heading is a letter with its mark (（ア）, a), A．), a katakana letter and a space (ア 防災
# DX) or one of the first capitals before Japanese (A「…」, Bマイナンバーカードの…): a sentence that
# merely starts with a letter (RESAS普及…, マイナンバーカードは…, Jアラートによる…) is not one.
_HEADING_RE = re.compile(r"^(第[0-9０-９一二三四五六七八九十]+|[（(]?[0-9０-９一二三四五六七八九十]+[）)．.]|[①-⑳]"
                         r"|[（(][ア-ンA-ZＡ-Ｚa-z][）)]|[ア-ンA-ZＡ-Ｚa-z][）)．.]|[ア-ン]\s|[A-FＡ-Ｆ](?=[^\x00-\x7f])"
                         r"|[○◯■□●◆◇▼▽・])")
_BRACKETED_LINE_RE = re.compile(r"[（(][^（()）]{1,40}[）)]")  # 「（医療データ利活用の現状）」: a label
MAX_SUPPORT = 3  # supporting lines after the first
MAX_LIST = 10  # measures listed one per line; the next ones are named in 「ほかに関連」
GIST_NAME_BONUS = 1.6  # see gist_weight
# A list's first line names, after each of its first measures' titles, the system or service its gist
# names (instrument_name): a name of at most this many characters, in at most this many measures.
LIST_NAMED_IN_HEADER = 5
# A body sentence stating the kind of figure asked (a date, an amount) that the targets lack opens a
# target answer when its score is at least this share of the best body sentence's: the targets
# cannot answer, and the sentence is about the question nearly as much as any.
BODY_KIND_SHARE = 0.35
# share of the best sentence's score a sentence stating a name needs to answer a name question:
# saying so outright (名称, 愛称), or giving one in brackets or quotes
NAME_SENTENCE_SHARES = (0.2, BODY_KIND_SHARE)
INSTRUMENT_NAME_CHARS = 20
INSTRUMENT_MAX_MEASURES = 3
LIST_GIST_CHARS = 90  # a listed measure's gist: its key sentence up to a clause break near this length

Lines = tuple[list[str], list["Citation"]]


@dataclass(frozen=True)
class Citation:
    """A checkable source for a claim: the measure (if any), document, section, verbatim quote and page."""

    measure_no: str | None
    doc_id: str
    title: str  # measure title, or the document title for passages outside the measures
    section: str
    quote: str  # verbatim from the source (findable in the raw file)
    lead_ministries: tuple[str, ...]
    score: float
    page: int | None = None  # printed page of the official document where the quote starts
    slide: int | None = None  # slide number, for the slide deck (which has no pages)

    @property
    def label(self) -> str:
        return f"No. {self.measure_no}" if self.measure_no else f"{self.title} > {self.section}"

    @property
    def page_label(self) -> str:
        """「p.45」, 「スライド7」 or "" (the web page has neither)."""
        if self.page is not None:
            return f"p.{self.page}"
        return f"スライド{self.slide}" if self.slide is not None else ""


@dataclass(frozen=True)
class Candidate:
    """A sentence that may be shown: where it comes from and which field of a measure it is."""

    text: str
    field: str = "body"  # "body", "targets", "kpi", "actions"
    position: int = 0


def doc_short_title(title: str, edition: int) -> str:
    """「重点計画（2025）」-style labels: short enough to follow every cited sentence."""
    short = re.sub(r"[（(].*?[)）]", "", title).replace("デジタル社会の実現に向けた重点計画", "重点計画")
    return f"{short[:28]}（{edition}）"


def shared_figures(a: str, b: str) -> set[str]:
    """Figures two sentences both state, years aside (「4,294 万件」 and 「4,294万件」 share 4294)."""
    def figures(text: str) -> set[str]:
        found = {f.replace(",", "") for f in re.findall(r"\d[\d,.]*\d|\d", unicodedata.normalize("NFKC", text))}
        return {f for f in found if not re.fullmatch(r"20\d\d", f) and len(f) >= 2}
    return figures(a) & figures(b)


def is_heading(text: str) -> bool:
    """A short line without a full stop that starts like a numbered or lettered heading."""
    text = text.strip()
    return len(text) < 50 and "。" not in text and bool(_HEADING_RE.match(text) or _BRACKETED_LINE_RE.fullmatch(text))


def ministries(names: Sequence[str]) -> str:
    return "、".join(names) if names else "なし"


def confirmation(m: Measure, asked: Sequence[str], role: str) -> str:
    """「はい、」 or 「いいえ、」 when the question checks a ministry against the measure
    (「主担当は文科省？」), with the role it does have when it has another: empty otherwise."""
    if not asked:
        return ""
    name = asked[0]
    lead, related = name in m.lead_ministries, name in m.related_ministries
    if (role == "lead" and lead) or (role == "related" and related):
        return "はい、"
    if lead:
        return f"いいえ、{name}は主担当です。"
    if related:
        return f"いいえ、{name}は関係府省庁です。"
    return f"いいえ、{name}はこの施策の担当に挙がっていません。"


def clause(text: str, limit: int = 60) -> str:
    """The first clause of a sentence, for one-line gists in lists (the citation keeps it whole)."""
    text = text.strip().lstrip("・-○ ")
    if len(text) <= limit:
        return text
    cut = max(text.rfind("、", 0, limit), text.rfind("。", 0, limit))
    return (text[:cut] if cut >= limit // 2 else text[: limit - 1]) + "…"


SUPPORT_CHARS = 70  # a supporting line without a figure is cut to its first clauses beyond this


def short_support(line: str) -> str:
    """A supporting line kept short: its sentence cut to its first clauses when it states no figure
    (its source card, and its citation, keep it whole); a line with a figure, a date or a target
    stays whole, as the figure may be what was asked."""
    body, sep, label = line.rpartition(" [")
    if not sep or not body.startswith("・") or _FIGURE_RE.search(body) or len(body) <= SUPPORT_CHARS:
        return line
    return f"・{clause(body, SUPPORT_CHARS)} [{label}"


def short_title(title: str, limit: int = 40) -> str:
    """A measure title short enough to name several on one line (the cards show it whole)."""
    title = title.strip()
    return title if len(title) <= limit else title[: limit - 1] + "…"


def topic_label_ok(topic: str) -> bool:
    """Whether the user's subject reads as a phrase worth quoting back (「教育データの利活用」).

    What is left after removing question words can be a fragment (「ドローン を一通り」,
    「自動運転の社会実装に はどれ」): a gap or a trailing kana particle means it is not one.
    """
    return bool(topic) and len(topic) <= 20 and not re.search(r"\s", topic) and not re.search(r"[ぁ-ゖ]$", topic)


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# Openers that refer back to the previous sentence (「このように」「こうした取組」「その上で」).
_HIRAGANA_START_RE = re.compile(r"[ぁ-ゖ]")
_CLOSING_START_RE = re.compile(r"[）)」』]")  # 「）に定める…」: the rest of a sentence split inside brackets
# A footnote's text, after its number (「46 「デジタル公共インフラ」は…」「49 「Ransom…」…造語。」): a note on a
# word of the text, not the text's own statement (not 「1 人1台端末」: a number with its counter).
FOOTNOTE_LINE_RE = re.compile(r"^\s*\d{1,3}\s+(?![人件年月日つか万億千百%％歳回倍割台校社者])(?=[「『\u4e00-\u9fffァ-ヺ]|\d{4}\s*年)")
FOOTNOTE_WEIGHT = 0.7
_GRAMMAR_START = frozenset({"助詞", "助動詞", "接尾辞"})
_BACK_REFERENCE_RE = re.compile(r"^[・\-\s]*(このように|このため|こうした|こうして|これら|これに|そうした|その上で|それら|その(?=[^\s]))")
# The topic of a sentence: what comes before its first は (「マイナンバーカードは…である」).
_TOPIC_RE = re.compile(r"^[・\-\s]*([^、。は]{2,40}?)(?:とは|は)")
# How a measure's sentences end: what it does (…を推進する。…を目指す。) or why (…が重要である。
# …が急務。…が生じている。). A measure's gist is what it does; its body usually opens with why.
_ACTION_END_RE = re.compile(
    r"(?:する|進める|図る|目指す|行う|取り組む|努める|める|げる|せる|つなげる)(?:ものとする)?[。．]?\s*$|(?:予定|方針|目標)[。．]?\s*$"
)
_BACKGROUND_END_RE = re.compile(
    r"(?:である|であった|重要|必要|不可欠|急務|課題|求められている|いる|いない|ない|ある|だ|きた|った)[。．]?\s*$"
)


# A sentence that names the measure's instrument: a system or service by its Latin name (SOBO-WEB,
# JC-STAR) or a name the plan quotes (「引越し手続オンラインサービス」).
_NAMES_INSTRUMENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9・\-]{2,}|「[^」]{3,30}」")


def _first_stating(ranked: Sequence[tuple[float, Candidate]],
                   figure: re.Pattern[str]) -> tuple[float, Candidate] | None:
    """The best-ranked candidate stating a figure of the kind asked, with its score."""
    return next(((sc, c) for sc, c in ranked if figure.search(c.text)), None)


def gist_weight(sentence: str) -> float:
    """How well a sentence serves as a measure's gist: what it does beats why it is needed, and
    naming the system or service it builds beats describing it."""
    weight = 1.0 if _ACTION_END_RE.search(sentence) else 0.6 if _BACKGROUND_END_RE.search(sentence) else 0.85
    return weight * (GIST_NAME_BONUS if _NAMES_INSTRUMENT_RE.search(unicodedata.normalize("NFKC", sentence)) else 1.0)


# A term's definition in the documents: a footnote its mention points to (「特定移行支援システム<sup>6</sup>」
# … 「<sup>6</sup> 現行システムが…」) or a ※ note (「※GSSAMS（AccountManagementService）： GSSユーザー情報の…」).
_FOOTNOTE_REF_RE = re.compile(r"<sup>(\d{1,3})</sup>")
_FOOTNOTE_DEF_RE = re.compile(r"(?m)^<sup>(\d{1,3})</sup>[ \t]*(\S[^\n]{7,400})$")
_NOTE_DEF_RE = re.compile(r"※\s*([^\s：:（()※]{2,40})(?:[（(][^）)]{1,60}[）)])?\s*[：:]\s*([^※\t\n]{8,300})")
_CITES_SOURCE_RE = re.compile(r"(より|参照)[。.]?\s*(（[^）]*）)?\s*$")
_SOURCE_NOTE_RE = re.compile(r"(より|参照|による|決定|法律第\s*\d+\s*号|号)[。.]?\s*$|^(平成|令和|昭和)\s*\d+\s*年")
# 「準公共分野とは？」「DMPって何」「ワンスオンリーの意味」
# … and what an abbreviation stands for (「GSOCの正式名称は？」「DMPって何の略？」「EBPMは日本語で何て言う？」):
# a footnote defining it spells it out.
_DEFINITION_ASK_RE = re.compile(
    r"(.{2,40}?)\s*(?:とは|って)[、,]?\s*(?:何|なに|どういう|どんな|どのような|\s*[？?]|$)|(.{2,40}?)の(?:意味|定義)"
    r"|([A-Za-z][A-Za-z0-9\-]{1,15})\s*(?:って|は|の)?\s*(?:日本語の|日本語で|英語の|英語で)?\s*(?:正式名称|正式名|略称|フルネーム|何の略|なんの略|何て言う|なんて言う|何と言う)")
# 「ゼロトラストって言葉、どこから来たの？」「EBPMという用語は…」: the word itself is asked about
_WORD_ASK_RE = re.compile(r"([^、。？?]{2,40}?)\s*(?:って|という|っていう)\s*(?:言葉|用語|単語)")


# A term ends in a noun: a phrase ending in a verb or an adjective (進める, 作った, 多い) is a clause.
_VERB_END_RE = re.compile(r"(?<=[ぁ-ゖ\u4e00-\u9fff])(る|た|う|く|す|つ|む|ぶ|ぐ|い|だ|ない|たい)$")


@dataclass(frozen=True)
class Definition:
    """What a document says a term means, with where it says so."""

    term: str
    text: str
    doc_id: str
    start: int  # raw offset of the definition


_BODY_DEF_RE = re.compile(r"[^。\n]*?を「(?P<term>[^「」\n]{2,30})」と(?:定義|呼ぶ|呼称|称|いう|言う)[^。\n]*。?"
                          r"|(?<=[\n。])[-・ 　]*「(?P<term2>[^「」\n]{2,30})」とは[、,][^。\n]{5,200}。")


def definitions_of(doc: Document) -> list[tuple[str, bool, Definition]]:
    """(text before the mention, whether the term must match it whole, definition) for every
    footnoted mention, ※ note and definition in the body (「…を「X」と定義」) of ``doc``."""
    raw = doc.raw
    defs = [(m.start(), m.group(1), m.group(2).strip(), m.start(2)) for m in _FOOTNOTE_DEF_RE.finditer(raw)]
    out: list[tuple[str, bool, Definition]] = []
    for m in _FOOTNOTE_REF_RE.finditer(raw):
        line_start = raw.rfind("\n", 0, m.start()) + 1
        if line_start == m.start():
            continue  # the definition line itself
        before = raw[max(line_start, m.start() - 40): m.start()]
        # The definition is the first footnote of that number after the mention.
        found = next((d for d in defs if d[1] == m.group(1) and d[0] > m.start()), None)
        # A footnote that gives a source (「…白書」より。, 法律第144号。, …決定。) defines nothing.
        if found is not None and not _SOURCE_NOTE_RE.search(found[2]):
            out.append((before, False, Definition(before, found[2], doc.info.doc_id, found[3])))
    for m in _NOTE_DEF_RE.finditer(raw):
        if m.group(1).isdigit():
            continue  # 「※1：…の略称」 numbers a footnote, it names no term
        out.append((m.group(1), True, Definition(m.group(1), m.group(2).strip(), doc.info.doc_id, m.start(2))))
    # 「…形態を「公共SaaS」と定義した」「…を「X」と呼ぶ」「「X」とは、…」: the body's own definition
    for m in _BODY_DEF_RE.finditer(raw):
        term = m.group("term") or m.group("term2")
        start = m.start() + len(m.group(0)) - len(m.group(0).lstrip("-・ 　"))
        text = raw[start:m.end()].strip()
        # up to the end of the clause that defines it (「…と定義したところ、」)
        named = text.find(f"「{term}」")
        cut = re.search(r"[、,]", text[named + len(term) + 2:]) if named >= 0 else None
        if cut is not None:
            text = text[: named + len(term) + 2 + cut.start()]
        out.append((term, True, Definition(term, text, doc.info.doc_id, start)))
    return out


def _starts_word(text: str, at: int) -> bool:
    """Whether a word can start at ``text[at]``: at the start, or after kana particles, spaces or
    punctuation — not inside a katakana, kanji or Latin run (「カード」 is not the term asked in
    「マイナンバーカード」, nor the one a note defines for 「キャリアアップカード」)."""
    return at == 0 or not re.match(r"[\u30a0-\u30ff\u4e00-\u9fffA-Za-z0-9ー]", text[at - 1])


def defined_term(normalized: str) -> str | None:
    """The term a question asks the meaning of (「GSSAMSって何？」 → GSSAMS), if it asks one."""
    word = _WORD_ASK_RE.search(normalized)
    m = word or _DEFINITION_ASK_RE.search(normalized)
    if not m:
        return None
    term = (m.group(1) or (m.group(2) or m.group(3) if m is not word else "") or "")
    quoted = re.search(r"[「『]([^「」『』]{2,30})[」』]?\s*$", term)
    if quoted:
        term = quoted.group(1)  # 「そのなかで「公共SaaS」って」: the quoted word is the term
    term = term.strip(" 　、,「」『』")
    if _VERB_END_RE.search(term):
        # 「どう進めるって？」「何を作るって言ってる？」: the って quotes what is said, it names no term
        return None
    return term or None


class Composer:
    """Builds the lines of an answer from the catalog and the retrieved passages."""

    def __init__(self, catalog: Catalog, documents: Sequence[Document], tokenizer: JapaneseTokenizer) -> None:
        self.catalog = catalog
        self.documents = {d.info.doc_id: d for d in documents}
        self.tokenizer = tokenizer
        # the fiscal year the newest plan speaks of as this year (the 2025 plan: 2025年度)
        self.plan_year = max((d.info.edition for d in documents), default=2025)
        self.renderers: dict[str, Callable[[Measure, QueryTerms, float, str, bool], Lines]] = {
            "lead": self.render_lead, "related": self.render_related, "targets": self.render_targets,
            "roadmap": self.render_roadmap, "what": self.render_what, "page": self.render_page,
            "name": self.render_name,
        }
        # (mention or note term normalised once, whether it must match whole, definition)
        self._definitions = [(_norm(before), whole, d) for doc in documents for before, whole, d in definitions_of(doc)]
        self._sentence_tokens: dict[str, frozenset[str]] = {}
        self._fragment_heads: dict[str, bool] = {}  # a sentence's first characters → starts mid-sentence
        self._measure_candidates: dict[str, list[Candidate]] = {}
        self._naming_counts: dict[str, int] = {}  # a name → how many measures' texts contain it
        self._measure_keys: list[str] | None = None  # measures' texts, NFKC and case-folded (measures_naming)
        self._lock = threading.Lock()

    # -- citations ----------------------------------------------------------------------------

    def _page(self, doc_id: str, quote: str, start: int, end: int) -> tuple[int | None, int | None]:
        doc = self.documents.get(doc_id)
        if doc is None:
            return None, None
        # Search the passage's own window: lines such as 「主担当府省庁：デジタル庁」 recur everywhere.
        span = doc.locate(quote, start, end) or doc.locate(re.split(r"（主担当|\n", quote.lstrip("・ "))[0], start, end)
        at = span[0] if span else start
        return doc.page_at(at), doc.slide_at(at)

    def measure_citation(self, m: Measure, quote: str, score: float, *, window: tuple[int, int] | None = None) -> Citation:
        start, end = window or (m.start, m.end)
        page, slide = self._page(self.catalog.doc_id, quote, start, end)
        return Citation(
            measure_no=m.measure_no, doc_id=self.catalog.doc_id, title=m.title,
            section=" > ".join(m.section_path), quote=quote, lead_ministries=m.lead_ministries, score=round(score, 4),
            page=page, slide=slide,
        )

    def passage_citation(self, hit: Hit, quote: str) -> Citation:
        doc = self.documents.get(hit.doc_id)
        title = doc.info.title if doc else hit.doc_id
        page, slide = self._page(hit.doc_id, quote, hit.chunk.start, hit.chunk.end)
        return Citation(
            measure_no=hit.chunk.measure_no, doc_id=hit.doc_id, title=hit.chunk.measure_title or title,
            section=hit.section, quote=quote, lead_ministries=hit.chunk.lead_ministries, score=round(hit.score, 4),
            page=page, slide=slide,
        )

    def doc_label(self, hit: Hit) -> str:
        return self.section_label(hit.doc_id, hit.section)

    def section_label(self, doc_id: str, section: str) -> str:
        """「重点計画（2025） > ① …」: the document's short title and the last part of the section."""
        doc = self.documents.get(doc_id)
        short = doc_short_title(doc.info.title, doc.info.edition) if doc else doc_id
        last = section.split(" > ")[-1][:30] if section else ""
        return f"{short} > {last}" if last else short

    def hit_label(self, hit: Hit) -> str:
        """The citation mark of a line quoting ``hit``: its measure number, or its document and section."""
        return f"[No. {hit.chunk.measure_no}]" if hit.chunk.measure_no else f"[{self.doc_label(hit)}]"

    # -- the sentence ranker ------------------------------------------------------------------

    def tokens_of(self, sentence: str) -> frozenset[str]:
        """Tokens of a sentence: stored with the index, or computed once and kept (the documents do
        not change while loaded)."""
        toks = self._sentence_tokens.get(sentence)
        if toks is None:
            toks = frozenset(self.tokenizer.tokenize(sentence))
            with self._lock:
                self._sentence_tokens[sentence] = toks
        return toks

    def starts_with_grammar(self, sentence: str) -> bool:
        """Whether a sentence starts with a particle, an auxiliary or a suffix: it is a fragment."""
        head = sentence[:8]
        found = self._fragment_heads.get(head)
        if found is None:
            morphemes = self.tokenizer.morphemes(head)
            found = bool(morphemes) and morphemes[0].pos1 in _GRAMMAR_START
            with self._lock:
                self._fragment_heads[head] = found
        return found

    def is_fragment(self, sentence: str) -> bool:
        """Whether a sentence is the tail of one cut off (a chunk boundary, a gap in the source, a
        split inside brackets): it starts with a closing bracket or with grammar (「には、…」)."""
        return bool(_CLOSING_START_RE.match(sentence)) or bool(
            _HIRAGANA_START_RE.match(sentence) and self.starts_with_grammar(sentence))

    def seed_tokens(self, chunks: Iterable[Chunk], tokenizer_version: str | None) -> int:
        """Take the sentence tokens stored with ``chunks`` at index time; returns how many distinct
        sentences were taken.

        ``tokenizer_version`` is the version of the tokenizer the index was built with: tokens of
        another tokenizer are not taken (those sentences are then tokenised when first needed).
        """
        if tokenizer_version != self.tokenizer.version:
            return 0
        taken = 0
        with self._lock:
            cache = self._sentence_tokens
            for chunk in chunks:
                for sent in chunk.sentences:
                    if sent.text not in cache:  # chunks share sentences (split measures, overlaps)
                        cache[sent.text] = frozenset(sent.tokens)
                        taken += 1
        return taken

    def score(self, terms: QueryTerms, cand: Candidate, *, fields: Sequence[str] = (),
              numeric: bool | str = False) -> float:
        """The one scoring function: rare question words shared, the field asked, figures, position.

        ``numeric``: a figure is asked for (True), or which kind (see :func:`asked_figure`)."""
        toks = self.tokens_of(cand.text)
        overlap = sum(w for t, w in terms.weights.items() if t in toks)
        if terms.phrases:
            # Quoting the asked-for phrase whole is the strongest sign of speaking about it.
            key = _norm(cand.text).lower()
            overlap += sum(3.0 for p in terms.phrases if p in key)
        asked = cand.field in fields or (cand.field == "kpi" and "targets" in fields)
        if overlap == 0 and not asked:
            return 0.0
        # Long sentences are penalised: a 300-character list matches everything.
        score = (overlap + (2.0 if asked else 0.0)) / (max(len(toks), 8) ** 0.35) - cand.position * 0.003
        if numeric:
            # The figure of the kind asked for counts most (「720消防本部、5,334隊」 for a scale, not
            # 「2025年度中に」); a figure of the other kind a little.
            wanted = _asked_kind_re(numeric)
            score *= 1.3 if wanted.search(cand.text) else 1.0 if _FIGURE_RE.search(cand.text) else 0.7
        if is_heading(cand.text):
            score *= 0.4
        if FOOTNOTE_LINE_RE.match(cand.text):
            score *= FOOTNOTE_WEIGHT
        if self.is_fragment(cand.text):
            # 「つインセンティブが…」「には、…」: the tail of a sentence cut off (a chunk boundary, a
            # gap in the source text) — its subject and verb are elsewhere; 「）に定める…」 was split
            # inside brackets, a worse quote still.
            score *= 0.3 if _CLOSING_START_RE.match(cand.text) else 0.5
        if _CITES_SOURCE_RE.search(cand.text):
            # 「…「日本の将来推計人口」より。」: a footnote naming a source says where a figure is
            # from, not the figure.
            score *= 0.4
        if _BACK_REFERENCE_RE.match(cand.text):
            # 「このように、…」「こうした…」 lean on the sentence before: a poor quote on its own.
            score *= 0.8
        if _asks_name(terms.text) and any(p.search(cand.text) for p in _STATES_NAME_RES):
            # 「…って正式名称は何？」: a sentence stating a name answers (see render_name).
            score *= NAME_STATED_BONUS
        years = _NAMED_YEAR_RE.findall(terms.text)
        if _THIS_YEAR_RE.search(terms.text):
            years.append(str(self.plan_year))  # 「今年度は何をする？」: the plan's own fiscal year
        if years and any(re.search(rf"{y}\s*年", cand.text) for y in years):
            # 「R7年度は何を支援する？」: the sentence about the year the question names
            # (「2025年度は、…導入支援…」), not the measure's general aim.
            score *= NAMED_YEAR_BONUS
        if _ASKS_HOW_RE.search(terms.text) and _STATES_MEANS_RE.search(cand.text):
            # 「どういうやり方で進めるって？」「どうやって確保するの？」: the sentence saying by what means
            # (「…BPRを行いながら、順次措置を講じていく」) answers, not the measure's aim
            score *= MEANS_BONUS
        focus = asked_focus(terms.text)
        if focus and focus in _norm(cand.text):
            # 「国は手数料をどうするって？」: what the question asks how it is treated (手数料) is what
            # the answering sentence speaks of, beside the subject's other words.
            score *= FOCUS_BONUS
        items = asked_items(terms.text)
        if items and any(item in cand.text for item in items):
            # 「第10条は？」「⑧番目の原則は？」: the sentence or table cell that holds the very item
            # numbered, not the one that merely names the list.
            score *= ITEM_BONUS
        topic = _TOPIC_RE.match(cand.text)
        if topic and terms.rare() & self.tokens_of(topic.group(1)):
            # A sentence whose topic (before は) is what the question names speaks about it.
            score *= 1.25
        return score

    def rank(self, terms: QueryTerms, candidates: Sequence[Candidate], *, fields: Sequence[str] = (),
             numeric: bool = False) -> list[tuple[float, Candidate]]:
        """Candidates with a positive score, best first."""
        scored = [(self.score(terms, c, fields=fields, numeric=numeric), c) for c in candidates if len(c.text) >= 8]
        scored = [x for x in scored if x[0] > 0]
        scored.sort(key=lambda x: -x[0])
        return scored

    def text_candidates(self, text: str, field: str = "body") -> list[Candidate]:
        # A measure's record line alone (「関係府省庁：経済産業省」) says nothing about a subject: a
        # ministry asked for is answered from the catalog (render_lead), never by quoting it.
        return [Candidate(s, field, i) for i, s in enumerate(sentence_units(text)) if not _RECORD_LINE_RE.match(s)]

    def measure_candidates(self, m: Measure) -> list[Candidate]:
        """The sentences of a measure's body and targets that can be quoted (found verbatim in the
        plan: a few catalog lines join two sub-bullets and are left out). Kept once computed."""
        cached = self._measure_candidates.get(m.measure_no)
        if cached is not None:
            return cached
        # The same sentences the chunking stage stores with the measure's chunks, with their tokens.
        cands = [Candidate(s, "body", i) for i, s in enumerate(measure_body_sentences(m))]
        # A target line of two sentences (「…開始することとし、…準備を進める。また、…」) is two quotes.
        cands += [Candidate(t, "targets", i) for i, t in enumerate(measure_target_sentences(m))]
        doc = self.documents.get(self.catalog.doc_id)
        if doc is not None:
            cands = [c for c in cands if doc.locate(c.text, m.start, m.end)] or cands
        with self._lock:
            self._measure_candidates[m.measure_no] = cands
        return cands

    def best_sentences(self, terms: QueryTerms, text: str, n: int = 2, *, numeric: bool = False) -> list[str]:
        return [c.text for _s, c in self.rank(terms, self.text_candidates(text), numeric=numeric)[:n]]

    def key_sentence(self, m: Measure, terms: QueryTerms) -> str:
        """The sentence that says what a measure does about the question's subject (its gist)."""
        ranked = self.rank(terms, [c for c in self.measure_candidates(m) if c.field == "body"])
        if not ranked:
            return strip_bullet(m.bullets[0]) if m.bullets else m.title
        return max(ranked, key=lambda x: x[0] * gist_weight(x[1].text))[1].text

    def holds_evidence(self, texts: Sequence[str], kind: MissingKind, words: Mapping[str, float] | None = None) -> bool:
        """Whether a sentence of the passages states the kind of fact asked for (an amount in 円 …).

        With ``words`` (the subject's distinctive words and their weights), the sentence must hold
        one of them and, read with the one before it, at least half of them (by number or weight):
        a fee of 1,900 円 for passports does not answer a question about マイナポイント, but
        a sentence stating a figure 「現在」 answers a question about the system the sentence
        before names.
        """
        return any(self.evidence_sentences(text, kind, words) for text in texts)

    def evidence_sentences(self, text: str, kind: MissingKind, words: Mapping[str, float] | None = None) -> list[str]:
        """The sentences of a passage that state the kind of fact asked for (see holds_evidence)."""
        need = sum(words.values()) / 2 if words else 0.0
        out = []
        units = sentence_units(text)
        for i, sent in enumerate(units):
            if not kind.stated_in(sent):
                continue
            if not words:
                out.append(sent)
                continue
            own = self.tokens_of(sent)
            held = own | (self.tokens_of(units[i - 1]) if i else frozenset())
            # The sentence itself names part of the subject; the one before may name the rest.
            shared = [t for t in words if t in held]
            # Half of the words, by number or by weight: rare compounds weigh most, but the
            # tokenizer also gives their parts.
            if own & words.keys() and (2 * len(shared) >= len(words) or sum(words[t] for t in shared) >= need):
                out.append(sent)
        return out

    # -- one renderer per field: (first lines, supporting lines) as one list, first line first ----

    def _lead_quote(self, m: Measure) -> str:
        if m.lead_source == "roadmap" and m.roadmap:
            row = m.roadmap[0]
            return f"{row.heading}\t{ministries(row.lead_ministries)}"
        return f"主担当府省庁：{ministries(m.lead_ministries) if m.lead_ministries else '—'}"

    def render_lead(self, m: Measure, terms: QueryTerms, score: float, head: str, numeric: bool) -> Lines:
        ref = f"[No. {m.measure_no}]"
        if not m.lead_ministries:
            return [f"{head}には主担当府省庁の記載がありません {ref}"], [self.title_citation(m, score)]
        related = f"（関係府省庁: {ministries(m.related_ministries)}）" if m.related_ministries else ""
        window = (m.roadmap[0].start, m.roadmap[0].end) if m.lead_source == "roadmap" and m.roadmap else None
        return ([f"{confirmation(m, terms.ministries, 'lead')}{head}の主担当府省庁は{ministries(m.lead_ministries)}"
                 f"です{related} {ref}"],
                [self.measure_citation(m, self._lead_quote(m), score, window=window)])

    def render_related(self, m: Measure, terms: QueryTerms, score: float, head: str, numeric: bool) -> Lines:
        ref = f"[No. {m.measure_no}]"
        quote = f"関係府省庁：{ministries(m.related_ministries) if m.related_ministries else '—'}"
        lead = f"（主担当: {ministries(m.lead_ministries)}）"
        line = f"{head}の関係府省庁は{ministries(m.related_ministries)}です{lead}" if m.related_ministries \
            else f"{head}には関係府省庁の記載がありません{lead}"
        return [f"{confirmation(m, terms.ministries, 'related')}{line} {ref}"], [self.measure_citation(m, quote, score)]

    def render_targets(self, m: Measure, terms: QueryTerms, score: float, head: str, numeric: bool) -> Lines:
        ref = f"[No. {m.measure_no}]"
        cands = self.measure_candidates(m)
        targets = [c for c in cands if c.field == "targets"]
        if not targets:
            sent = self.key_sentence(m, terms)
            return ([f"{head}には具体的な目標の記載がありません。取組の内容: {sent} {ref}"],
                    [self.measure_citation(m, sent, score)])
        ranked_targets = self.rank(terms, targets, fields=("targets",), numeric=numeric or True)
        best = ranked_targets[0][1] if ranked_targets else targets[0]
        target_text = self._with_figures(best, targets)
        figure = None
        if numeric in ("time", "quantity") and not _asked_kind_re(numeric).search(target_text):
            # The target's label matched the question's words (「…オープンデータ化した箇所数」), a later
            # line of it holds the figure asked (「※目標：2026年度までに約17,000に拡充予定」): both.
            # (a date is a year written out: 「集計年度末」 dates nothing)
            wanted = _YEAR_RE if numeric == "time" else _QUANTITY_RE
            figure = next((c for _s, c in ranked_targets if c is not best and wanted.search(c.text)), None)
            if figure is not None and figure.text not in target_text:
                target_text = f"{target_text}／{figure.text}"
        # Staff quote a target with the ministry that owns it.
        lead = "" if head == "同施策" else f"（主担当: {ministries(m.lead_ministries)}）"
        lines = [f"{head}{lead}の目標: {target_text} {ref}"]
        cites = [self.measure_citation(m, best.text, score)]
        if figure is not None and figure.text in target_text:
            cites.append(self.measure_citation(m, figure.text, score))
        # A sentence of the body that answers the question's own words better than any target
        # (「従来の保険証はいつまで？」) comes first; the target follows.
        body = self.rank(terms, [c for c in cands if c.field == "body"], numeric=numeric or True)
        title_words = self.tokens_of(m.title)
        # (When a kind of figure is asked — 何人, いつ — only a body sentence holding one answers it.)
        answers_kind = numeric not in ("time", "quantity") or bool(body and _asked_kind_re(numeric).search(body[0][1].text))
        target_score = ranked_targets[0][0] if ranked_targets else 0.0
        # (…and when the target lacks the kind asked — 「何年何月ごろ？」 of a target with no date —
        # the body sentence that has it answers, if it is about the question nearly as much as the
        # best body sentence.)
        # (the best body sentence holding the kind, not only the best one: 「いつ頃から動かす？」 shares
        # few words with the sentence that dates the start)
        holding = _first_stating(body, _asked_kind_re(numeric)) \
            if numeric in ("time", "quantity") and not _asked_kind_re(numeric).search(target_text) else None
        only_body_answers = holding is not None and holding[0] >= BODY_KIND_SHARE * body[0][0]
        if only_body_answers and holding is not None and holding is not body[0]:
            body = [holding] + [x for x in body if x is not holding]
            answers_kind = True
        if body and (((terms.content - title_words) and body[0][0] > 2 * target_score) or only_body_answers):
            if answers_kind:
                lines.insert(0, f"{head}{lead}: {body[0][1].text} {ref}")
                lines[1] = f"・目標: {target_text} {ref}"
                cites.insert(0, self.measure_citation(m, body[0][1].text, score))
            else:  # the target answers; the sentence on the question's own words supports it
                lines.append(f"・{body[0][1].text} {ref}")
                cites.append(self.measure_citation(m, body[0][1].text, score))
        shown = {best.text} | {c.text for c in targets if c.text in lines[0]}
        for _s, c in ranked_targets[1:]:
            if c.text not in shown and len(lines) <= 2 and not re.match(r"^[（(]", c.text):
                lines.append(f"・{c.text} {ref}")
                cites.append(self.measure_citation(m, c.text, score))
                shown.add(c.text)
        return lines, cites

    @staticmethod
    def _with_figures(best: Candidate, targets: Sequence[Candidate]) -> str:
        """A target split over lines is shown whole: its label before a bare figure
        (「基盤経費削減額（各府省庁のシステム）」 then 「2025年度末 29.7億円」) and a figure in
        brackets after it (「…DMO」 then 「（2027年度末：90法人）」)."""
        text = best.text
        i = next((k for k, c in enumerate(targets) if c.text == best.text), None)
        if i is None:
            return text
        if i > 0 and len(text) < 25 and _FIGURE_RE.search(text) and not re.match(r"^[（(※]", targets[i - 1].text):
            text = f"{targets[i - 1].text} {text}"
        if i + 1 < len(targets) and re.match(r"^[（(]", targets[i + 1].text) and len(targets[i + 1].text) < 40:
            text += targets[i + 1].text
        elif i + 1 < len(targets) and not _FIGURE_RE.search(text) and len(targets[i + 1].text) < 25 \
                and _FIGURE_RE.search(targets[i + 1].text) and not re.match(r"^[（(※]", targets[i + 1].text):
            text = f"{text} {targets[i + 1].text}"  # the label chosen: its figure follows
        return text

    def render_roadmap(self, m: Measure, terms: QueryTerms, score: float, head: str, numeric: bool) -> Lines:
        ref = f"[No. {m.measure_no}]"
        if not m.roadmap:
            return [f"{head}の工程表の行は見つかりませんでした {ref}"], [self.title_citation(m, score)]
        # The rows the question speaks of come first (「…のデータ連携基盤はまず何を？」: the rows on
        # that system; 「期限は？」: a row with its date), the others in the table's order.
        scored = [(self.score(terms, Candidate(r.heading, "roadmap", 0), numeric=numeric), i, r)
                  for i, r in enumerate(m.roadmap)]
        rows = [r for _s, _i, r in sorted(scored, key=lambda x: (-x[0], x[1]))]
        heads = [r.heading for r in rows]
        more = f"（ほか{len(heads) - 4}件）" if len(heads) > 4 else ""
        lines = [f"{head}の工程表（第3）の取組: {'／'.join(heads[:4])}{more} {ref}",
                 "※工程表の時期を示す線（ガントチャート）は元の文書の変換で失われているため、時期は示せません。"]
        return lines, [self.measure_citation(m, rows[0].heading, score, window=(m.roadmap[0].start, m.roadmap[-1].end))]

    def render_what(self, m: Measure, terms: QueryTerms, score: float, head: str, numeric: bool) -> Lines:
        ref = f"[No. {m.measure_no}]"
        ranked = self.rank(terms, self.measure_candidates(m), numeric=numeric)
        if not ranked:
            first = strip_bullet(m.bullets[0]) if m.bullets else m.title
            ranked = [(1.0, Candidate(first))]
        title = self.tokens_of(m.title)
        if len(ranked) > 1 and ranked[0][1].field == "targets" and self.restates(ranked[0][1].text, title):
            # 「各府省等における…事務のデジタル化の推進」 under the title 「情報公開事務のデジタル化」 says
            # nothing the head line does not: the body's best sentence says what is done
            better = next((x for x in ranked[1:] if x[1].field == "body" and not self.restates(x[1].text, title)), None)
            if better is not None and better[0] >= RESTATED_TITLE_SHARE * ranked[0][0]:
                ranked = [better] + [x for x in ranked if x is not better]
        best = ranked[0][1]
        if numeric in ("time", "quantity") and not _asked_kind_re(numeric).search(best.text):
            # 「何キロまで？」: the sentence stating a figure of that kind answers, when it is about
            # the question nearly as much as the best one (the target 「…計20km以上の…実証」).
            holding = _first_stating(ranked, _asked_kind_re(numeric))
            if holding is not None and holding[0] >= BODY_KIND_SHARE * ranked[0][0]:
                best = holding[1]
                ranked = [holding] + [x for x in ranked if x is not holding]
        lines = [f"{head}（主担当: {ministries(m.lead_ministries)}）: {best.text} {ref}"]
        cites = [self.measure_citation(m, best.text, score)]
        # One more sentence of the body when it adds to the first, and the target.
        extra = next((c for _s, c in ranked[1:] if c.field == "body"), None)
        if extra is not None:
            lines.append(f"・{extra.text} {ref}")
            cites.append(self.measure_citation(m, extra.text, score))
        target = next((c for c in self.measure_candidates(m) if c.field == "targets" and c.text != best.text), None)
        if target is not None:
            lines.append(f"・目標: {target.text} {ref}")
            cites.append(self.measure_citation(m, target.text, score))
        return lines, cites

    def restates(self, sentence: str, title: frozenset[str]) -> bool:
        """Whether most of a sentence's content words are its measure's title's (a target restating it)."""
        words = {t for t in self.tokens_of(sentence) if is_content_word(t) and "|" not in t}
        return bool(words) and len(words & title) >= RESTATES_TITLE * len(words)

    def render_name(self, m: Measure, terms: QueryTerms, score: float, head: str, numeric: bool) -> Lines:
        """What the measure's subject is called: the best sentence saying what something is named
        (「法人の名称を「…」へ変更」), or else one giving a name in brackets or quotes, when it is about
        the question enough; then what the measure does, as support."""
        lines, cites = self.render_what(m, terms, score, head, numeric)
        ranked = self.rank(terms, self.measure_candidates(m), numeric=numeric)
        holding = next((h for pattern, share in zip(_STATES_NAME_RES, NAME_SENTENCE_SHARES, strict=True)
                        if (h := _first_stating(ranked, pattern)) is not None and h[0] >= share * ranked[0][0]), None)
        if holding is None or holding[1].text in lines[0]:
            return lines, cites
        text = holding[1].text
        ref = f"[No. {m.measure_no}]"
        first = f"{head}（主担当: {ministries(m.lead_ministries)}）: {text} {ref}"
        rest = [x for x in lines[1:] if text not in x]
        return [first, "・" + lines[0].split("）: ", 1)[-1], *rest], [self.measure_citation(m, text, score), *cites]

    def render_page(self, m: Measure, terms: QueryTerms, score: float, head: str, numeric: bool) -> Lines:
        """Where the measure is printed: the page of its entry in 第2 and of the sentence that answers
        (staff write 「重点計画 p.45」 in a memo)."""
        ref = f"[No. {m.measure_no}]"
        entry = self.title_citation(m, score)
        lines, cites = self.render_what(m, terms, score, head, numeric)
        best = cites[0] if cites else entry
        info = self.documents[entry.doc_id].info if entry.doc_id in self.documents else None
        doc = doc_short_title(info.title, info.edition) if info is not None else "重点計画"
        where = entry.page_label or best.page_label
        if not where:
            return [f"{head}の掲載ページは特定できません {ref}", *lines[1:]], [entry, *cites[1:]]
        also = f"（引用箇所は{best.page_label}）" if best.page_label and best.page_label != where else ""
        return [f"{head}は{doc}の{where}に掲載されています{also} {ref}", *lines[:2]], [entry, *cites[:2]]

    def title_citation(self, m: Measure, score: float) -> Citation:
        return self.measure_citation(m, f"○[No. {m.measure_no}] {m.title}", score)

    # -- whole answers ------------------------------------------------------------------------

    def definition(self, asked: str) -> Definition | None:
        """The documents' definition of the longest tail of ``asked`` that they define (the question
        「資料にあるDMPって何？」 asks about DMP). A footnoted mention must end with the
        term; a ※ note must name it whole. The 2025 plan is preferred, then the newest document."""
        key = _norm(asked)
        best: tuple[int, int, Definition] | None = None
        for b, whole, d in self._definitions:
            for n in range(len(key), 1, -1):
                tail = key[-n:]
                if not (b == tail if whole else b.endswith(tail) and _starts_word(b, len(b) - n)):
                    continue
                if _starts_word(key, len(key) - n):
                    doc = self.documents.get(d.doc_id)
                    rank = (n, doc.info.edition if doc else 0)
                    if best is None or rank > best[:2]:
                        best = (*rank, Definition(tail, d.text, d.doc_id, d.start))
                    break
        # A tail of one or two characters (「ム」「テム」) is not a term.
        return best[2] if best is not None and best[0] >= 3 else None

    def answer_definition(self, d: Definition, term: str) -> Lines:
        """「X」とは: the documents' definition, cited (the footnote or note it comes from)."""
        doc = self.documents.get(d.doc_id)
        section = next((" > ".join(sec.path) for sec in (doc.sections if doc else [])
                        if sec.kind == "body" and sec.start <= d.start < sec.end), "")
        page, slide = self._page(d.doc_id, d.text, max(0, d.start - 5), d.start + len(d.text) + 5)
        # a definition written in a measure's body (「…を「公共SaaS」と定義」) cites that measure
        no = re.search(r"\[No\. (\d+-\d+)\]", section)
        measure = self.catalog.measures.get(no.group(1)) if no and d.doc_id == "plan2025" else None
        cite = Citation(measure_no=measure.measure_no if measure else None, doc_id=d.doc_id,
                        title=doc.info.title if doc else d.doc_id, section=section, quote=d.text,
                        lead_ministries=tuple(measure.lead_ministries) if measure else (), score=1.0, page=page,
                        slide=slide)
        return [f"「{term}」: {d.text} [{self.section_label(d.doc_id, section)}]"], [cite]

    def answer_measure(self, m: Measure, fields: Sequence[str], terms: QueryTerms, score: float, *,
                       numeric: bool = False) -> Lines:
        """The fields asked about one measure: one line per field, then up to three supporting lines."""
        terms = terms.focused()
        asked = [f for f in fields if f in self.renderers] or ["what"]
        firsts: list[str] = []
        support: list[str] = []
        cites: list[Citation] = []
        for i, name in enumerate(asked[:3]):
            # The second field asked about the same measure doesn't repeat its number and title.
            head = "同施策" if i > 0 else f"No. {m.measure_no}「{m.title}」"
            more, c = self.renderers[name](m, terms, score, head, numeric)
            firsts.append(more[0])
            support += [x for x in more[1:] if x not in support]
            cites += c
        room = MAX_SUPPORT - len(firsts) + 1
        if len(asked) == 1 and numeric and _asked_kind_re(numeric).search(firsts[0].split(": ", 1)[-1]):
            # One figure asked and the first line states it: one line of context is enough.
            room = min(room, 1)
        # (a field's line may quote the sentence another field's support would repeat)
        said = [search_key(x) for x in firsts]
        support = [x for x in support if not any(_line_key(x) in first for first in said)]
        lines = firsts + support[: max(0, room)]
        return lines, cites

    def instrument_name(self, m: Measure, sentence: str) -> str | None:
        """The system or service a measure's gist names (SOBO-WEB, 「ミラサポコネクト」), when its
        title does not already say it and few measures name it (ICT, IoT name nothing in particular)."""
        title = unicodedata.normalize("NFKC", m.title)
        for match in _NAMES_INSTRUMENT_RE.finditer(unicodedata.normalize("NFKC", sentence)):
            name = match.group().strip("「」")
            if name in title or len(name) > INSTRUMENT_NAME_CHARS or self.measures_naming(name) > INSTRUMENT_MAX_MEASURES:
                continue
            return name
        return None

    def measures_naming(self, name: str) -> int:
        """How many measures' texts contain ``name`` (kept once counted)."""
        count = self._naming_counts.get(name)
        if count is None:
            if self._measure_keys is None:
                # every measure's text, normalised once, not once per name looked up
                keys = [unicodedata.normalize("NFKC", measure_text(m)).casefold() for m in self.catalog.measures.values()]
                with self._lock:
                    self._measure_keys = keys
            key = name.casefold()
            count = sum(1 for text in self._measure_keys if key in text)
            with self._lock:
                self._naming_counts[name] = count
        return count

    def render_list(self, hits: Sequence[Hit], terms: QueryTerms, topic: str = "", *, heading: str = "") -> Lines:
        """Every measure given (already filtered by relevance, best first), up to 10.

        The first line is the answer itself: the measures' numbers and titles (after ``heading``
        when the list is complete by construction, 「デジタル庁が主担当の施策は計N件です」). Then one
        line per measure (lead ministry and a one-clause gist, cited); the next ones are named in
        「ほかに関連」, and the count of any beyond those.
        """
        measures = [h for h in hits if h.chunk.measure_no]
        shown, rest = measures[:MAX_LIST], measures[MAX_LIST : MAX_LIST + 6]
        listed = [(h, self.catalog.measures[h.chunk.measure_no]) for h in shown]
        gists = {m.measure_no: self.key_sentence(m, terms) for _h, m in listed}
        labels = []
        for i, (h, m) in enumerate(listed):
            name = self.instrument_name(m, gists[m.measure_no]) if i < LIST_NAMED_IN_HEADER else None
            labels.append(f"No. {m.measure_no}「{short_title(h.chunk.measure_title)}」" + (f"（{name}）" if name else ""))
        names = "、".join(labels)
        if heading:
            lines = [f"{heading}: {names}" + (f" ほか{len(measures) - len(shown)}件" if rest else "")]
        else:
            about = f"「{topic}」に関わる" if topic_label_ok(topic) else "関連する"
            lines = [f"{about}施策は次の{len(shown)}件です（関連の強い順）: {names}" if len(shown) > 1
                     else f"{about}施策は{names}の1件です。"]
        cites: list[Citation] = []
        for h, m in listed:
            sent = gists[m.measure_no]
            lines.append(f"・No. {m.measure_no}（{ministries(m.lead_ministries)}）: {clause(sent, LIST_GIST_CHARS)} [No. {m.measure_no}]")
            cites.append(self.measure_citation(m, sent, h.score))
        if rest:
            beyond = len(measures) - MAX_LIST - len(rest)
            lines.append(("ほかに: " if heading else "ほかに関連: ")
                         + "、".join(f"No. {h.chunk.measure_no}「{short_title(h.chunk.measure_title)}」" for h in rest)
                         + (f" ほか{beyond}件" if beyond > 0 else ""))
        return lines, cites

    def best_sentence(self, hit: Hit, terms: QueryTerms, numeric: bool) -> tuple[float, str]:
        """A passage's best sentence (of a measure's body and targets, or of the chunk text) and its
        score; ``(0.0, "")`` when none shares a word with the question."""
        if hit.chunk.kind == "measure" and hit.chunk.measure_no:
            cands = self.measure_candidates(self.catalog.measures[hit.chunk.measure_no])
        else:
            cands = self.text_candidates(hit.chunk.text)
        ranked = self.rank(terms, cands, numeric=numeric)
        return (ranked[0][0], ranked[0][1].text) if ranked else (0.0, "")

    def best_score(self, hit: Hit, terms: QueryTerms, numeric: bool) -> float:
        """The score of a passage's best sentence."""
        return self.best_sentence(hit, terms, numeric)[0]

    def anchor_hit(self, hits: Sequence[Hit], terms: QueryTerms, numeric: bool, depth: int = 5) -> Hit:
        """The hit among the top few whose best sentence matches the question best."""
        best, best_score = hits[0], float("-inf")
        first_score = None
        for rank, h in enumerate(hits[:depth]):
            # Rank still matters: retrieval saw the whole passage, this only sees one sentence.
            score = self.best_score(h, terms, numeric) * (0.75**rank)
            if first_score is None:
                first_score = score
            if score > best_score:
                best, best_score = h, score
        # Leave the top-ranked passage only on clearly better evidence.
        return best if first_score is None or best_score > 1.5 * first_score else hits[0]

    def answer_procedure(self, hit: Hit, terms: QueryTerms, fields: Sequence[str], numeric: bool) -> Lines:
        """A 第4 procedure group: the KPI or the 取組内容 sentence that answers, first."""
        label = f"[{self.doc_label(hit)}]"
        proc = next((p for p in self.catalog.procedures if p.start == hit.chunk.start), None)
        if proc is None:
            return self.answer_sections([hit], terms, numeric)
        head = f"第4「{proc.number}. {proc.title}」（主担当: {ministries(proc.lead_ministries)}）"
        kpis = [Candidate(re.sub(r"^[-・\s]+", "", k), "kpi", i) for i, k in enumerate(proc.kpi.splitlines()) if re.search(r"\w", k)]
        actions = self.text_candidates(proc.actions, "actions")
        ranked_actions = self.rank(terms, actions, numeric=numeric) or [(1.0, c) for c in actions[:1]]
        kpi_asked = bool(kpis) and ("targets" in fields or (bool(numeric) and (
            # a figure asked: the KPI answers unless it states none and the best action does
            # (「対象は何手続？」: 「（１）に記載した 119 手続については…」)
            any(_FIGURE_RE.search(k.text) for k in kpis) or not _FIGURE_RE.search(ranked_actions[0][1].text))))
        lines: list[str] = []
        cites: list[Citation] = []
        if kpi_asked:
            # The KPI is the procedure group's target: it answers 「目標は？」「KPIは？」 first.
            kpi = "、".join(k.text for k in kpis[:3])
            lines.append(f"{head}のKPI: {kpi} {label}")
            cites += [self.passage_citation(hit, k.text) for k in kpis[:3]]
        for _s, c in ranked_actions[: 3 - len(lines)]:
            lines.append(f"{head}の取組: {c.text} {label}" if not lines else f"・{c.text} {label}")
            cites.append(self.passage_citation(hit, c.text))
        if kpis and not kpi_asked and len(lines) < 1 + MAX_SUPPORT:
            lines.append(f"・KPI: {kpis[0].text} {label}")
            cites.append(self.passage_citation(hit, kpis[0].text))
        if not lines:
            return [f"{head} {label}"], [self.passage_citation(hit, proc.title)]
        return lines, cites

    def answer_sections(self, hits: Sequence[Hit], terms: QueryTerms, numeric: bool, *,
                        edition: int | None = None) -> Lines:
        """The best sentence across the top passages first, then up to three supporting ones.

        ``edition``: the edition the question means (the newest when it names none); sentences of
        other editions weigh less, as their passages do in retrieval."""
        pool: list[tuple[float, str, Hit]] = []
        # Five passages, not three: a sentence that states what is asked can sit in a passage that
        # fused retrieval ranked fourth or fifth; the rank penalty keeps close calls with the first.
        for rank, h in enumerate(hits[:5]):
            headings = {_norm(p) for p in h.chunk.section.split(" > ")}
            other = 0.8 if edition is not None and h.chunk.edition != edition else 1.0
            for score, c in self.rank(terms, self.text_candidates(h.chunk.text), numeric=numeric)[:4]:
                # A heading repeated as the first line of its section says little by itself.
                pool.append((score * other * (0.5 if _norm(c.text) in headings else 1.0) - 0.08 * rank, c.text, h))
        cut = fragments(sent for _score, sent, _h in pool)
        pool = sorted((x for x in pool if x[1] not in cut), key=lambda x: -x[0])
        lines: list[str] = []
        cites: list[Citation] = []
        seen: set[str] = set()
        # The same sentence in 第1 and in a measure is quoted once, from the measure (its number cited).
        said: set[str] = set()
        keys = {sent: search_key(quoted(sent)) for _score, sent, _h in pool}
        in_measure: dict[str, tuple[str, Hit]] = {}
        for _score, sent, h in pool:
            if h.chunk.measure_no:
                in_measure.setdefault(keys[sent], (sent, h))
        for i, (_score, sent, h) in enumerate(pool):
            key = keys[sent]
            if sent in seen or key in said:
                continue
            if not h.chunk.measure_no and key in in_measure:
                sent, h = in_measure[key]
            seen.add(sent)
            said.add(key)
            label = self.hit_label(h)
            cites.append(self.passage_citation(h, sent))
            items = [u for u in following_units(h.chunk.text, sent, max_units=8) if u not in seen] if i == 0 else []
            if items:
                # A heading or a lead-in (「次の3つの観点から…」) is followed by what it announces:
                # the items go on its line, so that the whole list is the answer.
                seen.update(items)
                lines.append(f"{quoted(sent)}: {'／'.join(items)} {label}")
                cites += [self.passage_citation(h, u) for u in items]
            else:
                lines.append(f"{quoted(sent)} {label}")
            if i == 0 and numeric and not _FIGURE_RE.search(sent):
                # 「…良いと思わない」といった声が一定数ある<sup>14</sup>: the figure asked for is in the
                # sentence's footnote, printed at the page's foot (often in the next passage).
                note = self.footnote_of(h, sent)
                if note is not None and _FIGURE_RE.search(note.text):
                    more, more_cites = self.answer_definition(note, f"注{note.term}")
                    lines += [x.replace(f"「注{note.term}」", f"注{note.term}", 1) for x in more]
                    cites += more_cites
            if len(lines) >= 1 + MAX_SUPPORT or (len(lines) >= 3 and i > 0):
                break
        return lines, cites

    def footnote_of(self, hit: Hit, sentence: str) -> Definition | None:
        """The footnote a sentence of a passage points to (its ``<sup>N</sup>`` mark in the raw text),
        as a Definition whose ``term`` is the number; None without one."""
        doc = self.documents.get(hit.chunk.doc_id)
        span = doc.locate(sentence, hit.chunk.start, hit.chunk.end) if doc is not None else None
        if doc is None or span is None:
            return None
        mark = _FOOTNOTE_REF_RE.search(doc.raw, span[0], min(len(doc.raw), span[1] + 12))
        if mark is None:
            return None
        for m in _FOOTNOTE_DEF_RE.finditer(doc.raw, mark.end()):
            if m.group(1) == mark.group(1):
                return Definition(mark.group(1), m.group(2).strip(), doc.info.doc_id, m.start(2))
        return None

    def stated_line(self, hit: Hit, sentence: str) -> tuple[str, Citation]:
        """A line quoting one sentence of a passage, saying which measure states it, if one does."""
        m = self.catalog.measures.get(hit.chunk.measure_no or "")
        head = f"No. {m.measure_no}「{m.title}」（主担当: {ministries(m.lead_ministries)}）: " if m is not None else ""
        return f"{head}{quoted(sentence)} {self.hit_label(hit)}", self.passage_citation(hit, sentence)

    def answer_evidence(self, hits: Sequence[Hit], terms: QueryTerms, kind: MissingKind,
                        words: Mapping[str, float]) -> Lines:
        """The sentence that states the kind of fact asked for (「2025年3月末時点で約78.3%」) first,
        then up to two more such sentences."""
        pool: list[tuple[float, str, Hit]] = []
        for rank, h in enumerate(hits[:5]):
            for sent in self.evidence_sentences(h.chunk.text, kind, words):
                pool.append((self.score(terms, Candidate(sent, "body", 0), numeric=True) - 0.05 * rank, sent, h))
        cut = fragments(sent for _score, sent, _h in pool)
        pool = sorted((x for x in pool if x[1] not in cut), key=lambda x: -x[0])
        lines: list[str] = []
        cites: list[Citation] = []
        for _score, sent, h in pool[:3]:
            if sent in {c.quote for c in cites}:
                continue
            if not lines:
                # the first line says which measure states it (「No. 2-38「…」（主担当: 総務省）: …」)
                line, cite = self.stated_line(h, sent)
                lines.append(line)
                cites.append(cite)
                continue
            lines.append(f"・{quoted(sent)} {self.hit_label(h)}")
            cites.append(self.passage_citation(h, sent))
        return lines, cites


# A sentence that announces what follows (「次の3つの観点から」「以下の取組を進める」).
_ANNOUNCES_RE = re.compile(r"(次の|以下の|下記の)[^。]{0,30}|[0-9０-９二三四五六七八九十]つの[^。]{0,12}(観点|柱|分野|取組|方針|事項|原則|視点)|次のとおり")
# A measure's record lines end its body, they are not items of a list in it.
_RECORD_FIELD_RE = re.compile(r"^[・\-\s]*(主担当府省庁|関係府省庁)")
_RECORD_LINE_RE = re.compile(r"^[・\-\s*]*(主担当府省庁|関係府省庁)[:：][^。]{0,60}$")


_ERA_RE = re.compile(r"令和\s*([0-9０-９]{1,2}|元)\s*年(度)?")


def era_note(line: str) -> str:
    """The line with the Western year of each 令和 date it quotes noted before its citation
    (「令和8年度に実施」 → 「…（令和8年度＝2026年度） [No. 3-65]」): staff write memos in one
    calendar, the plan mixes both. The quote itself stays verbatim."""
    notes: list[str] = []
    for m in _ERA_RE.finditer(line):
        n = 1 if m.group(1) == "元" else int(unicodedata.normalize("NFKC", m.group(1)))
        western = f"{2018 + n}年{m.group(2) or ''}"
        note = f"{m.group(0)}＝{western}"
        if western not in line and note not in notes:
            notes.append(note)
    if not notes:
        return line
    body, sep, label = line.rpartition(" [")
    text = f"（{'、'.join(notes[:3])}）"
    return f"{body}{text}{sep}{label}" if sep else f"{line}{text}"


def following_units(text: str, sent: str, max_units: int = 3) -> list[str]:
    """The short lines right after ``sent`` when ``sent`` introduces a list or is a heading
    (items of the list: each under 140 characters; a long paragraph ends the list)."""
    units = sentence_units(text)
    try:
        pos = units.index(sent)
    except ValueError:
        return []
    label = len(sent) < 50 and not sent.endswith("。")
    if not (label or sent.endswith(("：", ":")) or _ANNOUNCES_RE.search(sent)):
        return []
    out = []
    for nxt in units[pos + 1 : pos + 1 + max_units]:
        if len(nxt) > 140 or _RECORD_FIELD_RE.match(nxt):
            break
        out.append(nxt)
    return out


__all__ = [
    "MAX_LIST", "NUMERIC_ASK_RE", "Candidate", "Citation", "Composer", "Definition", "asked_figure", "clause",
    "defined_term",
    "definitions_of", "doc_short_title", "era_note", "ministries",
    "sentence_units", "shared_figures",
]
