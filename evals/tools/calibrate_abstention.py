"""Calibrate the abstention thresholds of the extractive answerer on the evaluation suite.

For every item it records the two signals `ExtractiveAnswerer.is_weak` uses — the best dense
similarity and the coverage of the question's content words by the top passages — and prints,
for a grid of thresholds, the correct-abstention rate on out_of_scope items and the false-
abstention rate on answerable ones. Pick the pair that keeps false abstention ≤ 5% and abstains
most; put it in assistant/answering.py (DEFAULT_MIN_DENSE, DEFAULT_MIN_COVERAGE).

    .venv/bin/python evals/tools/calibrate_abstention.py
"""

from __future__ import annotations

import json
from pathlib import Path

from assistant.api import Assistant
from assistant.questions import analyse, clean_question, normalize_history

ITEMS = Path(__file__).resolve().parents[1] / "items.jsonl"


def signals(a: Assistant) -> list[tuple[str, bool, float, float, bool]]:
    """(id, answerable, top dense similarity, coverage, structurally decided) per item."""
    out = []
    for line in ITEMS.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        analysis = analyse(clean_question(item["question"], 2000), normalize_history(item.get("history"), 20))
        result = a.retriever.retrieve(analysis.retrieval_query, k=10)
        # Measure numbers and follow-ups are decided by rules; the answer-type rules are not
        # counted as structural so that the thresholds are calibrated on those items too.
        structural = bool(analysis.measure_nos or analysis.referenced_measures)
        cov = a.extractive.coverage(analysis.retrieval_query, result.hits)
        out.append((item["id"], item["category"] != "out_of_scope", result.top_dense, cov, structural))
    return out


def main() -> None:
    a = Assistant()
    rows = signals(a)
    free = [r for r in rows if not r[4]]  # decided by thresholds, not by rules
    pos = [r for r in free if r[1]]
    neg = [r for r in free if not r[1]]
    print(f"items decided by the thresholds: {len(pos)} answerable, {len(neg)} out of scope")
    print("min_dense min_cov  abstain(oos)  false_abstain(answerable)")
    for d in (0.78, 0.79, 0.80, 0.81, 0.82, 0.83, 0.84):
        for c in (0.3, 0.4, 0.5, 0.6, 0.7):
            def weak(r, d=d, c=c):
                return (r[2] < d and r[3] < c) or r[3] == 0.0
            tp = sum(weak(r) for r in neg)
            fp = sum(weak(r) for r in pos)
            print(f"{d:9.2f} {c:7.1f}  {tp:3d}/{len(neg):<3d}       {fp:3d}/{len(pos)} ({fp / max(1, len(pos)):.1%})")
    print("\nout-of-scope items (dense, coverage):")
    for r in neg:
        print(f"  {r[0]:22s} {r[2]:.3f} {r[3]:.2f}")


if __name__ == "__main__":
    main()
