"""Japanese tokenisation for the lexical (BM25) side, plus query expansion with synonyms.

The plan is written in formal administrative Japanese while staff ask in colloquial Japanese,
abbreviations and sometimes English. Two things bridge that gap here:

* ``JapaneseTokenizer`` turns text into base-form content words (fugashi + unidic-lite), keeps
  Latin words and numbers whole, and adds bigrams of adjacent nouns so that compounds that
  unidic splits (マイ|ナンバー|カード) still match as compounds.
* ``expand_query`` appends the plan's own wording for colloquial terms, read from
  ``data/synonyms.tsv``, so both BM25 and the dense retriever see it.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import fugashi

DEFAULT_SYNONYMS_PATH = Path(__file__).resolve().parent / "data" / "synonyms.tsv"

# Bump when tokenisation rules change: stored BM25 indexes record it and are rebuilt on mismatch.
TOKENIZER_VERSION = "ja-1"

# Parts of speech that carry no retrieval signal. 接続詞 (及び, 並びに, 又は, また) and
# 感動詞 are function words too, and the plan's legal style is full of 及び/並びに.
_DROP_POS1 = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白", "接続詞", "感動詞"})

# Words frequent enough in the plan to make every chunk look relevant. Kept small on purpose:
# BM25's IDF already discounts common words; this only removes the ones it cannot (they occur
# in nearly every chunk) and that would otherwise create noise bigrams.
STOP_WORDS = frozenset(
    # light verbs and formal nouns
    "する ある いる なる できる おる れる られる せる させる こと もの ため よう 等 など ところ とき "
    # verbs inside compound particles: において, による, について, に対して, に関する, に向けて
    "おく よる つく 対する 関する 向ける "
    # demonstratives
    "その この あの これ それ あれ ここ そこ ら "
    # English function words, for English questions
    "the a an of and or to in on for with by is are be what how does do".split()
)

# unidic splits Latin words and decimals at punctuation (e|-|Gov, 2|.|0): these join pieces of
# one Latin/number run when there is no whitespace around them.
_JOINERS = frozenset({"-", ".", "_", "&", "+", "'"})
_ALNUM = re.compile(r"[0-9A-Za-z]+")
_NUMBER = re.compile(r"[0-9][0-9.,]*")
# Nouns that say how or how much rather than what (unidic pos3).
_NOT_NAMING = frozenset({"副詞可能", "助数詞可能", "形状詞可能"})
# Prefixes and suffixes belong in compounds too: 保険|証, 各|府省, 標準|化.
_COMPOUND_POS1 = frozenset({"名詞", "接尾辞", "接頭辞"})


@dataclass(frozen=True)
class Morpheme:
    """One unit of unidic's analysis; ``reading`` is katakana (empty for symbols)."""

    surface: str
    pos1: str
    reading: str
    base: str  # the base form as written (orthBase): 教え → 教える, たんとう → たんとう
    lemma: str  # the dictionary's headword: たんとう → 担当, ガバメント → ガバメント-government
    pos2: str = ""  # 固有名詞 for names of people, places and organisations
    pos3: str = ""  # サ変可能 for a noun that takes する (説明, 作成)
    form: str = ""  # the conjugated form (連用形-一般, 命令形): how a request ends


def normalize(text: str) -> str:
    """NFKC, the normal form used everywhere: full-width Latin/digits become ASCII."""
    return unicodedata.normalize("NFKC", text)


def tokenizer_version(*, bigrams: bool = True, stop_words: frozenset[str] = STOP_WORDS) -> str:
    """The version a ``JapaneseTokenizer`` with these options records in an index.

    A function of its own so that loading an index can check it without creating a tagger.
    """
    stop_digest = hashlib.sha256(" ".join(sorted(stop_words)).encode()).hexdigest()[:8]
    return f"{TOKENIZER_VERSION}{'+bigrams' if bigrams else ''}+stop-{stop_digest}"


