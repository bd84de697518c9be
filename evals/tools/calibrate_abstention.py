"""Calibrate the extractive answerer's thresholds on the DEV suite (evals/items.jsonl) only.

Never run this on evals/heldout.jsonl: the held-out figures must stay out of sample.

Three groups of thresholds, each printed as a grid with what it does on the dev items:

1. weak evidence (``assistant/answerability.py``: DEFAULT_MIN_DENSE, DEFAULT_MIN_COVERAGE): the
   best dense similarity and the coverage of the question's words by the top passages;
2. unknown words (DEFAULT_MAX_UNKNOWN_SHARE): the share of the subject's naming weight carried
   by words no document holds (or too rare to be in the passages found);
3. the list bar (``assistant/answering.py``: LIST_NEAR, LIST_FAR, LIST_MIN_SUPPORT): which measures a
   list question names — recall of the expected measures and precision against the acceptable
   ones on the dev list items (topic items with 3 or more expected measures).

    .venv/bin/python evals/tools/calibrate_abstention.py [--only evidence|unknown|lists]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.answerability import KANJI_WORD_RE, unknown_share, unsupported_words
from assistant.api import Assistant
from assistant.questions import clean_question, normalize_history

ITEMS = Path(__file__).resolve().parents[1] / "items.jsonl"
DECLINE = ("out_of_scope", "task_request")


def dev_items() -> list[dict]:
    return [json.loads(line) for line in ITEMS.read_text(encoding="utf-8").splitlines() if line.strip()]


def analysed(a: Assistant, item: dict):
    history = normalize_history(item.get("history"), 20)
    analysis = a.understanding.analyse(clean_question(item["question"], 2000), history)
    return analysis, a.extractive.retrieve(analysis, None)


def evidence_grid(a: Assistant, items: list[dict]) -> None:
    rows = []
    for item in items:
        if item.get("prior_turns") or item["category"] == "task_request":
            continue
        analysis, result = analysed(a, item)
        # Numbers, follow-ups and the rules before this one decide their items themselves.
        if analysis.measure_nos or analysis.referenced_measures or analysis.request:
            continue
        rows.append((item["id"], item["category"] not in DECLINE, result.top_dense,
                     a.extractive.coverage(analysis, result.hits)))
    pos = [r for r in rows if r[1]]
    neg = [r for r in rows if not r[1]]
    print(f"weak evidence: {len(pos)} answerable, {len(neg)} out of scope items decided by it")
    print("min_dense min_cov  abstain(oos)  false_abstain(answerable)")
    for d in (0.80, 0.82, 0.84, 0.86):
        for c in (0.3, 0.4, 0.5, 0.6):
            def weak(r, d=d, c=c):
                return (r[2] < d and r[3] < c) or r[3] == 0.0
            tp, fp = sum(weak(r) for r in neg), sum(weak(r) for r in pos)
            print(f"{d:9.2f} {c:7.1f}  {tp:3d}/{len(neg):<3d}       {fp:3d}/{len(pos)} ({fp / max(1, len(pos)):.1%})")


def unknown_grid(a: Assistant, items: list[dict]) -> None:
    rows = []
    paraphrase: list[tuple[str, bool, float, str]] = []
    for item in items:
        if item.get("prior_turns") or item["category"] == "task_request":
            continue
        analysis, result = analysed(a, item)
        if analysis.measure_nos or analysis.referenced_measures or analysis.english or not analysis.terms:
            continue
        top: set[str] = set()
        for h in result.hits[:3]:
            top |= a.extractive.chunk_tokens(h)
        words = unsupported_words(analysis.terms, top, a.analyzer)
        rows.append((item["id"], item["category"] not in DECLINE, unknown_share(analysis, a.analyzer, words), words))
        if len(words) == 1 and words[0] not in analysis.terms.names and KANJI_WORD_RE.fullmatch(words[0]) \
                and not a.analyzer.ends_subject(analysis.normalized, words[0]):
            paraphrase.append((item["id"], item["category"] not in DECLINE, result.top_dense, words[0]))
    print("\nunknown words: share of the subject carried by unsupported words")
    print("max_share  refused(oos)  refused(answerable)")
    neg = [r for r in rows if not r[1]]
    pos = [r for r in rows if r[1]]
    for t in (0.25, 0.30, 0.34, 0.38, 0.42, 0.50):
        tp, fp = sum(r[2] >= t for r in neg), sum(r[2] >= t for r in pos)
        print(f"{t:9.2f}  {tp:3d}/{len(neg):<3d}       {fp:3d}/{len(pos)}")
    print("answerable items with the highest shares:")
    for r in sorted(pos, key=lambda r: -r[2])[:5]:
        print(f"  {r[0]:22s} {r[2]:.2f} {r[3]}")
    # DEFAULT_MIN_PARAPHRASE_DENSE: one everyday kanji word, not the thing asked, and the best
    # passage's dense similarity (above the bar, the word is taken for the user's wording)
    print("\none unknown kanji word, not the head: best dense similarity (answerable vs out of scope)")
    for item_id, ok, dense, word in sorted(paraphrase, key=lambda r: -r[2]):
        print(f"  {'ANS' if ok else 'OOS'} {dense:.3f} {word:10s} {item_id}")


def list_grid(a: Assistant, items: list[dict]) -> None:
    lists = [i for i in items if i["category"] == "topic" and len(i["expected_measures"]) >= 3]
    cases = []
    for item in lists:
        analysis, _ = analysed(a, item)
        found = a.retriever.retrieve(analysis.retrieval_query, k=30, filters={"kind": "measure"}).hits
        cases.append((item, [(h.chunk.measure_no, h.dense_score, a.extractive.list_support(analysis, h)) for h in found]))
    print(f"\nlist bar on {len(cases)} dev list items: keep if dense >= best - near, or support >= s and dense >= best - far")
    print(" near   far  min_support  recall  precision  mean length")
    rows = []
    for near in (0.005, 0.01, 0.015, 0.02, 0.03):
        for far in (0.03, 0.04, 0.05, 0.06):
            for sup in (0.3, 0.4, 0.5, 0.6):
                rec = prec = length = 0.0
                for item, hits in cases:
                    best = max((d for _no, d, _s in hits), default=0.0)
                    kept = [no for no, d, s in hits if d >= best - near or (s >= sup and d >= best - far)][:10]
                    kept = kept or [no for no, _d, _s in hits[:3]]
                    expected, acceptable = set(item["expected_measures"]), set(item["acceptable_measures"])
                    rec += len(expected & set(kept)) / len(expected)
                    prec += len(acceptable & set(kept)) / len(kept)
                    length += len(kept)
                n = len(cases)
                rows.append((rec / n, prec / n, length / n, near, far, sup))
    for rec, prec, length, near, far, sup in sorted(rows, key=lambda r: -(r[0] + r[1]))[:12]:
        print(f"{near:5.3f} {far:5.2f} {sup:12.1f}  {rec:6.3f}  {prec:9.3f}  {length:5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("evidence", "unknown", "lists"))
    args = parser.parse_args()
    a = Assistant()
    items = dev_items()
    if args.only in (None, "evidence"):
        evidence_grid(a, items)
    if args.only in (None, "unknown"):
        unknown_grid(a, items)
    if args.only in (None, "lists"):
        list_grid(a, items)


if __name__ == "__main__":
    main()
