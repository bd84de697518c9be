"""Whether a turn asks the assistant to do a task, read from the predicate its sentences close on.

The request kinds of the intents table describe known tasks (code, verse, translation, a pasted
text to rework, a change of role). A task nobody listed still closes the way requests do: a
Japanese request ends on a verb in the て-form (「…して」「…してください」「…してもらえますか」),
on an imperative (「…しなさい」) or on a thing asked for (「…をお願い」「…を5案ください」). What a
request for information can close on is a small, closed set — 教えて, 挙げて, 説明して, 一覧にして,
「目標をお願い」 (``[asking]`` in ``data/intents.toml``). Any other verb, or any other thing, is a task:
「四コマ漫画のネタを練っといて」「落語の小噺をこしらえて」「運勢を占ってください」「寄せ書きの言葉を3案ください」.

Quoted text (「…」『…』) is the material of a request, not the request: it is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from assistant.intents import IntentTable, RequestKind, detect_fields
from assistant.tokenizer import JapaneseTokenizer, Morpheme

# Sentences end at these; a colon introduces the text a request works on (「次のJSONを整形して: {…}」).
_SENTENCE_END_RE = re.compile(r"[。！!？?\n:：]")
_QUOTED_RE = re.compile(r"「[^「」]*」|『[^『』]*』|\"[^\"]*\"")

# What may follow the verb of a request: the verbs and adjectives that make the て-form polite or
# ask for it (くださる, くれる, もらう, いただく, ほしい), the ones that soften it (みる, おく), their
# auxiliaries (ます, ない, たい) and final particles.
_AFTER_TE = frozenset({"くださる", "下さる", "くれる", "呉れる", "もらう", "貰う", "もらえる", "いただく", "頂く",
                       "いただける", "頂ける", "ほしい", "欲しい", "みる", "見る", "おく", "置く", "ちょうだい"})
_POLITE_AUX = frozenset({"ます", "ない", "たい", "です"})
# 「作っといて」「練習させて」: an auxiliary between the verb and て (とく, causative せる/させる)
_BEFORE_TE_AUX = frozenset({"とく", "せる", "させる"})
# 「…をお願いします」「…を5案ください」: a thing asked for
_THING_ASKED_RE = re.compile(r"^(\d+[^\d\s]{0,2})?(お願い|おねがい|ください|下さい|ちょうだい|頂戴|頼む|頼みます|ほしい|欲しい)"
                             r"(します|いたします|致します|できますか|できる|したい|です|ね|な|よ|か|[。、,!！\s])*$")
_IMPERATIVE = "命令形"
# Verbs that ask for things to be listed (「…を洗い出して」「…を挙げて」): what they list must be
# things the documents name. Test cases, interview questions or risks to check that no document
# names can only be made up by the assistant — a task, however the verb asks.
_LISTING_VERBS = frozenset({"洗い出す", "挙げる", "列挙", "書き出す", "抜き出す", "拾う", "アップ", "ピックアップ", "出す"})
# verbs that make postpositions with に or と: について, に関して, に対して, によって, に向けて, に際して, として
_POSTPOSITION_VERBS = frozenset({"就く", "付く", "つく", "関する", "対する", "因る", "依る", "向ける", "際する", "為る", "於く",
                                 "沿う", "基づく", "伴う", "渡る", "亘る", "比べる"})


def _is_te(m: Morpheme) -> bool:
    return m.pos1 == "助詞" and m.surface in ("て", "で")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END_RE.split(_QUOTED_RE.sub("「」", text)) if s.strip()]


def _noun_run(ms: Sequence[Morpheme], end: int) -> str:
    """The nouns (with their prefixes and suffixes) right before index ``end``: what a request's
    verb takes as its object when a particle stands at ``end`` (「担当省庁も書いて」 → 担当省庁)."""
    start = end
    while start > 0 and (ms[start - 1].pos1 in ("名詞", "接頭辞", "接尾辞")
                         or (ms[start - 1].surface == "の" and start - 1 > 0 and ms[start - 2].pos1 == "名詞")):
        start -= 1
    return "".join(m.surface for m in ms[start:end])


def _peel(ms: Sequence[Morpheme]) -> tuple[int, str] | None:
    """The index of the word a request closes on, and how it closes (``te``, ``imperative``,
    ``thing``); None when the sentence is no request."""
    # 「…をお願いします」「…を3案ください」: the thing before を is what is asked for
    wo = max((k for k, m in enumerate(ms) if m.surface == "を" and m.pos1 == "助詞"), default=-1)
    if wo > 0 and _THING_ASKED_RE.match("".join(m.surface for m in ms[wo + 1:])):
        return wo - 1, "thing"
    i = len(ms) - 1
    while i >= 0 and (ms[i].pos1 in ("補助記号", "空白") or (ms[i].pos1 == "助詞" and ms[i].pos2 == "終助詞")
                      or (ms[i].pos1 == "助動詞" and ms[i].base in _POLITE_AUX)):
        i -= 1
    if i < 0:
        return None
    te = _is_te(ms[i])
    if te:  # 「…して」
        i -= 1
    # 「…してください」「…してみてもらえますか」「…しておいて」
    while i >= 1 and ms[i].base in _AFTER_TE and _is_te(ms[i - 1]):
        i, te = i - 2, True
    if not te:
        # 「答えなさい」: なさい after the verb; 「書け」: the verb itself
        if ms[i].base in ("なさる",) and ms[i].form.startswith(_IMPERATIVE) and i >= 1:
            return i - 1, "imperative"
        if ms[i].pos1 == "動詞" and ms[i].form.startswith(_IMPERATIVE) and ms[i].base not in _AFTER_TE:
            return i, "imperative"
        return None
    while i >= 1 and ms[i].pos1 == "助動詞" and ms[i].base in _BEFORE_TE_AUX:
        i -= 1
    return (i, "te") if i >= 0 else None


class TaskRequestReader:
    """Reads whether a turn closes on a request for something other than what the documents say."""

    def __init__(self, tokenizer: JapaneseTokenizer, table: IntentTable,
                 named_in_documents: Callable[[str], bool] | None = None) -> None:
        """``named_in_documents``: whether the documents name a thing (a noun compound); without
        it, whatever a listing verb lists is taken for the documents' own."""
        self.tokenizer = tokenizer
        self.table = table
        self.named_in_documents = named_in_documents
        asking = table.asking
        self.kind = RequestKind("task", asking.label, ()) if asking else None

    def asks_information(self, word: Morpheme, phrase: str) -> bool:
        """Whether ``word`` (the head of a request) or ``phrase`` (the thing it takes) asks for what
        the documents say."""
        asking = self.table.asking
        forms = {word.base, word.lemma, word.surface}
        if forms & (asking.verbs | asking.nouns):
            return True
        if word.pos1 == "名詞" and self.table.explained is not None and self.table.explained.match(word.surface):
            return True
        return any(f != "general" for f in detect_fields(phrase, self.table))

    def closing_task(self, sentence: str) -> str | None:
        """The word a sentence's request closes on, when it asks for a task; None otherwise."""
        asking = self.table.asking
        if asking.question_word.search(sentence):
            return None
        ms = self.tokenizer.morphemes(sentence)
        found = _peel(ms)
        if found is None:
            return None
        i, how = found
        head = ms[i]
        if how == "thing":
            thing = _noun_run(ms, i + 1)
            return None if head.pos1 != "名詞" or self.asks_information(head, thing) else head.surface
        if head.base == "する" and i >= 1:
            before = ms[i - 1]
            if before.pos1 == "名詞" and before.pos3 == "サ変可能":  # 説明して, 計算して
                head, i = before, i - 1
            elif before.surface == "に" and i >= 2:  # 一覧にして, お話にして
                shape = ms[i - 2]
                if shape.pos1 != "名詞":
                    return None
                return None if shape.surface in asking.shapes or shape.base in asking.shapes else shape.surface
            elif before.surface == "を" and i >= 2 and ms[i - 2].pos1 == "名詞":  # 説明をして, 相手をして
                head, i = ms[i - 2], i - 2
            else:
                return None
        elif head.pos1 != "動詞" and not (head.pos1 == "名詞" and head.pos3 == "サ変可能"):
            return None
        if head.pos1 == "動詞" and head.base in _AFTER_TE | {"する", "なる", "ある", "いる"}:
            return None
        # 「…について」「…に関して」「…に向けて」: a postposition, not a request
        if head.pos1 == "動詞" and i >= 1 and ms[i - 1].surface in ("に", "と") and {head.lemma, head.base} & _POSTPOSITION_VERBS:
            return None
        # 「もう少し詳しく書いて」: only how the answer is written, with nothing to write
        if i >= 1 and ms[i - 1].pos1 in ("副詞", "形容詞") and not any(m.surface == "を" for m in ms[:i]):
            return None
        # the thing the verb takes: 「担当省庁も書いて」 asks for a field
        thing = _noun_run(ms, i - 1) if i >= 1 and ms[i - 1].surface in ("を", "も", "は") else ""
        if {head.base, head.lemma} & _LISTING_VERBS and self.lists_unnamed_things(ms, i):
            return head.base
        return None if self.asks_information(head, thing) else head.base

    def lists_unnamed_things(self, ms: Sequence[Morpheme], verb: int) -> bool:
        """Whether the object of a listing verb (the nouns before its を, adverbials between them
        and the verb allowed: 「確認すべきテストケースを表で洗い出して」) holds a word no document uses,
        and does not end on an aspect asked of a subject (要点, 事例)."""
        if self.named_in_documents is None:
            return False
        wo = max((k for k in range(verb) if ms[k].surface == "を" and ms[k].pos1 == "助詞"), default=-1)
        if wo < 1:
            return False
        # what the thing is: its last noun compound (「確認すべきテストケース」 → テストケース)
        start = wo
        while start > 0 and ms[start - 1].pos1 in ("名詞", "接頭辞", "接尾辞"):
            start -= 1
        head = "".join(m.surface for m in ms[start:wo])
        thing = _noun_run(ms, wo)
        # (the words for fields, 目標 or 工程表, are the documents' own: only the aspects and things
        # asked by name that a plan need not use, 要点 or 事例, are checked apart)
        explained = self.table.explained
        if not head or head in self.table.asking.nouns or (explained is not None and explained.match(head)):
            return False
        return not self.named_in_documents(thing)

    def request(self, normalized: str) -> RequestKind | None:
        """A task the turn asks for, read from how one of its sentences closes."""
        if self.kind is None:
            return None
        for sentence in _sentences(normalized):
            if self.closing_task(sentence) is not None:
                return self.kind
        return None


__all__ = ["TaskRequestReader"]
