"""Understanding a question: input checks, what is asked, and what a follow-up refers to.

All of this is rule-based and data-light on purpose: it must work without an LLM, in
microseconds, and be predictable for staff ("No. 1-57 の主担当は？" always means the catalog field).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.catalog import find_measure_nos

# Characters that can't be displayed or stored safely: C0/C1 controls (except tab/newline),
# lone surrogates, non-characters. They are removed, not rejected.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_CITATION_RE = re.compile(r"\[No\.\s*(\d+-\d+)\]")


# Retrieval and sentence scoring look at this much of a question: staff questions are short, and a
# pasted page would otherwise cost seconds of embedding and scoring for no better answer.
MAX_QUERY_CHARS = 300


class InvalidQuestion(ValueError):
    """The question is empty or too long. ``str(exc)`` is a Japanese message for the user."""

    def __init__(self, message: str, *, reason: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason  # "empty" or "too_long"
        self.limit = limit


def clean_question(question: object, max_chars: int) -> str:
    """Normalise user input; raise :class:`InvalidQuestion` for empty or over-long questions."""
    if not isinstance(question, str):
        raise InvalidQuestion("質問は文字列で入力してください。", reason="empty")
    text = _SURROGATE_RE.sub("", question)
    text = _CONTROL_RE.sub(" ", text)
    text = re.sub(r"[ \t\u3000]+", " ", text).strip()
    if not text:
        raise InvalidQuestion("質問が空です。施策の番号（例: No. 1-57）や知りたいことを入力してください。", reason="empty")
    if len(text) > max_chars:
        raise InvalidQuestion(
            f"質問が長すぎます（{len(text):,}文字）。{max_chars:,}文字以内で入力してください。",
            reason="too_long", limit=max_chars,
        )
    return text


# --- what is asked ---------------------------------------------------------------------------

# Ordered: the first matching intent wins when several apply.
_INTENT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("related", re.compile(r"関係府省|関係省庁|関係する省庁|関係して(いる|る)(府省|省庁|官庁)|関わる(府省|省庁)|関係機関|連携(する|している)?(府省|省庁)|協力(する|している)?(府省|省庁)|related ministr", re.I)),
    ("lead", re.compile(r"主担当|担当(府省|省庁|は|して|する|の省|官庁|部署)|所管|どこの(省|府省|役所|官庁)|どの(省|府省|役所|官庁)|どこが(担当|やって|進め|所管|主導)|どこがやる|lead ministr|which ministry|responsible", re.I)),
    ("roadmap", re.compile(r"工程表|工程|スケジュール|ロードマップ|取組内容の見出し|roadmap|schedule", re.I)),
    ("targets", re.compile(r"目標|KPI|いつまで|何年|何%|何％|数値|達成|目指|期限|時期|ゴール|target|goal|by when", re.I)),
    ("topic", re.compile(r"(どんな|どのような|どういう|何か|関連する|関係する|主な)(施策|取組|取り組み)|(施策|取組|取り組み)(番号)?(は[？?]|はどれ|はどの|はある|はあります|はどこ|を(いくつか|教えて|挙げ|探し|まとめ|知りたい|一覧|リスト))|施策の一覧|一覧|(関連|関係)(する|の)?施策|(に|へ)(関わる|関係する|関連する|関する)施策|which measures|what measures|list (the )?measures", re.I)),
    ("what", re.compile(r"とは|概要|内容|何をする|何をやる|どんなこと|説明|教えて|について|what is|what does|describe", re.I)),
]

_FOLLOWUP_RE = re.compile(
    r"^(その|それ|この|あの|これ|上記|前記|同じ|さっき|先ほど|先程|今の|そちら|それら|そっち)|"
    r"(その|それ|この|上記|前の|さっきの|先ほどの)(施策|取組|取り組み|計画|目標|件|担当|KPI)|"
    r"(\d+|[一二三四五六七八九十]+|最初|最後|一番目|ひとつ目|ふたつ目|みっつ目)(つ目|番目|個目)?の(施策|もの|やつ|方|取組)?|"
    r"^(それは|それって|で、|じゃあ|では|じゃ)|前者|後者|^(主担当|担当|目標|KPI|工程表|関係府省庁)(は|って)?[？?]?$"
)
_ORDINAL_RE = re.compile(r"(\d+|[一二三四五六七八九十]|ひと|ふた|みっ|よっ|いつ)(つ目|番目|個目)|(最初|一番目|1番目|前者)|(最後|後者)")
_KANJI_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
              "ひと": 1, "ふた": 2, "みっ": 3, "よっ": 4, "いつ": 5}

_EDITION_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("cio-forum-2021", re.compile(r"CIO|フォーラム|スライド|デジタルサービス局|改革関連法|デジタル庁の(設置|発足|組織|ミッション|バリュー|ビジョン)", re.I)),
    ("plan2021-education", re.compile(r"(2021|令和3|令和３|前の|旧|最初の)[^。]{0,20}(教育|学校|初等中等|GIGA)|(教育|学校|初等中等)[^。]{0,20}(2021|令和3)|初等中等教育")),
    ("plan2021-outline", re.compile(r"構成イメージ|構成案|新重点計画|(2021|令和3)[^。]{0,15}(構成|骨子|案)")),
    ("plan2024-summary", re.compile(r"2024|令和6|令和６|昨年の|前年の|去年の|ウェブページ|webページ|ホームページの要約")),
]


# Kinds of information the documents do not hold, whatever the topic: a policy plan has no
# people's names, vendors, personal account help, opinions, live data, future editions or other
# countries' plans. (kind, how the question asks for it, what a passage must contain to answer it
# anyway — None when no passage can.) A question asking for one of these is abstained on unless
# the best passage really holds that kind of information.
ANSWER_TYPES: list[tuple[str, re.Pattern[str], re.Pattern[str] | None]] = [
    ("money", re.compile(r"いくら|何円|金額|予算(額|は|規模|の額)|費用は|コストは|how much", re.I),
     re.compile(r"\d[\d,.]*\s*(億|兆|万|千)?\s*円")),
    ("person", re.compile(r"(誰|だれ|どなた)(?!一人|ひとり|もが|でも|が(担当|所管|主導|やって|進め|仕切))|氏名|who is (?!in charge|responsible)", re.I), None),
    ("company", re.compile(r"社名|会社名|企業名|どこの会社|どの会社|ベンダー名|which compan", re.I), None),
    ("personal_help", re.compile(r"(忘れ|なくし|無くし|紛失).{0,12}(方法|手順|どう|再|教えて)|再設定|再発行の(方法|手順)|パスワード|暗証番号|ログインできない"), None),
    ("opinion", re.compile(r"おすすめ|オススメ|どっちがいい|どれがいい|どちらがいい|ランキング|which is better", re.I), None),
    ("live_info", re.compile(r"天気|株価|優勝|開いていますか|開いてる|営業時間|倍率|weather|stock price", re.I), None),
    ("future_plan", re.compile(r"(20[3-9]\d|202[6-9])年(版|度版)?の(重点)?計画|(202[6-9]|20[3-9]\d)年に改定|次期(重点)?計画|来年の(重点)?計画"), None),
    ("foreign_plan", re.compile(r"(韓国|エストニア|米国|アメリカ|中国|英国|イギリス|ドイツ|フランス|シンガポール|台湾|デンマーク)の(デジタル|電子政府|計画|政策|重点|e-)"), None),
    ("public_comment", re.compile(r"パブリックコメント.{0,12}(何件|件数|寄せられ)"), None),
    ("current_officials", re.compile(r"(現在|今)の.{0,6}(大臣|長官|総理|首相)"), None),
]


def unanswerable_kind(normalized: str) -> tuple[str, re.Pattern[str] | None] | None:
    """The kind of information asked for that the documents don't hold, with its evidence test."""
    for kind, asks, evidence in ANSWER_TYPES:
        if asks.search(normalized):
            return kind, evidence
    return None


