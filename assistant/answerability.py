"""Whether a turn can be answered from the documents, and if not, why — one mechanism, in order:

1. the kind of request: a question about the documents, or a task for the assistant (write code,
   translate, summarise pasted text, change its instructions) — declined politely;
2. the question's distinctive words that occur nowhere in the corpus (the index knows its
   vocabulary), or a name it quotes (「けんこうナビ」) that no document contains:
   「計画には『X』に関する記載がありません」 — unless it is one everyday word (荷物, 田舎), not the
   thing asked, in a question the vectors place firmly in a passage;
3. the asked-for kind of fact missing where the answer would be (a budget, a current rate, a
   name): the refusal says what the plan does state about it instead;
4. evidence too weak overall (dense similarity and word coverage both low).

Every :class:`Refusal` carries its reason in Japanese and an offer of what can be asked instead.
Thresholds are calibrated on the dev suite only (``evals/tools/calibrate_abstention.py``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.intents import MissingKind, load_intents
from assistant.retrieval import RetrievalResult
from assistant.understanding import LATIN_WORD_RE, QueryTerms, QuestionAnalysis, TermAnalyzer, is_content_word

# Calibrated on the dev suite (evals/items.jsonl) with evals/tools/calibrate_abstention.py.
DEFAULT_MIN_DENSE = 0.84
DEFAULT_MIN_COVERAGE = 0.5
# Share of the question's subject weight carried by words the corpus never uses: above it, the
# question is about something the documents do not mention.
DEFAULT_MAX_UNKNOWN_SHARE = 0.38
# Dense similarity of the best passage above which one everyday word absent from the plan is taken
# for the user's wording of what the passage says (see unknown_terms_refusal).
# Calibrated on the dev suite (calibrate_abstention.py): answerable items at 0.866 and above, out of
# scope ones at 0.854 and below but one (0.873, refused as a current value the plan does not give).
DEFAULT_MIN_PARAPHRASE_DENSE = 0.86
# at most this many such words (see unknown_terms_refusal)
MAX_PARAPHRASED_WORDS = 3
# the weight of an English question's absent name against its bridged words (see _english_unknown_refusal)
NAME_WEIGHT = 2.0

# What a refusal offers instead (data/intents.toml [offer]: the history reader knows them too).
OFFER = load_intents().offers["question"]
TASK_OFFER = load_intents().offers["task"]


@dataclass(frozen=True)
class Refusal:
    """Why a turn is not answered from the documents, for the user and for tests."""

    kind: str  # "task", "unknown_measure", "unheld_edition", "unknown_terms", "missing_fact", "weak_evidence"
    reason: str  # Japanese, one or two sentences
    offer: str = OFFER
    measure_no: str | None = None  # a measure named for context ("the plan has it, but not this")
    detail: str = ""  # the request kind, the unknown words or the missing kind

    @property
    def text(self) -> str:
        return f"{self.reason}\n{self.offer}" if self.offer else self.reason


def request_refusal(analysis: QuestionAnalysis) -> Refusal | None:
    """(1) A task for the assistant rather than a question about the documents."""
    kind = analysis.request
    if kind is None:
        return None
    return Refusal(
        "task", f"申し訳ありませんが、{kind.label}のご依頼にはお応えできません。", TASK_OFFER, detail=kind.name,
    )


def edition_refusal(analysis: QuestionAnalysis, editions: Sequence[int]) -> Refusal | None:
    """An edition of the plan asked for by year that the corpus does not hold (「2030年版の計画」)."""
    year = analysis.asked_edition
    if year is None or year in editions or (editions and year < min(editions)):
        return None
    held = "・".join(str(e) for e in sorted(set(editions)))
    return Refusal("unheld_edition", f"計画には{year}年版の記載がありません（収録している文書は{held}年のものです）。",
                   detail=str(year))


def unsupported_words(terms: QueryTerms, top_tokens: set[str], analyzer: TermAnalyzer, max_df: int = 2,
                      further: Sequence[frozenset[str]] = (), max_name_df: int = 10) -> list[str]:
    """Subject words no document uses, or so rare that the passages retrieved do not hold them
    (「韓国」 occurs once in the corpus, in a list of countries: not in a passage about its plans).
    An abbreviation of a corpus word (スパコン) is supported when the passages hold that word. A
    name (a place, a person) is looked for up to ``max_name_df`` chunks: 広島 is named in seven,
    of 広島AIプロセス, none about a prefecture's systems.

    ``further``: the tokens of the passages ranked after the top ones. A rare word one of them holds
    is supported only when that passage holds every other naming word too — it is about what was
    asked (「イスラエルの医療データ活用」 in 第5), not a passing mention (インフルエンザ in a measure on
    emergency-call forecasts, asked whether to get a jab)."""
    out = [w for w in terms.unknown if w in terms.names or not _in_compound(w, terms.tokens, top_tokens)]
    known = [w for w in terms.naming if w not in terms.unknown]
    for w in terms.naming:
        if w in out or w in terms.unknown or w in top_tokens or analyzer.document_frequency is None:
            continue
        if any(w in toks and all(k in toks for k in known) for toks in further):
            continue
        expansion = analyzer.abbreviation_of(w)
        if expansion is not None:
            # A kanji compound is several tokens (臨時|行政|調査|会): the passages must hold the ones
            # the clipping was taken from (宅建 → 宅地 and 建物 of 宅地建物取引業法, not 業法).
            parts = [t for t in analyzer.tokenizer.tokenize(expansion) if is_content_word(t)] or [expansion]
            parts = [t for t in parts if any(ch in t for ch in w)] or parts
            if not all(t in top_tokens for t in parts):
                out.append(w)
        elif w not in terms.names and _in_compound(w, terms.tokens, top_tokens):
            continue
        elif analyzer.document_frequency(w) <= (max_name_df if w in terms.names else max_df) \
                and not (w in terms.verbal and analyzer.known(w)):
            # A rare verb the plan does use (推移する) is what the question says of its subject: only
            # a verb no document uses at all leaves the question unsupported.
            out.append(w)
    return out


# A word of two kanji or more (no 々): the words the compound and everyday-word rules read.
KANJI_WORD_RE = re.compile(r"[\u4e00-\u9fff]{2,}")
# A text that ends as a question: a question mark, a particle that asks (「…は」「…か」「…の」), or
# asking to be told (「…を教えて」「…が知りたい」) — not asking for something to be made.
_ASKS_RE = re.compile(r"([？?]|(は|か|の|って|ある|どれ|どこ|いつ)|(教えて|知りたい|聞きたい|調べて)(ください|下さい|ほしい|欲しい|くれ)?)[。.]?\s*$")


# an example given for the subject: 「Xみたいな」「Xのような」「Xで使うような」「Xといった」「Xなどの」
_EXAMPLE_RE = re.compile(r"[^、。？?!！\s]{1,30}?(みたいな|みたいに|ような|のように|といった|などの|なんかの)")
# A noun in at most this many passages names a particular thing (手帳), not an act the plan does everywhere (申請).
PARTICULAR_NOUN_MAX_DF = 20


def _latin_name(word: str) -> bool:
    """A Latin word of three letters or more (Teams, Zoom): a product's or a system's name."""
    return len(word) >= 3 and LATIN_WORD_RE.fullmatch(word) is not None


def _as_typed(word: str, text: str) -> str:
    """``word`` (casefolded) as the user typed it in ``text``."""
    m = re.search(re.escape(word), text, re.I)
    return m.group() if m else word


def _modifies_compound(word: str, question_tokens: Sequence[str], document_frequency: Callable[[str], int] | None) -> bool:
    """Whether the question writes ``word`` joined to a following noun that names a particular thing
    (献血 of 「献血手帳」: 手帳 is in few passages): the compound names one thing, which the documents
    lack with the word. Joined to a word the plan uses everywhere (入園 of 「入園申請」: 申請), the word
    only says which application — everyday wording the excuse covers."""
    for t in question_tokens:
        if len(t) > len(word) and t.startswith(word) and KANJI_WORD_RE.fullmatch(t):
            rest = t[len(word):]
            if document_frequency is None or document_frequency(rest) <= PARTICULAR_NOUN_MAX_DF:
                return True
    return False


def _in_compound(word: str, question_tokens: Sequence[str], top_tokens: set[str]) -> bool:
    """Whether a kanji word of the question, or the question's compound holding it, starts or ends
    a longer compound of the passages: the tagger cuts 「上下水道」 as 上下水|道, so the plan never
    has the token 水道 though it speaks of 水道 (and, via 下水道, of 下水). A word met only inside a
    compound (宅建 in 住|宅建|設) is not held."""
    if not KANJI_WORD_RE.fullmatch(word):
        return False
    forms = {t for t in question_tokens if word in t and KANJI_WORD_RE.fullmatch(t)} | {word}
    return any(len(p) > len(f) and (p.startswith(f) or p.endswith(f)) for p in top_tokens for f in forms)


def unknown_share(analysis: QuestionAnalysis, analyzer: TermAnalyzer, unsupported: Sequence[str]) -> float:
    """Share of the weight of the words naming the subject that unsupported words carry.

    The naming words are the subject's nouns and names (not those used as verbs), plus the staff
    terms the synonym table maps to the plan's wording (weighted like that wording); each counts
    once, by its IDF.
    """
    terms = analysis.terms
    if terms is None or not unsupported:
        return 0.0
    bad = set(unsupported)
    # a noun used as a verb (完成する, 推移する) says what happens to the subject, it does not name it
    naming = [w for w in terms.naming if w not in terms.verbal or w in bad]
    total = sum(analyzer.idf(w) for w in naming) + sum(terms.synonym_weights.values())
    total += sum(analyzer.idf(w) for w in bad if w not in naming)
    if total <= 0:
        return 0.0
    return sum(analyzer.idf(w) for w in bad) / total


def unknown_terms_refusal(analysis: QuestionAnalysis, analyzer: TermAnalyzer, top_tokens: set[str],
                          max_share: float = DEFAULT_MAX_UNKNOWN_SHARE,
                          aspects: re.Pattern[str] | None = None,
                          further: Sequence[frozenset[str]] = (), top_dense: float = 0.0,
                          min_paraphrase_dense: float = DEFAULT_MIN_PARAPHRASE_DENSE) -> Refusal | None:
    """(2) The question is about something no document mentions.

    ``aspects``: words for what is asked about the subject (意義, 背景): rare in a plan's wording,
    they say nothing about whether the subject is in it. ``further``: see unsupported_words."""
    terms = analysis.terms
    if terms is None or not terms.naming or analysis.measure_nos or analysis.referenced_measures:
        return None
    if analysis.english:
        return _english_unknown_refusal(analysis, analyzer, top_tokens, max_share)
    unsupported = [w for w in unsupported_words(terms, top_tokens, analyzer, further=further)
                   if aspects is None or not aspects.search(w)]
    state = analysis.state
    if state is not None and state.resolution == "similar":
        # 「似た施策で、山間部向けのものは？」 leaves out the measures just shown: the earlier subject's
        # words (アイランド, held by those only) were found in their own turn; the new field counts.
        own = analysis.normalized.casefold()
        unsupported = [w for w in unsupported if w in own]
    # 「スマートウォッチみたいな機器で集めた健康データ」: the words of an example are not the subject, the
    # words after it are — unless the example is a place, a body or a product by name (エストニアのような)
    folded = analysis.normalized.casefold()
    rest = _EXAMPLE_RE.sub(" ", folded)
    if rest != folded and any(w in rest and w not in unsupported for w in terms.naming):
        unsupported = [w for w in unsupported if w in rest or w in terms.names or _latin_name(w)]
    if not unsupported:
        return None
    # The last naming word is what the question asks about (「万博の来場者数の目標」 asks for 来場者数):
    # when no document uses it, the thing asked is absent however present the words before it are.
    head = terms.naming[-1]
    if head in terms.unknown and head in unsupported and not head.startswith("何") \
            and analyzer.ends_subject(analysis.normalized, head):
        run = re.search(rf"[\u4e00-\u9fffァ-ヺーA-Za-z0-9]*{re.escape(head)}[\u4e00-\u9fffァ-ヺーA-Za-z0-9]*",
                        analysis.normalized, re.I)
        shown = run.group() if run else head
        return Refusal("unknown_terms", f"計画には『{shown}』に関する記載がありません。", detail=",".join(unsupported))
    # A person, place or organisation no document names, or none of the passages found (熊本, 河野;
    # 広島 named only in 「広島AIプロセス」): the question is about it, however common its other words
    # are (「熊本の半導体工場への補助金」 is not about 半導体戦略).
    # (a Latin word no document has, Teams, Zoom, is a product's or a system's name)
    absent_names = [w for w in unsupported if w in terms.names or (w in terms.unknown and _latin_name(w))]
    if not absent_names and unknown_share(analysis, analyzer, unsupported) < max_share:
        return None
    known = [w for w in terms.naming if w not in unsupported]
    # the vectors found the passage the everyday word paraphrases only if they found the question's
    # other words too: when the passages hold none of them (「献血の予約をマイナポータルで」: 予約),
    # the vectors matched the topic's general wording, and the absent word is what is asked
    held_known = not known or any(w in top_tokens for w in known)
    if not absent_names and held_known and (len(unsupported) == 1 or len(known) >= len(unsupported)) \
            and len(unsupported) <= MAX_PARAPHRASED_WORDS and all(KANJI_WORD_RE.fullmatch(w) for w in unsupported) \
            and top_dense >= min_paraphrase_dense \
            and not any(analyzer.ends_subject(analysis.normalized, w) for w in unsupported) \
            and not any(_modifies_compound(w, terms.tokens, analyzer.document_frequency) for w in unsupported) \
            and not (state is not None and "subject" in state.inherited) and _ASKS_RE.search(analysis.normalized):
        # Everyday kanji words the plan never uses (one, or up to three beside as many of its own
        # words: 「海外赴任中でも結婚前の名字を併記」 is its 国外転出者の旧氏), not what is asked for (the head rule above),
        # in a question whose meaning the vectors find in a passage: 「荷物をドローンで届ける」 is
        # the plan's ドローン物流, 「田舎でも自動運転」 its 地方. A named place, a product's katakana
        # name, a second unknown word, a subject inherited from a refused turn, other naming words
        # none of the passages holds, or a text that does not end as a question (「…の手紙を書いて」
        # is a request, whatever its words) still refuse.
        return None
    named = absent_names or unsupported
    # in the order and the letter case the user wrote them (Teams, not teams)
    key = analysis.text.casefold()
    named = sorted(named, key=lambda w: (key.find(w) if w in key else len(key)))
    shown = "』『".join(_as_typed(w, analysis.text) for w in named[:3])
    # a word the documents use elsewhere (広島 of 広島AIプロセス) is absent only from this subject
    where = "ご質問の件について、" if any(analyzer.known(w) for w in named[:3]) else ""
    return Refusal("unknown_terms", f"{where}計画には『{shown}』に関する記載がありません。", detail=",".join(unsupported))


def _english_unknown_refusal(analysis: QuestionAnalysis, analyzer: TermAnalyzer, top_tokens: set[str],
                             max_share: float) -> Refusal | None:
    """(2) for an English question: its English words are missing from a Japanese corpus anyway, so
    the subject is weighed by the corpus words they were bridged to (assistant.bilingual), against
    the names that bridge to none and that no document contains (Bitcoin) and the names bridged to
    a word the corpus barely uses that the passages found do not hold (India → インド). Other
    bridged words are never unsupported: the bridge is a guess at the plan's wording."""
    def barely_used(word: str) -> bool:
        return word not in top_tokens and analyzer.document_frequency is not None \
            and analyzer.document_frequency(word) <= 2

    # a name bridged to several words is held when one of them is (Japan → ジャパン, 日本)
    by_name: dict[str, list[str]] = {}
    for b in analysis.bridged:
        if b.name:
            by_name.setdefault(b.english, []).append(b.japanese)
    rare = [words[0] for words in by_name.values() if all(barely_used(w) for w in words)]
    names = list(dict.fromkeys([*analysis.unbridged_names, *rare]))
    if not names:
        return None
    words = list(dict.fromkeys(b.japanese for b in analysis.bridged))
    # A name counts twice: it is what the question is about (「X-Road」), while the bridged
    # words are guesses at the plan's wording for the rest of the sentence.
    unknown = sum(NAME_WEIGHT * analyzer.idf(n.casefold()) for n in names)
    total = sum(analyzer.idf(w) for w in words if w not in names) + unknown
    if total <= 0 or unknown / total < max_share:
        return None
    shown = "』『".join(names[:3])
    return Refusal("unknown_terms", f"計画には『{shown}』に関する記載がありません。", detail=",".join(names))


