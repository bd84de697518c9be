"""Spelling recovery by reading: words typed in kana, or with a wrong kanji of the same sound.

Staff type what they hear: 「でんしかるて」 for 電子カルテ, 「がばめんとくらうど」, 「こども家庭ちょう」,
「人財」 for 人材, 「後期高齢者の保健証」 for 保険証. The lexical side sees words the corpus never uses and the
refusal check even takes them for things the plan does not mention. The corpus vocabulary (the
BM25 index's tokens: base forms and noun bigrams) is indexed here by kana reading, and a span of the
question is respelled when it sounds like a corpus noun and is not itself written as one:

* a run of hiragana is segmented into corpus nouns by reading (longest pieces first, neighbours
  that form a corpus compound preferred), the rest (particles) is kept as typed;
* a run of hiragana right after kanji may finish that word (家庭 + ちょう → 家庭庁);
* a kanji word or compound the corpus does not know is replaced by the corpus word of the same
  reading and length that differs from it in one character (人財 → 人材, 保健証 → 保険証).

Only nouns are respelled: verbs and adjectives in kana are ordinary writing, not typos. The lexicon
is built on first use (about 0.1 s), so a question written the plan's way costs nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from assistant.tokenizer import JapaneseTokenizer

_HIRAGANA_RUN_RE = re.compile(r"[ぁ-ゖー]{3,}")
_KANJI_TAIL_RE = re.compile(r"[\u4e00-\u9fff々〆ヵヶ]+$")
_HAS_KANJI_RE = re.compile(r"[\u4e00-\u9fff々]")
_KANA_ONLY_RE = re.compile(r"[ぁ-ゖァ-ヺー]+")
_KATAKANA_RE = re.compile(r"[ァ-ヺー]+")
_KATAKANA_RUN_RE = re.compile(r"[ァ-ヺー]{4,}")
# Pieces shorter than this are too often particles or everyday words (いか, かい, する).
MIN_PIECE_KANA = 3
LOANWORD_KANA = 5  # a katakana word typed in hiragana this long is taken whatever the parse says
# What unidic makes of kana typed for a noun: interjections, conjunctions, adverbs, symbols.
_MISREAD_POS = frozenset({"感動詞", "接続詞", "副詞", "形状詞", "記号", "補助記号"})
# Words of grammar: a respelled piece never cuts through one.
_GRAMMAR_POS = frozenset({"動詞", "形容詞", "助詞", "助動詞"})
# Parts of speech a respelled word may consist of (nouns and the affixes of compounds).
_NOUN_POS = frozenset({"名詞", "接尾辞", "接頭辞"})


_LOOSE = str.maketrans("ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポヴァィゥェォッャュョヮ",
                       "カキクケコサシスセソタチツテトハヒフヘホハヒフヘホウアイウエオツヤユヨワ")


def loose_katakana(word: str) -> str:
    """A katakana word without long vowels, voicing marks and small kana: the slips typing makes
    (a small ッ dropped too: キャシュレス for キャッシュレス)."""
    return word.replace("ー", "").replace("ッ", "").translate(_LOOSE)


def to_katakana(text: str) -> str:
    """Hiragana → katakana (the form unidic gives readings in)."""
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


# Romaji as an IME would take it (Hepburn, kunrei and wapuro spellings): a question typed with the
# IME off (「gabamento kuraudo no ikou kigen」) is read as kana, then respelled like kana input.
_ROMAJI = {
    "a": "あ", "i": "い", "u": "う", "e": "え", "o": "お",
    **{c + v: k for c, row in {
        "k": "かきくけこ", "s": "さしすせそ", "t": "たちつてと", "n": "なにぬねの", "h": "はひふへほ",
        "m": "まみむめも", "r": "らりるれろ", "g": "がぎぐげご", "z": "ざじずぜぞ", "d": "だぢづでど",
        "b": "ばびぶべぼ", "p": "ぱぴぷぺぽ"}.items() for v, k in zip("aiueo", row, strict=True)},
    "ya": "や", "yu": "ゆ", "yo": "よ", "wa": "わ", "wo": "を",
    "shi": "し", "chi": "ち", "tsu": "つ", "fu": "ふ", "ji": "じ", "jya": "じゃ", "jyu": "じゅ", "jyo": "じょ",
    "sha": "しゃ", "shu": "しゅ", "she": "しぇ", "sho": "しょ", "cha": "ちゃ", "chu": "ちゅ", "che": "ちぇ",
    "cho": "ちょ", "ja": "じゃ", "ju": "じゅ", "je": "じぇ", "jo": "じょ", "fa": "ふぁ", "fi": "ふぃ",
    "fe": "ふぇ", "fo": "ふぉ", "ti": "ち", "tu": "つ", "si": "し", "zi": "じ", "hu": "ふ", "di": "ぢ",
    "du": "づ", "thi": "てぃ", "dhi": "でぃ", "wi": "うぃ", "we": "うぇ", "va": "ゔぁ", "vi": "ゔぃ",
    "vu": "ゔ", "ve": "ゔぇ", "vo": "ゔぉ",
    **{c + "y" + v: k + small for c, k in {"k": "き", "s": "し", "t": "ち", "n": "に", "h": "ひ", "m": "み",
                                           "r": "り", "g": "ぎ", "z": "じ", "b": "び", "p": "ぴ", "d": "ぢ"}.items()
       for v, small in zip("auo", "ゃゅょ", strict=True)},
    "n'": "ん", "-": "ー",
}
_ROMAJI_WORD_RE = re.compile(r"[a-z'-]+")


def romaji_to_kana(word: str) -> str | None:
    """Hiragana for a word typed in romaji (「ikou」 → いこう, 「kigen」 → きげん), or None when it is
    not romaji (English words rarely parse: 「target」 has no syllable 「r」)."""
    word, out, i = word.lower(), [], 0
    while i < len(word):
        c = word[i]
        if c == word[i + 1 : i + 2] and c in "aeo":
            out.append(_ROMAJI[c] + "ー")  # a doubled a/e/o is a loanword's long vowel (「beesu」)
            i += 2
            continue
        if c == word[i + 1 : i + 2] and c not in "aiueon":
            out.append("っ")  # a doubled consonant is a small tsu
            i += 1
            continue
        if c == "n" and (i + 1 == len(word) or word[i + 1] not in "aiueoy'"):
            # Hepburn: 「nannin」 is なんにん (a syllabic n, then にん)
            out.append("ん")
            i += 1
            continue
        for size in (3, 2, 1):
            kana = _ROMAJI.get(word[i : i + size]) if i + size <= len(word) else None
            if kana is not None:
                out.append(kana)
                i += size
                if size > 1 and word[i - 1] in "aeo" and word[i : i + 1] == word[i - 1]:
                    # a doubled a/e/o is a loanword's long vowel (「mainanbaa」 → まいなんばー); a
                    # doubled i or u is two kana in words such as 委員 (iin) or 数 (suu)
                    out.append("ー")
                    i += 1
                break
        else:
            return None
    return "".join(out)


_ROMAJI_PARTICLES = {"wa": "は", "he": "へ", "e": "へ", "wo": "を", "o": "を", "heno": "への", "eno": "への"}


def romaji_question(text: str) -> str | None:
    """The question in kana when it is typed in romaji: only Latin letters, and nearly every word
    reads as romaji (an English question does not). The words are joined, as kana input would be."""
    if re.search(r"[^\x00-\x7f]|\d", text):
        return None  # kana or kanji typed, or a measure number: not romaji input
    words = _ROMAJI_WORD_RE.findall(text.lower())
    if len(words) < 2 and not (words and len(words[0]) >= 6):
        return None
    # Particles typed as a word of their own are spelled as pronounced (wa, e, o): kana input
    # writes them は, へ, を, and a word that ends in 「わ」 reads as nothing in the plan.
    kana = [_ROMAJI_PARTICLES.get(w) or romaji_to_kana(w) for w in words]
    if sum(k is not None for k in kana) < 0.8 * len(words):
        return None
    return "".join(k if k is not None else w for k, w in zip(kana, words, strict=True))


# Latin letters as Japanese read them out (ジェイ → J): staff type acronyms by their sound.
_LETTER_NAMES = {
    "エー": "A", "エイ": "A", "ビー": "B", "シー": "C", "ディー": "D", "デー": "D", "イー": "E", "エフ": "F",
    "ジー": "G", "エイチ": "H", "エッチ": "H", "アイ": "I", "ジェイ": "J", "ジェー": "J", "ケー": "K", "ケイ": "K",
    "エル": "L", "エム": "M", "エヌ": "N", "オー": "O", "ピー": "P", "キュー": "Q", "アール": "R", "エス": "S",
    "ティー": "T", "ユー": "U", "ブイ": "V", "ヴィー": "V", "ダブリュー": "W", "エックス": "X", "ワイ": "Y",
    "ゼット": "Z", "ズィー": "Z",
}
_LETTER_NAMES_LONGEST_FIRST = sorted(_LETTER_NAMES, key=len, reverse=True)


@dataclass(frozen=True)
class Respelling:
    """A question as the plan would spell it; ``changes`` are (as typed, as respelled)."""

    text: str
    changes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _ParseMarks:
    """Character positions in unidic's parse of a question (see ``Respeller._parse_marks``)."""

    inside_grammar: set[int]  # strictly inside a verb, adjective, particle or auxiliary
    particle_starts: set[int]  # where a particle or an auxiliary starts
    misread: set[int]  # in a morpheme that reads like kana typed for a noun

    def shifted(self, offset: int) -> _ParseMarks:
        """The same marks, counted from ``offset``."""
        return _ParseMarks(*({i - offset for i in marks} for marks in
                             (self.inside_grammar, self.particle_starts, self.misread)))


