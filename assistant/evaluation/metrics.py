"""Metric functions and their aggregation, the threshold gate and run-to-run comparison.

Everything here is pure (no index, no model): the functions take rankings, citations and texts
and return numbers, so they can be checked on hand-made inputs.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_WS = re.compile(r"\s+")
_SUP = re.compile(r"<sup>[^<]*</sup>", re.I)
_TAG = re.compile(r"<[^>]{1,20}>")
_BRACKET_NO = re.compile(r"\[\s*No\.?\s*(\d{1,2})\s*-\s*(\d{1,3})\s*\]", re.I)

# Phrase the LLM prompt prescribes and the extractive abstention contains; an answer stating it
# abstains in substance even when the flag is not set (e.g. an LLM answering "no information").
ABSTENTION_PHRASE = "計画には記載がありません"

# Categories the assistant must decline: out_of_scope (the documents do not answer it) and
# task_request (not a question about the plan: write code, a poem, translate, reveal the prompt…).
# Both are scored for abstention; task_request is reported apart as ``task_declined``.
DECLINE_CATEGORIES = frozenset({"out_of_scope", "task_request"})
# Answerable categories whose question asks for one fact (a ministry, a target, a year): the
# answer length of these is reported as ``answer_chars_p50`` (short, direct answers are better).
SINGLE_FACT_CATEGORIES = frozenset({"lookup", "factual", "followup", "conversation"})
# A LIST question: a topic item with at least this many expected measures (list_recall).
LIST_MIN_EXPECTED = 3


# --- matching --------------------------------------------------------------------------------


def match_key(text: str) -> str:
    """The form facts are compared in: footnote tags dropped, NFKC, no whitespace (README rules)."""
    text = _TAG.sub("", _SUP.sub("", text or ""))
    return _WS.sub("", unicodedata.normalize("NFKC", text))


def bracketed_measures(text: str) -> list[str]:
    """Measure numbers cited as ``[No. X-Y]`` in a text (NFKC, in order, deduplicated)."""
    out: list[str] = []
    for m in _BRACKET_NO.finditer(unicodedata.normalize("NFKC", text or "")):
        no = f"{int(m.group(1))}-{int(m.group(2))}"
        if no not in out:
            out.append(no)
    return out


def dedupe(values: Iterable[str | None]) -> list[str]:
    """Values in first-seen order, without repeats and without empty entries."""
    out: list[str] = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


# --- per-item metrics --------------------------------------------------------------------------


def hit_at_k(ranking: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """1.0 if any relevant id is among the first ``k`` of ``ranking``, else 0.0."""
    rel = set(relevant)
    return 1.0 if any(r in rel for r in ranking[:k]) else 0.0


def reciprocal_rank(ranking: Sequence[str], relevant: Iterable[str], k: int | None = None) -> float:
    """1/rank of the first relevant id (0.0 when none is found within ``k``)."""
    rel = set(relevant)
    for i, r in enumerate(ranking[:k] if k else ranking, start=1):
        if r in rel:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranking: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k over a deduplicated ranking."""
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(ranking[:k]) if r in rel)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), k)))
    return dcg / ideal


def precision_counts(cited: Sequence[str], acceptable: Iterable[str]) -> tuple[int, int]:
    """``(correct, total)`` for cited ids; pooled over items this gives citation precision."""
    ok = set(acceptable)
    return sum(1 for c in cited if c in ok), len(cited)


def recall(found: Iterable[str], expected: Sequence[str]) -> float:
    """Share of ``expected`` present in ``found`` (1.0 when nothing is expected)."""
    if not expected:
        return 1.0
    got = set(found)
    return sum(1 for e in expected if e in got) / len(expected)


def facts_found(facts: Sequence[str], text: str) -> list[bool]:
    """For each fact, whether it occurs in ``text`` after :func:`match_key` on both sides."""
    key = match_key(text)
    return [match_key(f) in key for f in facts]


def fact_recall(facts: Sequence[str], text: str) -> float:
    """Share of ``facts`` found in ``text`` (1.0 when there are none)."""
    found = facts_found(facts, text)
    return sum(found) / len(found) if found else 1.0


