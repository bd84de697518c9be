"""The intents table: what a question can ask, as data (``data/intents.toml``), compiled.

Fields a question asks for (主担当, 目標, 工程表, 一覧 …) and their renderers, the markers a
follow-up points back with, requests that are tasks rather than questions, and the kinds of fact a
policy plan does not hold. Adding an intent is one row in the TOML file, one renderer in
:mod:`assistant.composition` and one test with phrasings that are in neither eval suite.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

INTENTS_PATH = Path(__file__).resolve().parent / "data" / "intents.toml"



@dataclass(frozen=True)
class FieldIntent:
    """A field a question can ask for (主担当, 目標 …) and how it is answered."""

    name: str
    label: str
    renderer: str
    query: str  # words a follow-up inheriting this field adds to its retrieval query
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...] = ()  # ways of asking that look like this field and are not

    def matches(self, normalized: str) -> bool:
        return any(p.search(normalized) for p in self.patterns) and not any(p.search(normalized) for p in self.unless)


@dataclass(frozen=True)
class RequestKind:
    """A request that is not a question about the documents (write code, translate …)."""

    name: str
    label: str
    patterns: tuple[re.Pattern[str], ...]


# An embedded question (「年金がいくらになるか、」「いくらか確かめる」) followed by a question word of its
# own: the embedded one is what the asked thing is about, the later one what is asked.
_EMBEDDED_THEN_ASKS_RE = re.compile(r"^[^。？?]*?か(、|,|を|が|は|について|どうか|(?=確か|調べ|分か|わか|知ら|知れ|計算|試算|確認|見積|比べ))[^。？?]*?"
                                    r"(いつ|どこ|誰|だれ|何|どう|どれ|どの|どちら|いくつ|本当|ほんと)")


# A clause that ends by modifying a noun, then, after a comma, another question: 「利用料をまとめて払える
# ようにした法改正、どの国会で通った？」 asks which Diet session; 「手数料の支払いをキャッシュレスにする
# 施策、どれくらいある？」 how many measures. (「予算はいくら、いつから？」 asks both: no clause ends.)
_MODIFYING_CLAUSE_THEN_ASKS_RE = re.compile(
    r"^[^。？?、,]*?(する|した|できる|できた|られる|られた|れる|れた|ている|ていた|てる|てた|ような|ための)"
    r"[^。？?、,]{1,15}[、,][^。？?]*?(いつ|どこ|誰|だれ|どの|何年|何月|(どれくらい|どのくらい|いくつ|何件)(ある|あり))")


def _asks_here(match: re.Match[str], text: str) -> bool:
    """Whether a match of a kind's ``asks`` is the question's ask: not inside an embedded question
    that a later question word asks about (「いくらになるか計算できるサービスはいつから？」), nor inside
    a clause describing the subject of another question (see _MODIFYING_CLAUSE_THEN_ASKS_RE)."""
    rest = text[match.end():]
    return _EMBEDDED_THEN_ASKS_RE.match(rest) is None and _MODIFYING_CLAUSE_THEN_ASKS_RE.match(rest) is None


# Spaces between Japanese characters (PDF slides) or beside them.
_CJK_SPACE_RE = re.compile(r"(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f\d])|(?<=[^\x00-\x7f])\s+(?=\d)|(?<=\d)\s+(?=[^\x00-\x7f])")
# A figure right after the words that say it is today's (現状8週間, 時点で6割): the words in the next
# NOT_EVIDENCE_WINDOW characters say whether it is a target instead (時点で80%を目標).
_FIGURE_RIGHT_AFTER_RE = re.compile(r"(現状|現在|時点で|時点では|時点の)[はで]?\d[\d,.]*\s*\S{0,3}")
NOT_EVIDENCE_WINDOW = 6


@dataclass(frozen=True)
class MissingKind:
    """A kind of fact a policy plan does not hold unless a passage shows one (a budget, a name)."""

    name: str
    label: str
    asks: re.Pattern[str]
    evidence: re.Pattern[str] | None
    probe: str = ""  # words added to a second search for passages holding such a fact
    unless_fields: tuple[str, ...] = ()  # asked together with these fields, it is an ordinary question
    # …unless the question says plainly it wants this kind (「今何％？」 asks for today's rate, not a target)
    plainly: re.Pattern[str] | None = None
    # sentences that match ``evidence`` but state something else (a target: 「1,800件にする」)
    not_evidence: re.Pattern[str] | None = None
    # the counter asked (何台, 何枚) → how the plan writes a figure of it (人 → 人|名): a figure of
    # another counter (「約1,000万人」 for 「何台」) does not answer
    counters: tuple[tuple[str, str], ...] = ()
    # looked for in the whole text of the measure the answer is about (its targets give shares): a
    # question with no such measure is answered as usual, the kind being too common to refuse alone
    in_measure: bool = False
    # a figure of the quantity the question names, which a stating sentence must hold (see narrowed)
    figure: re.Pattern[str] | None = None

    def narrowed(self, normalized: str, quantities: Sequence[tuple[str, str]] = ()) -> MissingKind:
        """This kind with its evidence narrowed to the counter the question asks (「何台」), if any,
        or to a figure of the quantity it names (「利用件数」: a figure in 件)."""
        for counter, written in self.counters:  # longest first
            if re.search(f"何{re.escape(counter)}", normalized):
                return replace(self, evidence=re.compile(rf"\d[\d,.]*\s*(万|千|百)?\s*({written})"))
        for noun, written in quantities:
            if noun in normalized:
                return replace(self, figure=re.compile(rf"\d[\d,.]*\s*(万|千|百|億)?\s*({written})"))
        return self

    def stated_in(self, sentence: str) -> bool:
        """Whether a sentence states this kind of fact."""
        # (the slides' text is spaced out letter by letter: 「約 2 万 2 千 手 続」)
        sentence = _CJK_SPACE_RE.sub("", unicodedata.normalize("NFKC", sentence))
        if self.evidence is None or (self.figure is not None and not self.figure.search(sentence)):
            return False
        if self.not_evidence is None:
            return self.evidence.search(sentence) is not None
        for m in self.evidence.finditer(sentence):
            # a target beside the figure (「…時点で6割程度であることから、8割を目指す」 states both):
            # the clause of the figure says which one it is — or, for a figure written right after
            # 現状/時点で (「現状8週間の準備期間を3週間程度短縮することを目指す」), the words right after it
            start = max(sentence.rfind("、", 0, m.start()), sentence.rfind(",", 0, m.start())) + 1
            ends = [i for i in (sentence.find("、", m.end()), sentence.find(",", m.end())) if i >= 0]
            clause = sentence[start: min(ends) if ends else len(sentence)]
            if not self.not_evidence.search(clause):
                return True
            direct = _FIGURE_RIGHT_AFTER_RE.search(sentence, m.start(), m.end() + 1)
            if direct and not self.not_evidence.search(sentence[direct.start(): direct.end() + NOT_EVIDENCE_WINDOW]):
                return True
        return False

    def asked_in(self, normalized: str, fields: set[str]) -> bool:
        """Whether a question asks for this kind of fact (given the fields it asks for)."""
        if not any(_asks_here(m, normalized) for m in self.asks.finditer(normalized)):
            return False
        return not fields & set(self.unless_fields) or bool(self.plainly and self.plainly.search(normalized))


@dataclass(frozen=True)
class AskingWords:
    """How a request for information closes (``[asking]``): any other request is a task."""

    label: str
    verbs: frozenset[str]
    nouns: frozenset[str]
    shapes: frozenset[str]
    question_word: re.Pattern[str]


@dataclass(frozen=True)
class IntentTable:
    """Everything ``data/intents.toml`` holds, compiled."""

    fields: tuple[FieldIntent, ...]
    requests: tuple[RequestKind, ...]
    missing: tuple[MissingKind, ...]
    markers: dict[str, tuple[re.Pattern[str], ...]]
    # aspects a measure's body explains without naming them (背景, 成果, 仕組み): asked about, they
    # are answered by the body, so their word missing from it says nothing
    explained: re.Pattern[str] | None = None
    # how a question asks whether there is such a detail (「…はありますか」「…をもらえるの？」)
    detail_whether: re.Pattern[str] | None = None
    # what staff write before a question: greetings and tags (dropped), a lead-in clause (「…のですが、」)
    lead_in: dict[str, re.Pattern[str]] = field(default_factory=dict)
    # what a refusal offers instead: ``question`` after a question not answered, ``task`` after a request
    offers: dict[str, str] = field(default_factory=dict)
    asking: AskingWords | None = None
    # the quantity a question names → how the plan writes a figure of it (longest name first)
    quantities: tuple[tuple[str, str], ...] = ()

    def field(self, name: str) -> FieldIntent | None:
        return next((f for f in self.fields if f.name == name), None)

    def field_query(self, names: Sequence[str]) -> str:
        """The words the given fields add to a retrieval query (「主担当府省庁 目標」)."""
        return " ".join(f.query for name in names if (f := self.field(name)) is not None and f.query)

    def marker(self, name: str, text: str) -> re.Match[str] | None:
        for p in self.markers.get(name, ()):
            m = p.search(text)
            if m:
                return m
        return None


def _compile(patterns: str | Sequence[str]) -> tuple[re.Pattern[str], ...]:
    if isinstance(patterns, str):
        patterns = [patterns]
    return tuple(re.compile(p, re.I) for p in patterns)


@lru_cache(maxsize=4)
def load_intents(path: Path | str = INTENTS_PATH) -> IntentTable:
    """Read and compile the intents table (cached: it is read once per process)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    fields = tuple(
        FieldIntent(r["name"], r["label"], r.get("renderer", r["name"]), r.get("query", ""), _compile(r["patterns"]),
                    _compile(r.get("unless", ())))
        for r in data.get("field", [])
    )
    requests = tuple(RequestKind(r["name"], r["label"], _compile(r["patterns"])) for r in data.get("request", []))
    missing = tuple(
        MissingKind(r["name"], r["label"], re.compile(r["asks"], re.I),
                    re.compile(r["evidence"], re.I) if r.get("evidence") else None, r.get("probe", ""),
                    tuple(r.get("unless_fields", ())),
                    re.compile(r["plainly"], re.I) if r.get("plainly") else None,
                    re.compile(r["not_evidence"], re.I) if r.get("not_evidence") else None,
                    tuple(sorted(r.get("counters", {}).items(), key=lambda kv: -len(kv[0]))),
                    bool(r.get("in_measure", False)))
        for r in data.get("missing", [])
    )
    markers = {k: _compile(v) for k, v in data.get("conversation", {}).items()}
    explained = data.get("detail", {}).get("explained")
    whether = data.get("detail", {}).get("asks_whether")
    lead_in = {k: re.compile(v, re.I) for k, v in data.get("lead_in", {}).items()}
    offers = {k: str(v) for k, v in data.get("offer", {}).items()}
    a = data.get("asking")
    asking = AskingWords(a["label"], frozenset(a["verbs"]), frozenset(a["nouns"]), frozenset(a["shapes"]),
                         re.compile(a["question_word"])) if a else None
    return IntentTable(fields=fields, requests=requests, missing=missing, markers=markers, offers=offers,
                       asking=asking,
                       quantities=tuple(sorted(data.get("quantities", {}).items(), key=lambda kv: -len(kv[0]))),
                       explained=re.compile(explained, re.I) if explained else None, lead_in=lead_in,
                       detail_whether=re.compile(whether, re.I) if whether else None)