# 「2021年の計画」「令和3年時点」: an edition named by its year (the plan editions held are 2021, 2024, 2025).
_YEAR_RE = re.compile(r"(2021|2024|令和3|令和6)年(?:の|版|時点|度版|当時)")
_ERA_YEARS = {"令和3": 2021, "令和6": 2024}


@dataclass
class QuestionAnalysis:
    """What the answerer needs to know about a question."""

    text: str  # cleaned question as typed
    normalized: str  # NFKC
    intent: str  # "lead", "related", "targets", "roadmap", "topic", "what", "general"
    intents: list[str] = field(default_factory=list)  # all fields asked for, intent first
    measure_nos: list[str] = field(default_factory=list)  # numbers written in the question
    referenced_measures: list[str] = field(default_factory=list)  # from the previous turn
    is_followup: bool = False
    retrieval_query: str = ""  # question + context from history for retrieval
    preferred_doc: str | None = None  # when the wording points at an older document
    preferred_edition: int | None = None  # 「2021年の計画では…」 without naming the document
    english: bool = False
    context_measures: list[str] = field(default_factory=list)  # cited in the previous answer
    # (kind, evidence pattern) when the question asks for something the documents don't hold
    unanswerable: tuple[str, re.Pattern[str] | None] | None = None


def detect_intents(normalized: str) -> list[str]:
    """Every field asked for, in priority order (「担当と目標は？」 asks for two)."""
    found = [name for name, pattern in _INTENT_PATTERNS if pattern.search(normalized)]
    # "related" asks about ministries too, so it replaces "lead" rather than adding to it.
    if "related" in found and "lead" in found:
        found.remove("lead")
    return found or ["general"]