# A name the user quotes: 「…」『…』 or "…", short enough to be a name rather than a sentence.
_QUOTED_NAME_RE = re.compile(r"[「『\"“]([^「」『』\"“”]{2,24})[」』\"”]")


# 「サイバーセキュリティ20XX」「○○計画」: a name with a blank stands for a series of names, not one
_PLACEHOLDER_RE = re.compile(r"(?i)xx|[○〇×*＊]{2,}|…")


def quoted_name_refusal(question: str, occurs: Callable[[str], bool],
                        is_phrase: Callable[[str], bool]) -> Refusal | None:
    """(2) A name quoted in the question that no document contains (``occurs`` looks it up).

    Quoting says "this exact name": a programme, an app or a law the plan does not mention is
    absent even when every word of it is common (「けんこうナビ」, 「デジタル窓口法」). A quoted
    phrase (``is_phrase``: it has particles, 「スマホで60秒」) may be the user's paraphrase of a
    slogan, so only names count."""
    absent = [name for name in _QUOTED_NAME_RE.findall(unicodedata.normalize("NFKC", question))
              if name.strip() and not is_phrase(name) and not _PLACEHOLDER_RE.search(name) and not occurs(name)]
    if not absent:
        return None
    shown = "』『".join(absent[:3])
    return Refusal("unknown_terms", f"計画には『{shown}』という名称の記載がありません。", detail=",".join(absent))