def is_abstention(text: str, flagged: bool) -> bool:
    """The answer declines: the system's flag, or the answer states the plan has no record."""
    return flagged or ABSTENTION_PHRASE in match_key(text)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# --- scoring one item ----------------------------------------------------------------------


@dataclass
class ItemScore:
    """The metrics of one system on one item; None where a metric does not apply."""

    item_id: str
    system: str
    category: str
    turn: int | None
    answerable: bool
    measure_item: bool
    hit_at_1: float | None = None
    hit_at_5: float | None = None
    hit_at_10: float | None = None
    rr: float | None = None
    ndcg_at_10: float | None = None
    cited_ok: int = 0
    cited_total: int = 0
    citation_recall: float | None = None
    doc_hit_at_1: float | None = None
    doc_hit_at_5: float | None = None
    doc_cited_ok: int = 0
    doc_cited_total: int = 0
    doc_citation_recall: float | None = None
    facts_total: int = 0
    facts_ok: int = 0
    list_item: bool = False  # topic item with >= LIST_MIN_EXPECTED expected measures
    first_line_fact: float | None = None  # answerable items with facts: a fact in the first answer line
    answer_chars: int | None = None  # single-fact answerable items answered (not abstained): answer length
    abstained: bool = False
    abstention_ok: bool | None = None  # out_of_scope and task_request only
    invented: list[str] = field(default_factory=list)  # cited numbers that are not in the plan
    latency_ms: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_item(
    item: dict[str, Any],
    *,
    system: str,
    ranking: Sequence[str],
    ranked_docs: Sequence[str],
    cited: Sequence[str],
    cited_docs: Sequence[str],
    text: str,
    abstained: bool,
    latency_ms: float,
    known_measures: set[str] | frozenset[str],
    error: str | None = None,
    first_line: str | None = None,
    answer: str | None = None,
) -> ItemScore:
    """Score one system output against one item.

    ``ranking``: deduplicated measure numbers, best first. ``ranked_docs``: the doc id of each
    ranked hit, best first (not deduplicated). ``cited``: cited measure numbers;
    ``cited_docs``: the doc id of each distinct citation. ``text``: answer text plus quotes.
    ``first_line``: the first line of the answer as shown (for ``first_line_fact``); ``answer``:
    the answer as shown (for ``answer_chars``). Both optional: without them those metrics are None.
    """
    expected = list(item.get("expected_measures") or [])
    relevant = set(item.get("acceptable_measures") or []) | set(expected)
    category = item["category"]
    answerable = category not in DECLINE_CATEGORIES
    s = ItemScore(
        item_id=item["id"], system=system, category=category, turn=item.get("turn"),
        answerable=answerable, measure_item=bool(expected), latency_ms=latency_ms, error=error,
        abstained=abstained, invented=[c for c in cited if c not in known_measures],
        list_item=category == "topic" and len(expected) >= LIST_MIN_EXPECTED,
    )
    if expected:
        s.hit_at_1, s.hit_at_5, s.hit_at_10 = (hit_at_k(ranking, relevant, k) for k in (1, 5, 10))
        s.rr = reciprocal_rank(ranking, relevant, 10)
        s.ndcg_at_10 = ndcg_at_k(ranking, relevant, 10)
        s.cited_ok, s.cited_total = precision_counts(cited, relevant)
        s.citation_recall = recall(cited, expected)
    elif answerable and item.get("expected_doc"):
        doc = item["expected_doc"]
        s.doc_hit_at_1 = 1.0 if doc in ranked_docs[:1] else 0.0
        s.doc_hit_at_5 = 1.0 if doc in ranked_docs[:5] else 0.0
        s.doc_cited_ok, s.doc_cited_total = precision_counts(cited_docs, [doc])
        s.doc_citation_recall = 1.0 if doc in cited_docs else 0.0
    facts = list(item.get("answer_facts") or [])
    if answerable and facts:
        s.facts_total = len(facts)
        s.facts_ok = sum(facts_found(facts, text))
        if first_line is not None:
            s.first_line_fact = 1.0 if any(facts_found(facts, first_line)) else 0.0
        if answer is not None and category in SINGLE_FACT_CATEGORIES and not abstained:
            s.answer_chars = len(answer.strip())
    if not answerable:
        # Declining is right; presenting a number that does not exist as a measure is not.
        s.abstention_ok = abstained and not s.invented
    return s