class Respeller:
    """Respells the kana and homophone typos of a question into the corpus's own words."""

    def __init__(self, tokenizer: JapaneseTokenizer, vocabulary: Sequence[str],
                 document_frequency: Callable[[str], int], katakana_runs: Iterable[str] = ()) -> None:
        """``katakana_runs``: the katakana runs of the corpus text. The tokenizer splits compounds
        (サイバー|ポート), so a slip in one (サイバーポト) is only found against the text's own runs."""
        self.tokenizer = tokenizer
        self.document_frequency = document_frequency
        self._vocabulary = [w for w in vocabulary if not w.isascii()]
        self._katakana_runs = frozenset(katakana_runs)
        self._lexicon: dict[str, list[str]] | None = None  # reading → corpus nouns, most frequent first
        self._katakana: dict[str, list[str]] | None = None  # loose form → corpus katakana words
        self._longest: int | None = None
        self._lock = threading.Lock()

    def known(self, word: str) -> bool:
        return self.document_frequency(word) > 0

    def lexicon(self) -> dict[str, list[str]]:
        """Corpus nouns by kana reading (built once, on first use)."""
        with self._lock:
            if self._lexicon is None:
                lexicon: dict[str, list[str]] = {}
                for word in self._vocabulary:
                    morphemes = self.tokenizer.morphemes(word)
                    if not morphemes or any(m.pos1 not in _NOUN_POS or not m.reading for m in morphemes):
                        continue
                    lexicon.setdefault("".join(m.reading for m in morphemes), []).append(word)
                self._lexicon = self._most_frequent_first(lexicon)
            return self._lexicon

    def longest_reading(self) -> int:
        """The length of the longest kana reading of a corpus noun (a respelled piece is no longer)."""
        if self._longest is None:
            self._longest = max(map(len, self.lexicon()), default=0)
        return self._longest

    def _most_frequent_first(self, groups: dict[str, list[str]]) -> dict[str, list[str]]:
        """``groups`` with each list of corpus words sorted by document frequency, most frequent first."""
        for words in groups.values():
            words.sort(key=lambda w: (-self.document_frequency(w), w))
        return groups

    def respell(self, text: str) -> Respelling:
        """``text`` (NFKC) with its kana-typed nouns and homophone typos in the corpus's spelling."""
        if not self._vocabulary or not text:
            return Respelling(text)
        changes: list[tuple[str, str]] = []
        kana = romaji_question(text)
        if kana is not None:
            changes.append((text.strip(), kana))
            text = kana
        text = self._respell_kanji(text, changes)
        text = self._respell_katakana(text, changes)
        runs = [r for r in _HIRAGANA_RUN_RE.finditer(text) if not self.known(r.group())]
        if not runs:
            return Respelling(text, tuple(changes))
        marks = self._parse_marks(text)
        out: list[str] = []
        pos = 0
        for run in runs:
            before = text[pos:run.start()]
            replaced = self._respell_run(run.group(), _KANJI_TAIL_RE.search(before), changes,
                                         marks.shifted(run.start()))
            out.append(before + replaced)
            pos = run.end()
        out.append(text[pos:])
        return Respelling("".join(out), tuple(changes))

    # -- hiragana runs ----------------------------------------------------------------------------

    def _candidates(self, kana: str) -> list[str]:
        """Corpus nouns that ``kana`` (hiragana) sounds like, unless the corpus writes it in kana too."""
        words = self.lexicon().get(to_katakana(kana), [])
        if not words or kana in words or self.known(kana):
            return []
        return words

    def _parse_marks(self, text: str) -> _ParseMarks:
        """How unidic parses ``text``: where a respelled piece may not start or end, and which
        characters it misread.

        A piece never cuts through a word of grammar (a verb, an adjective, a particle, an auxiliary:
        し|て|いる, どう|いう) and never starts with a particle or an auxiliary (打っ|た|ほう); it covers
        at least one character unidic read as a noun written in kana (たんとう → 担当) or as something
        out of place in a question (an interjection, a conjunction, an adverb, a symbol: で|ん|しかる|て).
        Elsewhere the boundaries of a misreading bind nothing (かい|ごほ|けんしょう is 介護保険証).
        """
        marks = _ParseMarks(set(), set(), set())
        pos = 0
        kana_nouns: list[tuple[int, int]] = []  # a run of short kana nouns read as kanji words (いち|らん: 一|欄)
        for m in self.tokenizer.morphemes(text):
            at = text.find(m.surface, pos)
            if at < 0:
                continue
            end = at + len(m.surface)
            if m.pos1 == "名詞" and _KANA_ONLY_RE.fullmatch(m.surface) and m.lemma != m.surface \
                    and _HAS_KANJI_RE.search(m.lemma) and (not kana_nouns or kana_nouns[-1][1] == at):
                kana_nouns.append((at, end))
                # …misread when together they sound like one corpus noun (いちらん → 一覧), not うち|ことし
                if len(kana_nouns) >= 2 and self.lexicon().get(to_katakana(text[kana_nouns[0][0]:end])):
                    marks.misread.update(range(kana_nouns[0][0], end))
            else:
                kana_nouns = []
            if m.pos1 in _GRAMMAR_POS or (_HAS_KANJI_RE.search(m.surface) and not _HAS_KANJI_RE.search(m.surface[-1])):
                # (nor through a word written in kanji and kana: the し of 見直し is its okurigana,
                # not the start of しはい → 支配 in 「見直しはいつ」)
                marks.inside_grammar.update(range(at + 1, end))
            if m.pos1 in ("助詞", "助動詞"):
                marks.particle_starts.add(at)
            # Two-kana nouns (うち, こと, もの, とき) are ordinary kana writing, not misreadings.
            if m.pos1 in _MISREAD_POS or (m.pos1 == "名詞" and m.lemma != m.surface and len(m.surface) >= 3
                                          and not _KANA_ONLY_RE.fullmatch(m.lemma.split("-")[0])):
                marks.misread.update(range(at, end))
            pos = end
        return marks

    def _respell_run(self, run: str, kanji_before: re.Match | None, changes: list[tuple[str, str]],
                     marks: _ParseMarks) -> str:
        """The best segmentation of a hiragana run into corpus nouns and left-over kana."""
        n = len(run)
        # best[i]: (score, pieces) for run[:i]; a piece is (typed, respelled); score prefers long pieces
        # and neighbours that form a corpus compound (保険 + しょう → 保険証, not 保険省).
        best: list[tuple[float, list[tuple[str, str]]] | None] = [None] * (n + 1)
        best[0] = (0.0, [])
        for i in range(n):
            if best[i] is None:
                continue
            score, pieces = best[i]
            self._offer(best, i + 1, score, pieces + [(run[i], run[i])])  # keep one character as typed
            # (no piece longer than the longest reading of the lexicon: a long run costs linear time)
            for j in range(i + MIN_PIECE_KANA, min(n, i + self.longest_reading()) + 1):
                piece = run[i:j]
                prev = pieces[-1][1] if pieces and pieces[-1][0] != pieces[-1][1] else ""
                if i == 0 and kanji_before is not None and j not in marks.inside_grammar:
                    finished = self._finish_word(kanji_before.group(), piece)
                    if finished:
                        self._offer(best, j, score + (j - i) ** 2 + 4, pieces + [(piece, finished)])
                if i in marks.inside_grammar or i in marks.particle_starts or j in marks.inside_grammar:
                    # Five kana or more that sound like a katakana word of the plan are that word,
                    # however unidic parses them (べ|ー|すれ|じ|す|とり → ベースレジストリ).
                    if j - i >= LOANWORD_KANA:
                        for word in self._candidates(piece)[:1]:
                            if _KATAKANA_RE.fullmatch(word):
                                self._offer(best, j, score + (j - i) ** 2, pieces + [(piece, word)])
                    continue
                # A loanword typed in hiragana may parse as grammar (くらう|ど); four kana or more
                # that sound like a katakana word of the plan are that word.
                loanword_only = marks.misread.isdisjoint(range(i, j))
                if loanword_only and j - i < 4:
                    continue
                for word in self._candidates(piece)[:5]:
                    if loanword_only and not _KATAKANA_RE.fullmatch(word):
                        continue
                    bonus = 4 if prev and self.known(prev + word) else 0
                    self._offer(best, j, score + (j - i) ** 2 + bonus, pieces + [(piece, word)])
                    if not prev:
                        break  # without a neighbour to agree with, the most frequent spelling wins
        result = best[n]
        assert result is not None
        pieces = self._join_loanword_heads(result[1])
        merged: list[tuple[str, str]] = []  # neighbouring respelled pieces are one change (ちほう + こうきょうだんたい)
        for typed, respelled in pieces:
            if merged and typed != respelled and merged[-1][0] != merged[-1][1]:
                merged[-1] = (merged[-1][0] + typed, merged[-1][1] + respelled)
            else:
                merged.append((typed, respelled))
        changes.extend((typed, respelled) for typed, respelled in merged if typed != respelled)
        return "".join(respelled for _, respelled in merged)

    def _join_loanword_heads(self, pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Two kana kept as typed before a katakana word may be its head (まい + ナンバーカード →
        マイナンバーカード): pieces that short are only taken when the compound is a corpus word."""
        out: list[tuple[str, str]] = []
        for typed, respelled in pieces:
            head = "".join(t for t, r in out[-2:] if t == r) if len(out) >= 2 else ""
            if (typed != respelled and _KATAKANA_RE.fullmatch(respelled) and len(head) == 2
                    and all(t == r for t, r in out[-2:])):
                kata = to_katakana(head)
                if self.known(kata) and any(self.known(kata + respelled[:t]) for t in range(2, len(respelled) + 1)):
                    del out[-2:]
                    out.append((head + typed, kata + respelled))
                    continue
            out.append((typed, respelled))
        return out

    @staticmethod
    def _offer(best: list, j: int, score: float, pieces: list[tuple[str, str]]) -> None:
        if best[j] is None or score > best[j][0]:
            best[j] = (score, pieces)

    def _finish_word(self, kanji: str, kana: str) -> str | None:
        """The kana that finishes a kanji word as a corpus noun (家庭 + ちょう → 庁), if any."""
        for start in range(len(kanji)):
            head = kanji[start:]
            morphemes = self.tokenizer.morphemes(head)
            reading = "".join(m.reading for m in morphemes) + to_katakana(kana)
            for word in self.lexicon().get(reading, [])[:5]:
                if word.startswith(head) and len(word) > len(head) and not _KANA_ONLY_RE.fullmatch(word[len(head):]):
                    return word[len(head):]
        return None

    # -- katakana slips ----------------------------------------------------------------------------

    def katakana_words(self) -> dict[str, list[str]]:
        """The corpus's katakana words (and katakana compounds) by their loose form, most frequent first."""
        with self._lock:
            if self._katakana is None:
                loose: dict[str, list[str]] = {}
                for word in {*self._vocabulary, *self._katakana_runs}:
                    if len(word) >= 3 and _KATAKANA_RE.fullmatch(word):
                        loose.setdefault(loose_katakana(word), []).append(word)
                self._katakana = self._most_frequent_first(loose)
            return self._katakana

    def _respell_katakana(self, text: str, changes: list[tuple[str, str]]) -> str:
        """A katakana word the corpus does not know, replaced by the corpus word it differs from only
        in a long vowel, a voicing mark or a small kana (マイナンバカード, ガバメントクラウト, サイバーポト),
        or by the corpus noun it reads as (フリガナ → 振り仮名: katakana typed for a word the plan
        writes in kanji)."""
        def corpus_word(part: str) -> str | None:
            if self.known(part) or part in self._katakana_runs:
                return part
            found = self.katakana_words().get(loose_katakana(part)) if len(part) >= 2 else None
            return found[0] if found else None

        def fix(m: re.Match[str]) -> str:
            word = m.group()
            if self.known(word) or word in self._katakana_runs:
                return word
            fixed = corpus_word(word) or self.written_in_kanji(word) or self.lettered(word, corpus_word)
            if fixed is None:
                # A compound the corpus writes as two words (マイナンバ|カード → マイナンバー|カード).
                for i in range(2, len(word) - 1):
                    left, right = corpus_word(word[:i]), corpus_word(word[i:])
                    if left and right and len(left) >= 3 and len(right) >= 3:
                        fixed = left + right
                        break
            if fixed is None or fixed == word:
                return word
            changes.append((word, fixed))
            return fixed

        return _KATAKANA_RUN_RE.sub(fix, text)

    def lettered(self, katakana: str, corpus_word: Callable[[str], str | None]) -> str | None:
        """Latin letters typed by their names (ジェイアラート → Jアラート, ジーアイジーエー → GIGA): the
        letters the word starts with, then the corpus katakana word that follows, if any."""
        letters, rest = "", katakana
        while rest:
            name = next((n for n in _LETTER_NAMES_LONGEST_FIRST if rest.startswith(n)), None)
            if name is None:
                break
            letters += _LETTER_NAMES[name]
            rest = rest[len(name):]
        if not letters or not self.known(letters.lower()):
            return None
        if not rest:
            return letters
        tail = corpus_word(rest)
        return letters + tail if tail else None

    def written_in_kanji(self, katakana: str) -> str | None:
        """The corpus noun with kanji that reads as ``katakana`` (a reading is katakana), used at
        least twice: the plan's spelling of a word typed by its sound."""
        for word in self.lexicon().get(katakana, []):
            if _HAS_KANJI_RE.search(word) and self.document_frequency(word) >= 2:
                return word
        return None

    # -- kanji homophones -------------------------------------------------------------------------

    def _respell_kanji(self, text: str, changes: list[tuple[str, str]]) -> str:
        """Kanji words and noun pairs the corpus does not know, replaced by a corpus word of the same
        reading and length that differs in one character."""
        morphemes = self.tokenizer.morphemes(text)
        for k, m in enumerate(morphemes):
            if m.pos1 not in _NOUN_POS or not _HAS_KANJI_RE.search(m.surface):
                continue
            spans = [[m]]
            if k + 1 < len(morphemes) and morphemes[k + 1].pos1 in _NOUN_POS:
                spans.insert(0, [m, morphemes[k + 1]])
            for span in spans:
                surface = "".join(x.surface for x in span)
                if self.known(surface) or surface not in text or len(surface) < 2:
                    continue
                # A single word the dictionary knows may just be absent from the plan (課長 is not a
                # typo of 課徴): only a word the plan uses often replaces it.
                word = self._homophone(surface, "".join(x.reading for x in span), 2 if len(span) > 1 else 5)
                if word:
                    text = text.replace(surface, word, 1)
                    changes.append((surface, word))
                    break
        return text

    def _homophone(self, surface: str, reading: str, min_df: int) -> str | None:
        for word in self.lexicon().get(reading, []):
            if len(word) == len(surface) and sum(a != b for a, b in zip(word, surface, strict=True)) == 1 \
                    and self.document_frequency(word) >= min_df:
                return word
        return None


__all__ = ["Respeller", "Respelling", "loose_katakana", "to_katakana"]
