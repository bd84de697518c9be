"""English questions, bridged to the plan's own Japanese words.

The documents are Japanese. An English question shares no word with them, so the lexical side of
retrieval and every check that weighs the question's words (is the subject in the documents? which
measure holds it?) see nothing, and the multilingual embedder alone often lands on the wrong
passage. Each English content word (or pair of words) of a question is bridged to a corpus word:

* a loanword the corpus writes in katakana, by the English origin unidic records in its lemma
  (アイランド-island, モジュール-module): exact, no threshold;
* otherwise the corpus word nearest to it by the loaded embedder, when close enough
  (patent → 特許, radiation → 放射線, "medical fee" → 医療費). The corpus words' vectors are
  computed at index build and stored with it (``PlanIndex.vocabulary_vectors``);
* a name typed in romaji (Fugaku) is the corpus noun of that reading (富岳).

Not bridged: English function words, and the words that say which field is asked (target, ministry,
when): the intents table reads those from the English text itself. A word that bridges to nothing
stays English — a name the documents may not hold (Bitcoin), which the refusal check weighs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.spelling import romaji_to_kana, to_katakana
from assistant.tokenizer import JapaneseTokenizer

# Closer than this to a corpus word, an English word is taken for it. Chosen by reading the nearest
# neighbours of ~50 common English words (patent → 特許 0.91, radiation → 放射線 0.91; quantum →
# 品質 0.88 is wrong and stays out; some wrong ones, operating → 整備 0.91, get in); the dev suite's
# English items answer the same at 0.90.
MIN_BRIDGE_SIMILARITY = 0.90
# A pair of words ("medical fee") is taken as one when it is this much closer than either word.
PHRASE_MARGIN = 0.005
# Each word costs an embedding (about 12 ms): a question's first few content words are bridged, and
# a long or garbled text costs no more than a short question.
MAX_BRIDGED_WORDS = 8
_NEAREST_CACHE = 4096

_ENGLISH_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
_KATAKANA_RE = re.compile(r"[ァ-ヺー]+")

# Words of English grammar, and words that ask for a field (the intents table answers those).
STOP_WORDS = frozenset("""
a an the of to for in on at by from with about into under over than as and or nor but if then so
is are was were be been being am do does did done doing have has had will would shall should can
could may might must what which who whom whose when where why how there here this that these those
it its they them their he she his her we our you your i me my mine any some each every all both
no not more most much many few one such also just only very please tell say says said describe
explain know want need like give show find list lists mention mentions mentioned write written
plan plans plan's document documents measure measures priority policy policies government's
target targets goal goals kpi kpis figure figures number numbers schedule timeline deadline date
year years fy fiscal month time when until by lead leads leading led ministry ministries agency's
responsible responsibility charge charged handles handle oversee oversees in-charge owner
start starts started begin begins introduce introduced introduction launch launched complete
completed completion achieve achieved planned expected supposed going happen happens
new current latest main other next first last different same related relevant specific
""".split())


def _english_words(text: str) -> list[str]:
    """The English words of ``text``, case-folded, possessives dropped (the UK's → uk)."""
    return [re.sub(r"'s$", "", w.casefold().replace("’", "'")) for w in _ENGLISH_WORD_RE.findall(text)]


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def loanwords(tokenizer: JapaneseTokenizer, vocabulary: Iterable[str]) -> dict[str, str]:
    """English origin → the corpus's katakana word, for the corpus's one-morpheme loanwords
    (unidic writes the origin after the headword: プラットホーム-platform)."""
    table: dict[str, str] = {}
    for word in vocabulary:
        if not _KATAKANA_RE.fullmatch(word):
            continue
        morphemes = tokenizer.morphemes(word)
        if len(morphemes) != 1 or "-" not in morphemes[0].lemma:
            continue
        origin = morphemes[0].lemma.split("-", 1)[1].casefold()
        if origin.isascii() and origin.isalpha():
            table.setdefault(origin, word)
    return table


@dataclass(frozen=True)
class Bridged:
    """One English word or pair of words of a question and the corpus word it stands for."""

    english: str
    japanese: str
    name: bool = False  # capitalised in the question past its first word (India, Fugaku)


class EnglishBridge:
    """Bridges the English content words of a question to corpus words (see the module docstring)."""

    def __init__(self, loanword_table: dict[str, str], words: Sequence[str] = (),
                 vectors: np.ndarray | None = None, embed_query: Callable[[str], Sequence[float]] | None = None,
                 by_reading: Callable[[str], str | None] | None = None, known: Callable[[str], bool] | None = None,
                 min_similarity: float = MIN_BRIDGE_SIMILARITY) -> None:
        """``by_reading``: the corpus noun written with kanji for a katakana reading, if any;
        ``known``: whether the corpus has a (case-folded) Latin word itself (e-gov, dx): those need no
        bridge, unless the corpus has their loanword too (see has_loanword)."""
        self.loanwords = loanword_table
        self.known = known or (lambda _w: False)
        self.by_reading = by_reading
        self.words = list(words)
        self.vectors = None
        if vectors is not None and len(words) and embed_query is not None:
            self.vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        self.embed_query = embed_query
        self.min_similarity = min_similarity
        self._nearest: dict[str, tuple[str, float]] = {}

    def has_loanword(self, word: str) -> bool:
        """Whether the corpus writes ``word`` in katakana too: an English word the corpus uses in a
        few English names (digital, data, security) still bridges; an acronym (dx, e-gov) does not."""
        return word in self.loanwords or _singular(word) in self.loanwords

    def nearest(self, english: str) -> tuple[str, float] | None:
        """The corpus word closest to ``english`` by the embedder, with its cosine similarity."""
        if self.vectors is None or self.embed_query is None:
            return None
        found = self._nearest.get(english)  # (read once: another thread may clear the cache)
        if found is None:
            if len(self._nearest) >= _NEAREST_CACHE:
                self._nearest.clear()  # bounded: fuzzed or pasted text must not grow it forever
            v = np.asarray(self.embed_query(english), dtype=np.float32)
            sims = self.vectors @ (v / max(float(np.linalg.norm(v)), 1e-12))
            i = int(np.argmax(sims))
            found = self._nearest[english] = (self.words[i], float(sims[i]))
        return found

    def _word(self, word: str, capitalized: bool = False) -> list[tuple[str, float]]:
        """The corpus words for one English word, best first: its loanword and its nearest
        neighbour when close enough (travel → トラベル and 旅行: the plan may use either), or the
        noun its romaji spells."""
        found: list[tuple[str, float]] = []
        for form in dict.fromkeys((word, _singular(word))):
            if form in self.loanwords:
                found.append((self.loanwords[form], 1.0))
                break
        near = self.nearest(_singular(word))
        if near and near[1] >= self.min_similarity and all(near[0] != f for f, _ in found):
            found.append(near)
        if not found and self.by_reading is not None and (kana := romaji_to_kana(word)):
            # A name typed in romaji (Fugaku, furigana). English words often parse as romaji too
            # (made → まで): only a capitalised word, or one of four kana or more, and only when
            # it spells a noun the plan writes in kanji.
            if len(kana) >= (3 if capitalized else 4) and (named := self.by_reading(to_katakana(kana))):
                found.append((named, 1.0))
        return found

    def bridge(self, text: str) -> list[Bridged]:
        """The corpus words for the English content words of ``text``, in order; a pair of
        neighbouring words bridges as one when the pair is clearly closer to a corpus word."""
        words = _english_words(text)
        content_at = [k for k, w in enumerate(words) if w not in STOP_WORDS and len(w) >= 2]
        if len(content_at) > MAX_BRIDGED_WORDS:
            words = words[: content_at[MAX_BRIDGED_WORDS - 1] + 1]
        typed = _ENGLISH_WORD_RE.findall(text)
        capitalized = {w.casefold() for w in typed if w[:1].isupper()}
        names = {re.sub(r"'s$", "", w.casefold()) for k, w in enumerate(typed) if w[:1].isupper() and k > 0}
        out: list[Bridged] = []
        i = 0
        while i < len(words):
            word = words[i]
            if word in STOP_WORDS or len(word) < 2 or (self.known(word) and not self.has_loanword(word)):
                i += 1
                continue
            single = self._word(word, word in capitalized)
            nxt = words[i + 1] if i + 1 < len(words) else None
            if nxt and nxt not in STOP_WORDS and word not in self.loanwords and not self.known(nxt):
                pair = self.nearest(f"{word} {_singular(nxt)}")
                best_single = max((s for s in (*single, *self._word(nxt)) if s[1] < 1.0), key=lambda s: s[1],
                                  default=None)
                if pair and pair[1] >= self.min_similarity and (
                        best_single is None or pair[1] > best_single[1] + PHRASE_MARGIN):
                    out.append(Bridged(f"{word} {nxt}", pair[0]))
                    i += 2
                    continue
            out.extend(Bridged(word, japanese, word in names) for japanese, _ in single)
            i += 1
        return out


__all__ = ["MIN_BRIDGE_SIMILARITY", "STOP_WORDS", "Bridged", "EnglishBridge", "loanwords"]