# --- aggregation -----------------------------------------------------------------------------

HIGHER_IS_BETTER = {
    "hit_at_1", "hit_at_5", "hit_at_10", "mrr", "ndcg_at_10", "citation_precision", "citation_recall",
    "doc_hit_at_1", "doc_hit_at_5", "doc_citation_precision", "doc_citation_recall", "fact_recall",
    "abstention_accuracy", "task_declined", "conversation_hit", "list_recall", "list_citation_precision",
    "first_line_fact",
}
LOWER_IS_BETTER = {"false_abstention_rate", "latency_p50_ms", "latency_p95_ms", "uncited_rate", "errors"}


def _mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def aggregate(scores: Sequence[ItemScore]) -> dict[str, Any]:
    """All metrics over a group of item scores; a metric with no applicable item is None.

    Citation precision and fact recall are pooled (share of all cited numbers / all facts), as
    ``evals/thresholds.toml`` defines them; the ranking metrics are means over measure items.

    Held-out additions: ``task_declined`` (task_request items declined; they are scored like
    out_of_scope but kept out of ``abstention_accuracy``), ``conversation_hit`` (hit@5 on the final
    turn of conversation items), ``list_recall`` / ``list_citation_precision`` (topic items with
    >= 3 expected measures: mean share of expected measures cited / pooled precision),
    ``first_line_fact`` (answerable items with facts whose first answer line holds one) and
    ``answer_chars_p50`` (median answer length of the single-fact categories, abstentions excluded).
    """
    measure = [s for s in scores if s.measure_item]
    docs = [s for s in scores if s.doc_hit_at_5 is not None]
    answerable = [s for s in scores if s.answerable]
    oos = [s for s in scores if not s.answerable and s.category != "task_request"]
    tasks = [s for s in scores if s.category == "task_request"]
    conversation = [s for s in measure if s.category == "conversation"]
    lists = [s for s in measure if s.list_item]
    single = [s for s in measure if not s.list_item]
    chars = [float(s.answer_chars) for s in scores if s.answer_chars is not None]
    latencies = [s.latency_ms for s in scores]
    return {
        "n": len(scores),
        "n_measure": len(measure),
        "n_doc": len(docs),
        "n_answerable": len(answerable),
        "n_out_of_scope": len(oos),
        "n_task_request": len(tasks),
        "n_conversation": len(conversation),
        "n_list": len(lists),
        "hit_at_1": _mean(s.hit_at_1 for s in measure),
        "hit_at_5": _mean(s.hit_at_5 for s in measure),
        "hit_at_10": _mean(s.hit_at_10 for s in measure),
        "mrr": _mean(s.rr for s in measure),
        "ndcg_at_10": _mean(s.ndcg_at_10 for s in measure),
        # List questions cite every measure that clears the list bar; their precision is reported as
        # list_citation_precision, so that ten list lines do not outweigh the other answers.
        "citation_precision": _ratio(sum(s.cited_ok for s in single), sum(s.cited_total for s in single)),
        "citation_precision_all": _ratio(sum(s.cited_ok for s in measure), sum(s.cited_total for s in measure)),
        "citation_recall": _mean(s.citation_recall for s in measure),
        "doc_hit_at_1": _mean(s.doc_hit_at_1 for s in docs),
        "doc_hit_at_5": _mean(s.doc_hit_at_5 for s in docs),
        "doc_citation_precision": _ratio(sum(s.doc_cited_ok for s in docs), sum(s.doc_cited_total for s in docs)),
        "doc_citation_recall": _mean(s.doc_citation_recall for s in docs),
        "fact_recall": _ratio(sum(s.facts_ok for s in answerable), sum(s.facts_total for s in answerable)),
        "abstention_accuracy": _mean(1.0 if s.abstention_ok else 0.0 for s in oos),
        "task_declined": _mean(1.0 if s.abstention_ok else 0.0 for s in tasks),
        "false_abstention_rate": _mean(1.0 if s.abstained else 0.0 for s in answerable),
        "conversation_hit": _mean(s.hit_at_5 for s in conversation),
        "list_recall": _mean(s.citation_recall for s in lists),
        "list_citation_precision": _ratio(sum(s.cited_ok for s in lists), sum(s.cited_total for s in lists)),
        "first_line_fact": _mean(s.first_line_fact for s in answerable),
        "answer_chars_p50": percentile(chars, 50),
        # Answerable items the system answered without citing anything at all.
        "uncited_rate": _mean(
            1.0 if not s.abstained and s.cited_total + s.doc_cited_total == 0 else 0.0 for s in answerable
        ),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "errors": sum(1 for s in scores if s.error),
    }