def detect_intent(normalized: str) -> str:
    """The main thing asked for."""
    return detect_intents(normalized)[0]


def cited_measures(text: str) -> list[str]:
    """Measure numbers cited as ``[No. X-Y]`` in an earlier answer, in order, without repeats."""
    out: list[str] = []
    for m in _CITATION_RE.finditer(unicodedata.normalize("NFKC", text)):
        if m.group(1) not in out:
            out.append(m.group(1))
    return out


def _ordinal(normalized: str) -> int | None:
    m = _ORDINAL_RE.search(normalized)
    if not m:
        return None
    if m.group(3):
        return 1
    if m.group(4):
        return -1
    token = m.group(1)
    if token.isdigit():
        return int(token)
    return _KANJI_NUM.get(token)


def _message_text(message: dict) -> str:
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # Gradio 6 sends a list of parts; only text parts count
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return "" if content is None else str(content)


def normalize_history(history: Sequence[dict] | None, max_turns: int) -> list[dict[str, str]]:
    """Keep well-formed ``{"role", "content"}`` turns (OpenAI/Gradio format), the last ``max_turns``."""
    out: list[dict[str, str]] = []
    for message in history or []:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        text = _SURROGATE_RE.sub("", _message_text(message))
        out.append({"role": message["role"], "content": _CONTROL_RE.sub(" ", text)[:20000]})
    return out[-max_turns * 2 :] if max_turns > 0 else []


def analyse(question: str, history: Sequence[dict] | None = None) -> QuestionAnalysis:
    """Intent, measure numbers, follow-up references and the query to retrieve with."""
    normalized = unicodedata.normalize("NFKC", question)
    intents = detect_intents(normalized)
    intent = intents[0]
    measure_nos = find_measure_nos(normalized)
    english = not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", normalized)
    analysis = QuestionAnalysis(
        text=question, normalized=normalized, intent=intent, intents=intents, measure_nos=measure_nos,
        retrieval_query=question[:MAX_QUERY_CHARS], english=english, unanswerable=unanswerable_kind(normalized),
    )
    for doc_id, pattern in _EDITION_PATTERNS:
        if pattern.search(normalized):
            analysis.preferred_doc = doc_id
            break
    if analysis.preferred_doc is None:
        year = _YEAR_RE.search(normalized)
        if year:
            analysis.preferred_edition = _ERA_YEARS.get(year.group(1), None) or int(year.group(1))

    history = list(history or [])
    last_answer = next((_message_text(m) for m in reversed(history) if m.get("role") == "assistant"), "")
    last_question = next((_message_text(m) for m in reversed(history) if m.get("role") == "user"), "")
    if measure_nos or not history:
        return analysis
    # Measures of the conversation so far: retrieval prefers them when they fit the question.
    analysis.context_measures = cited_measures(last_answer)
    looks_followup = bool(_FOLLOWUP_RE.search(normalized)) or len(normalized) <= 12
    if not looks_followup:
        return analysis
    previous = cited_measures(last_answer)
    analysis.is_followup = True
    n = _ordinal(normalized)
    if n is not None and n > len(previous):
        # 「2つ目」 may point back past a one-measure answer to an earlier list.
        for m in reversed(history):
            earlier = cited_measures(_message_text(m)) if m.get("role") == "assistant" else []
            if len(earlier) >= n:
                previous = earlier
                break
    if previous:
        if n is not None and n != 0 and abs(n) <= len(previous):
            analysis.referenced_measures = [previous[n - 1] if n > 0 else previous[-1]]
        else:
            analysis.referenced_measures = previous[:1]
    # Retrieval sees the earlier question too, so 「それはいつまで？」 keeps its topic.
    # Both parts are capped: history comes from the client and may be long.
    analysis.retrieval_query = f"{last_question[:100]} {question}".strip()[:MAX_QUERY_CHARS]
    if analysis.preferred_doc is None:
        for doc_id, pattern in _EDITION_PATTERNS:
            if pattern.search(unicodedata.normalize("NFKC", last_question)):
                analysis.preferred_doc = doc_id
                break
    return analysis