class JapaneseTokenizer:
    """Base-form content words, whole Latin words/numbers, and noun bigrams.

    One MeCab tagger per instance; MeCab keeps per-parse state, so calls are serialised with
    a lock (a query takes well under a millisecond, so contention is not an issue).
    """

    def __init__(self, *, bigrams: bool = True, stop_words: frozenset[str] = STOP_WORDS) -> None:
        self.bigrams = bigrams
        self.stop_words = stop_words
        self.version = tokenizer_version(bigrams=bigrams, stop_words=stop_words)
        self._tagger = fugashi.Tagger()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list[str]:
        return self.tokenize(text)

    def tokenize(self, text: str) -> list[str]:
        """Tokens of ``text``: unigrams in order, each followed by its noun bigram if any."""
        out: list[str] = []
        if not text:
            return out
        text = normalize(text)
        with self._lock:
            self._tokenize_into(text, out)
        return out

    def tokenize_many(self, texts: list[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]

    def naming_nouns(self, text: str) -> list[str]:
        """Base forms of the nouns in ``text`` that can name something.

        Common and proper nouns only: adverbial nouns (今年, 一通り), counters (キロ, パーセント) and
        adjectival nouns (重要) say how or how much, not what. Latin words are not included (see
        :meth:`tokenize`, which keeps them whole).
        """
        out: list[str] = []
        with self._lock:
            for line in normalize(text).splitlines():
                for node in self._tagger(line):
                    feat = node.feature
                    if feat.pos1 == "名詞" and feat.pos2 in ("普通名詞", "固有名詞") and feat.pos3 not in _NOT_NAMING:
                        out.append((feat.orthBase or node.surface).lower())
        return out

    def morphemes(self, text: str) -> list[Morpheme]:
        """Every morpheme of one line of ``text`` (NFKC) with its part of speech and kana reading."""
        with self._lock:
            return [Morpheme(node.surface, node.feature.pos1 or "", node.feature.kana or "",
                             node.feature.orthBase or node.surface, node.feature.lemma or node.surface,
                             node.feature.pos2 or "", node.feature.pos3 or "", node.feature.cForm or "")
                    for node in self._tagger(normalize(text).replace("\n", " "))]

    # -- internals ------------------------------------------------------------------------

    def _nodes(self, text: str) -> Iterator[tuple[str, str, str | None, bool]]:
        """(surface, pos1, orthBase, whitespace-before) for every morpheme.

        Parsing line by line is faster than one huge parse and keeps memory flat on the whole
        plan; line ends count as whitespace so Latin words never merge across them.
        """
        tagger = self._tagger
        for line in text.splitlines():
            if not line.strip():
                continue
            first = True
            for node in tagger(line):
                feat = node.feature
                yield node.surface, feat.pos1, feat.orthBase, first or bool(node.white_space)
                first = False

    def _tokenize_into(self, text: str, out: list[str]) -> None:
        stop = self.stop_words
        bigrams = self.bigrams
        prev_noun: str | None = None  # last token that may start a bigram
        run: list[str] = []  # pieces of the current Latin/number run
        joiner: str | None = None  # joiner seen right after the run, pending the next piece
        run_spaced = False  # whitespace before the current run

        def emit(token: str, compound: bool, spaced: bool) -> None:
            nonlocal prev_noun
            if token in stop:
                prev_noun = None
                return
            out.append(token)
            if compound:
                # A space between two Japanese words separates them (menus, headings); one
                # next to a Latin word is only typesetting (生成 AI, 防災 DX in the plan).
                if spaced and prev_noun is not None and not (prev_noun[-1:].isascii() or token[:1].isascii()):
                    prev_noun = None
                if bigrams and prev_noun is not None:
                    sep = "_" if prev_noun[-1:].isascii() and token[:1].isascii() else ""
                    out.append(prev_noun + sep + token)
                prev_noun = token
            else:
                prev_noun = None

        def flush_run() -> None:
            nonlocal joiner, prev_noun
            if run:
                token = "".join(run).lower()
                run.clear()
                # Pure numbers are kept for lookup (年度, KPI values) but make poor compounds.
                emit(token, _NUMBER.fullmatch(token) is None, run_spaced)
            if joiner is not None:
                prev_noun = None  # "AI. データ": the punctuation ends the compound
            joiner = None

        for surface, pos1, base, spaced in self._nodes(text):
            if spaced:
                flush_run()
            if _ALNUM.fullmatch(surface):
                if run and joiner is not None:
                    if joiner == "," and not (run[-1].isdigit() and surface.isdigit() and len(surface) == 3):
                        flush_run()  # a list separator, not a thousands separator
                    elif joiner != ",":
                        run.append(joiner)
                joiner = None
                if not run:
                    run_spaced = spaced
                run.append(surface)
                continue
            if run and joiner is None and not spaced and (surface in _JOINERS or surface == ","):
                joiner = surface
                continue
            flush_run()
            if pos1 in _DROP_POS1:
                prev_noun = None
                continue
            token = (base or surface).lower()
            if not token.strip():
                prev_noun = None
                continue
            emit(token, pos1 in _COMPOUND_POS1, spaced)
        flush_run()


# -- synonyms ---------------------------------------------------------------------------------


def _match_key(text: str) -> str:
    return normalize(text).casefold()


def load_synonyms(path: Path | str | None = None) -> dict[str, list[str]]:
    """Read ``term<TAB>expansion|expansion`` lines; ``#`` starts a comment.

    The term column may list aliases separated by ``|`` (``子ども|子供``); each alias maps to
    the same expansions. Keys are NFKC + casefolded so lookups match any width or case.
    """
    path = Path(path) if path is not None else DEFAULT_SYNONYMS_PATH
    synonyms: dict[str, list[str]] = {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if "\t" not in line:
            raise ValueError(f"{path}:{lineno}: expected 'term<TAB>expansion|expansion', got {raw!r}")
        terms_col, expansions_col = line.split("\t", 1)
        expansions = [normalize(e).strip() for e in expansions_col.split("|") if e.strip()]
        if not expansions:
            raise ValueError(f"{path}:{lineno}: no expansions for {terms_col!r}")
        for term in terms_col.split("|"):
            key = _match_key(term).strip()
            if not key:
                continue
            merged = synonyms.setdefault(key, [])
            merged.extend(e for e in expansions if e not in merged)
    return synonyms


def synonyms_version(path: Path | str | None = None) -> str:
    """Short content hash of the synonyms file, to record which expansions an index saw."""
    path = Path(path) if path is not None else DEFAULT_SYNONYMS_PATH
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


_ASCII_WORD = re.compile(r"[0-9a-z]")


def _find_terms(query_key: str, synonyms: dict[str, list[str]]) -> list[str]:
    """Terms present in the query, in query order, none overlapping a longer one.

    Longest-first keeps マイナ保険証 from also firing 保険証's expansions on the same span.
    ASCII terms must stand as whole words (an English plural "s" allowed) so that "ai" does
    not fire inside "mail".
    """
    taken = [False] * len(query_key)
    found: list[tuple[int, str]] = []
    for term in sorted(synonyms, key=len, reverse=True):
        start = query_key.find(term)
        while start != -1:
            end = start + len(term)
            if _word_bounded(query_key, term, start, end) and not any(taken[start:end]):
                taken[start:end] = [True] * (end - start)
                found.append((start, term))
                break
            start = query_key.find(term, start + 1)
    return [term for _, term in sorted(found)]


def synonym_terms(text: str, synonyms: dict[str, list[str]]) -> list[str]:
    """The staff terms of the synonym table that occur in ``text`` (NFKC, case-folded), in order."""
    return _find_terms(_match_key(text), synonyms)


def _word_bounded(query_key: str, term: str, start: int, end: int) -> bool:
    if term[:1].isascii() and start > 0 and _ASCII_WORD.match(query_key[start - 1]):
        return False
    if term[-1:].isascii() and end < len(query_key):
        if query_key[end] == "s" and term[-1:].isalpha():
            end += 1
        if end < len(query_key) and _ASCII_WORD.match(query_key[end]):
            return False
    return True


def expand_query(text: str, synonyms: dict[str, list[str]]) -> str:
    """``text`` followed by the plan's wording for every known term in it.

    Expansions already present in the query are not repeated, so expanding twice is a no-op.
    """
    query_key = _match_key(text)
    compact = re.sub(r"\s+", "", query_key)
    additions: list[str] = []
    for term in _find_terms(query_key, synonyms):
        for expansion in synonyms[term]:
            exp_key = re.sub(r"\s+", "", _match_key(expansion))
            if exp_key in compact:
                continue
            additions.append(expansion)
            compact += "\n" + exp_key
    if not additions:
        return text
    return text + " " + " ".join(additions)


def unigrams(tokens: Sequence[str]) -> list[str]:
    """``tokens`` without the noun bigrams :meth:`JapaneseTokenizer.tokenize` adds after their second part."""
    out: list[str] = []
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i > 0 else ""
        if prev and len(tok) > len(prev) and tok.endswith(prev) and tok[: -len(prev)].rstrip("_") in out[-3:]:
            continue
        out.append(tok)
    return out