def summarize(scores: Sequence[ItemScore]) -> dict[str, Any]:
    """``{"overall", "by_category", "followup_by_turn"}`` for one system's scores."""
    cats = sorted({s.category for s in scores})
    turns = sorted({s.turn for s in scores if s.category == "followup" and s.turn is not None})
    return {
        "overall": aggregate(scores),
        "by_category": {c: aggregate([s for s in scores if s.category == c]) for c in cats},
        "followup_by_turn": {
            str(t): aggregate([s for s in scores if s.category == "followup" and s.turn == t]) for t in turns
        },
    }


# --- gate ------------------------------------------------------------------------------------

GATE_METRICS = {  # threshold key -> (metric, direction)
    "hit_at_5": ("hit_at_5", "min"),
    "citation_precision": ("citation_precision", "min"),
    "fact_recall": ("fact_recall", "min"),
    "abstention_accuracy": ("abstention_accuracy", "min"),
    "false_abstention_max": ("false_abstention_rate", "max"),
    "conversation_hit": ("conversation_hit", "min"),
    "task_declined": ("task_declined", "min"),
    "list_recall": ("list_recall", "min"),
    "first_line_fact": ("first_line_fact", "min"),
}


def load_thresholds(path: Path, subset: str) -> dict[str, float]:
    """The ``[fast]``, ``[full]`` or ``[heldout]`` table of ``thresholds.toml``."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    if subset not in data:
        raise ValueError(f"{path} has no [{subset}] table")
    return {k: float(v) for k, v in data[subset].items()}


def check_gate(overall: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """Every threshold the metrics miss, as readable lines (empty list: the gate passes)."""
    misses: list[str] = []
    for key, limit in thresholds.items():
        if key not in GATE_METRICS:
            misses.append(f"{key}: unknown threshold (runner computes {', '.join(GATE_METRICS)})")
            continue
        metric, direction = GATE_METRICS[key]
        value = overall.get(metric)
        if value is None:
            misses.append(f"{metric}: not measured (no applicable items), threshold {limit:.3f}")
        elif direction == "min" and value < limit:
            misses.append(f"{metric} = {value:.3f} < {limit:.3f} (minimum)")
        elif direction == "max" and value > limit:
            misses.append(f"{metric} = {value:.3f} > {limit:.3f} (maximum)")
    return misses


# --- comparison ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One metric of one system that moved between two runs."""

    system: str
    metric: str
    old: float
    new: float
    improved: bool

    @property
    def delta(self) -> float:
        return self.new - self.old

    def line(self) -> str:
        word = "improved" if self.improved else "regressed"
        unit = " ms" if self.metric.endswith("_ms") else ""
        return f"{self.system} {self.metric}: {self.old:.3f} → {self.new:.3f} ({self.delta:+.3f}{unit}, {word})"


def compare(old: dict[str, Any], new: dict[str, Any], *, eps: float = 5e-4, latency_rel: float = 0.10) -> list[Change]:
    """Overall metrics that improved or regressed, per system present in both runs.

    Latencies are noisy, so they only count when they move by more than ``latency_rel``.
    """
    changes: list[Change] = []
    for system, data in new.get("systems", {}).items():
        before = old.get("systems", {}).get(system)
        if not before:
            continue
        for metric, value in data["overall"].items():
            prev = before["overall"].get(metric)
            if metric not in HIGHER_IS_BETTER | LOWER_IS_BETTER or value is None or prev is None:
                continue
            if abs(value - prev) <= eps:
                continue
            if metric.endswith("_ms") and abs(value - prev) <= latency_rel * max(abs(prev), 1e-9):
                continue
            better = value > prev if metric in HIGHER_IS_BETTER else value < prev
            changes.append(Change(system, metric, float(prev), float(value), better))
    return changes


def load_metrics(path: Path | str) -> dict[str, Any]:
    """Read a ``metrics.json`` written by a previous run."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