# 「目標じゃなくて現状の数字で」: a field named only to be ruled out is not asked for.
_NEGATED_RE = re.compile(r"[^\s、。？?]{1,10}?(?:ではなく|じゃなくて|じゃなく|でなく|ではなくて)")


# A clause ending in a verb right before 施策 (「…にしてる施策」「…に沿って進める施策」「…した取組」)
# says which measures: the noun it modifies is what is asked.
_CLAUSE_BEFORE_MEASURES_RE = re.compile(r"([てで](い)?る|てく|する|した|できる|に沿った|向けた)(施策|取組|取り組み)")


# A clause saying when or in which case (「…を変えるときって、」「…する場合は、」), ending on a verb or
# an adjective (not 「目標の時期は」: 時期 is no clause)
_CONDITION_CLAUSE_RE = re.compile(r"^[^。？?]{2,60}?([うくすつぬむるぐぶ]|た|だ|い)(とき|時|場合|際)(って|は|には|に|でも)?[、,\s]")

# A question asking what something is or does, whatever it names: 「どういう申請が対象？」「何をする事業？」
_ASKS_WHAT_RE = re.compile(r"どういう|どんな|どのような|何を|何が|なにを|どう(する|なる|変わ|いう)")


def detect_fields(normalized: str, table: IntentTable | None = None) -> list[str]:
    """Every field asked for, in priority order (「担当と目標は？」 asks for two); ``["general"]`` if none."""
    table = table or load_intents()
    normalized = _NEGATED_RE.sub(" ", normalized)
    condition = _CONDITION_CLAUSE_RE.match(normalized)
    rest = normalized[condition.end():] if condition else ""
    if condition and (_ASKS_WHAT_RE.search(rest) or any(f.matches(rest) for f in table.fields)):
        # 「目標を見直す場合に、どんな手続が要る？」: a field word inside a clause saying when
        # is part of the situation; what is asked comes after it
        normalized = normalized[condition.end():]
    found = [f.name for f in table.fields if f.matches(normalized)]
    if "list" in found and found[0] != "list" and _CLAUSE_BEFORE_MEASURES_RE.search(normalized):
        # 「満足度を目標にしてる施策はどれがある？」「ロードマップに沿って進める施策は？」: the field
        # word describes which measures are asked for; the question asks for the measures.
        found.remove("list")
        found.insert(0, "list")
    if found and "what" not in found:
        # 「No. 2-5って、どんな事業？目標は？」: two questions in one turn; the one no field
        # word names asks what the measure is about, besides the field the other one asks.
        parts = [p for p in re.split(r"[？?]", normalized) if p.strip(" 、。")]
        if len(parts) >= 2 and any(_ASKS_WHAT_RE.search(p) and not any(f.matches(p) for f in table.fields)
                                   for p in parts):
            found.append("what")
    # "related" asks about ministries too, so it replaces "lead" rather than adding to it.
    if "related" in found and "lead" in found:
        found.remove("lead")
    return found or ["general"]


def detect_intent(normalized: str) -> str:
    """The main field asked for."""
    return detect_fields(normalized)[0]


def request_kind(normalized: str, table: IntentTable | None = None) -> RequestKind | None:
    """The kind of task the turn asks the assistant to do, when it is not a question about the plan."""
    table = table or load_intents()
    for kind in table.requests:
        if any(p.search(normalized) for p in kind.patterns):
            return kind
    return None


def missing_kind(normalized: str, table: IntentTable | None = None) -> MissingKind | None:
    """The kind of fact asked for that plans usually do not hold (a budget, a current rate, a name)."""
    table = table or load_intents()
    fields = set(detect_fields(normalized, table))
    kind = next((k for k in table.missing if k.asked_in(normalized, fields)), None)
    return kind.narrowed(normalized, table.quantities) if kind is not None else None


__all__ = [
    "INTENTS_PATH", "AskingWords", "FieldIntent", "IntentTable", "MissingKind", "RequestKind", "detect_fields", "detect_intent",
    "load_intents", "missing_kind", "request_kind",
]