def missing_fact_refusal(kind: MissingKind) -> Refusal:
    """(3) The kind of fact asked for is not where the answer would be (the answerer looks: in the
    measures the turn is about, or in the passages found for such a fact)."""
    return Refusal("missing_fact", f"ご質問の{kind.label}は、重点計画と関連資料には記載がありません。", detail=kind.name)


def unheld_detail_refusal(detail: str, measure_no: str, title: str) -> Refusal:
    """(3) The detail asked of a measure (「罰則」「運営主体」) is in none of its sentences."""
    return Refusal("missing_fact", f"No. {measure_no}「{title}」について、ご質問の『{detail}』は計画に記載がありません。",
                   measure_no=measure_no, detail=detail)


def coverage(terms: QueryTerms, top: set[str]) -> float:
    """Share of the question's content words found in the top passages' tokens (synonyms included)."""
    words = terms.content
    if not words:
        return 0.0
    found = sum(1 for w in words if w in top)
    # A synonym found in the passages stands in for the word the user typed.
    extra = len(terms.expanded & top)
    return min(1.0, (found + min(extra, len(words) - found)) / len(words))


def weak_evidence(analysis: QuestionAnalysis, result: RetrievalResult, cov: float, *,
                  min_dense: float = DEFAULT_MIN_DENSE, min_coverage: float = DEFAULT_MIN_COVERAGE) -> bool:
    """(4) Neither the vectors nor the words point at a passage."""
    if result.exact_measures or analysis.referenced_measures:
        return False
    if not result.hits:
        return True
    if "context" in result.hits[0].retrievers:
        return False  # the measure under discussion holds the turn's words (answering.retrieve)
    return (result.top_dense < min_dense and cov < min_coverage) or cov == 0.0


__all__ = [
    "DEFAULT_MAX_UNKNOWN_SHARE", "DEFAULT_MIN_COVERAGE", "DEFAULT_MIN_DENSE", "OFFER", "Refusal", "coverage",
    "edition_refusal", "missing_fact_refusal", "request_refusal", "unheld_detail_refusal", "unknown_share",
    "unknown_terms_refusal", "weak_evidence",
]
