"""Writing a run: ``metrics.json``, ``report.md``, ``chart.png`` and ``results.jsonl``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.evaluation.metrics import Change, ItemScore

# Metric columns of the tables: (key, header).
RETRIEVAL_COLUMNS = [
    ("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("hit_at_10", "hit@10"), ("mrr", "MRR"),
    ("ndcg_at_10", "nDCG@10"), ("doc_hit_at_5", "doc hit@5"),
]
ANSWER_COLUMNS = [
    ("citation_precision", "cit. prec."), ("citation_recall", "cit. rec."),
    ("doc_citation_precision", "doc cit. prec."), ("fact_recall", "fact rec."),
    ("abstention_accuracy", "abst. acc."), ("false_abstention_rate", "false abst."),
    ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"),
]
CATEGORY_COLUMNS = [
    ("n", "n"), ("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("mrr", "MRR"), ("doc_hit_at_5", "doc hit@5"),
    ("citation_precision", "cit. prec."), ("citation_recall", "cit. rec."),
    ("doc_citation_precision", "doc cit. prec."), ("fact_recall", "fact rec."),
    ("abstention_accuracy", "abst. acc."), ("false_abstention_rate", "false abst."),
]
CHART_SYSTEM_METRICS = [
    ("hit_at_5", "hit@5"), ("mrr", "MRR"), ("citation_precision", "citation precision"),
    ("fact_recall", "fact recall"), ("abstention_accuracy", "abstention acc."),
]
CHART_CATEGORY_METRICS = [
    ("hit_at_5", "hit@5"), ("doc_hit_at_5", "doc hit@5"), ("citation_precision", "citation precision"),
    ("fact_recall", "fact recall"), ("abstention_accuracy", "abstention acc."),
]
WORST_N = 15


def fmt(value: Any) -> str:
    """A table cell: 3 decimals for fractions, whole milliseconds, — for not applicable."""
    if value is None:
        return "—"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    return f"{value:.0f}" if value >= 10 else f"{value:.3f}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split()).replace("|", "｜")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def badness(s: ItemScore) -> float:
    """How badly the system did on an item, 0 (perfect) … 1; used to pick the worst failures."""
    if s.error:
        return 1.0
    if not s.answerable:
        return 0.0 if s.abstention_ok else 1.0
    if s.abstained:
        return 1.0
    parts: list[float] = []
    hit = s.hit_at_5 if s.measure_item else s.doc_hit_at_5
    if hit is not None:
        parts.append(1.0 - hit)
    if s.measure_item:
        parts.append(1.0 - (s.cited_ok / s.cited_total if s.cited_total else 0.0))
        parts.append(1.0 - (s.citation_recall or 0.0))
    if s.facts_total:
        parts.append(1.0 - s.facts_ok / s.facts_total)
    return sum(parts) / len(parts) if parts else 0.0


def worst_failures(records: Sequence[tuple[dict, ItemScore, Any]], n: int = WORST_N) -> list[tuple[dict, ItemScore, Any]]:
    """The ``n`` items with the highest :func:`badness` (failures only), worst first."""
    bad = [r for r in records if badness(r[1]) > 0]
    return sorted(bad, key=lambda r: (-badness(r[1]), r[1].item_id))[:n]


def expected_text(item: dict) -> str:
    """What a good answer cites and states, for the failure table."""
    if item["category"] == "out_of_scope":
        return "abstain"
    parts = []
    if item.get("expected_measures"):
        extra = sorted(set(item.get("acceptable_measures") or []) - set(item["expected_measures"]))
        parts.append("No. " + ", ".join(item["expected_measures"]) + (f" (also ok: {', '.join(extra)})" if extra else ""))
    elif item.get("expected_doc"):
        parts.append(item["expected_doc"])
    if item.get("answer_facts"):
        parts.append("facts: " + " / ".join(item["answer_facts"]))
    return "; ".join(parts)


def render_markdown(
    metrics: dict[str, Any],
    assistant_records: Sequence[tuple[dict, ItemScore, Any]] = (),
    changes: Sequence[Change] | None = None,
    gate: list[str] | None = None,
) -> str:
    """The whole ``report.md``."""
    run = metrics["run"]
    systems = metrics["systems"]
    out = [
        f"# Evaluation report — {run['date']}",
        "",
        f"- items: {run['n_items']} (subset `{run['subset']}`), systems: {', '.join(systems)}",
        f"- embedder: `{run.get('embedder_id')}`, index build: `{run.get('index_build_id')}`",
        f"- duration: {run.get('duration_s', 0):.0f} s; load average at start {run.get('load_avg_start')}, "
        f"at end {run.get('load_avg_end')} (latencies are wall-clock and grow with machine load)",
        f"- assistant code fingerprint: `{run.get('code_fingerprint')}`",
        "",
        "Definitions: measure metrics on items with expected measures (relevant = acceptable ∪ expected); "
        "doc metrics on answerable items without measures (expected document among the first hits/citations); "
        "citation precision and fact recall are pooled over items; abstention accuracy on out_of_scope items "
        "(declining without presenting a nonexistent number); false abstention on answerable items. "
        "Retrieval-only systems cite their top-3 distinct measures and answer with their top-3 passages; "
        "they see the question only (no conversation history) and never abstain.",
        "",
        "## Systems — retrieval",
        "",
        table(["system", *(h for _, h in RETRIEVAL_COLUMNS)],
              [[name, *(d["overall"].get(k) for k, _ in RETRIEVAL_COLUMNS)] for name, d in systems.items()]),
        "",
        "## Systems — answers",
        "",
        table(["system", *(h for _, h in ANSWER_COLUMNS)],
              [[name, *(d["overall"].get(k) for k, _ in ANSWER_COLUMNS)] for name, d in systems.items()]),
        "",
    ]
    if "assistant" in systems:
        name, data = "assistant", systems["assistant"]
        out += [
            f"## {name} — per category",
            "",
            table(["category", *(h for _, h in CATEGORY_COLUMNS)],
                  [[c, *(m.get(k) for k, _ in CATEGORY_COLUMNS)] for c, m in data["by_category"].items()]),
            "",
        ]
        if data["followup_by_turn"]:
            out += [
                f"### {name} — follow-ups per turn",
                "",
                table(["turn", *(h for _, h in CATEGORY_COLUMNS)],
                      [[t, *(m.get(k) for k, _ in CATEGORY_COLUMNS)] for t, m in data["followup_by_turn"].items()]),
                "",
            ]
    if gate is not None:
        out += ["## Gate", ""]
        out += ["All thresholds met."] if not gate else [f"- MISSED {m}" for m in gate]
        out.append("")
    if changes is not None:
        out += ["## Compared with the previous run", ""]
        out += [f"- {c.line()}" for c in changes] if changes else ["No metric changed."]
        out.append("")
    if metrics.get("judge"):
        j = metrics["judge"]
        line = (f"Skipped: {j['skipped']}." if "skipped" in j else
                f"{j.get('model')}: faithfulness {fmt(j.get('faithfulness'))}, relevance {fmt(j.get('relevance'))} "
                f"(1–5; {j.get('n_rated')} answers rated, {j.get('n_unrated')} unrated)")
        out += ["## LLM judge", "", line, ""]
    worst = worst_failures(assistant_records)
    if worst:
        out += [
            f"## The {len(worst)} worst failures of the assistant",
            "",
            table(["id", "question", "expected", "cited", "answer (first line)"],
                  [[s.item_id, _cell(item["question"], 70), _cell(expected_text(item), 70),
                    _cell(", ".join(o.labels) or ("(abstained)" if o.abstained else "(none)"), 50),
                    _cell(o.error or o.first_line, 90)] for item, s, o in worst]),
            "",
        ]
    return "\n".join(out)


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for wanted in ("Noto Sans CJK JP", "Noto Serif CJK JP", "IPAexGothic", "IPAGothic", "TakaoGothic"):
        if wanted in names:
            return wanted
    return next((n for n in sorted(names) if "CJK" in n), None)


def write_chart(metrics: dict[str, Any], path: Path) -> Path:
    """Systems side by side on the headline metrics, and the assistant per category."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    font = _cjk_font()
    if font:
        plt.rcParams["font.family"] = [font, "DejaVu Sans"]
    systems = metrics["systems"]
    has_assistant = "assistant" in systems
    fig, axes = plt.subplots(1, 2 if has_assistant else 1, figsize=(15 if has_assistant else 8, 5.5), squeeze=False)
    ax = axes[0][0]
    names = list(systems)
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(CHART_SYSTEM_METRICS))
    for i, name in enumerate(names):
        values = [systems[name]["overall"].get(k) for k, _ in CHART_SYSTEM_METRICS]
        ax.bar(x + i * width - 0.4 + width / 2, [v or 0.0 for v in values], width, label=name)
    ax.set_xticks(x, [h for _, h in CHART_SYSTEM_METRICS], rotation=15)
    ax.set_ylim(0, 1.18)
    ax.set_title("システム比較 (systems)" if font else "Systems")
    ax.legend(fontsize=8, ncol=len(names), loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    if has_assistant:
        ax = axes[0][1]
        cats = list(systems["assistant"]["by_category"])
        x = np.arange(len(cats))
        width = 0.8 / len(CHART_CATEGORY_METRICS)
        for i, (key, label) in enumerate(CHART_CATEGORY_METRICS):
            values = [systems["assistant"]["by_category"][c].get(key) for c in cats]
            ax.bar(x + i * width - 0.4 + width / 2, [v if v is not None else 0.0 for v in values], width, label=label)
        ax.set_xticks(x, cats, rotation=25)
        ax.set_ylim(0, 1.18)
        ax.set_title("アシスタントのカテゴリ別 (assistant per category)" if font else "Assistant per category")
        ax.legend(fontsize=8, ncol=len(CHART_CATEGORY_METRICS), loc="upper center")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"jplan-assistant eval {metrics['run']['date']} — {metrics['run']['n_items']} items")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(
    out_dir: Path,
    metrics: dict[str, Any],
    records: dict[str, list[tuple[dict, ItemScore, Any]]] | None = None,
    changes: Sequence[Change] | None = None,
    gate: list[str] | None = None,
) -> dict[str, Path]:
    """Write all outputs of a run into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = records or {}
    paths = {
        "metrics": out_dir / "metrics.json", "report": out_dir / "report.md",
        "chart": out_dir / "chart.png", "results": out_dir / "results.jsonl",
    }
    paths["metrics"].write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths["report"].write_text(
        render_markdown(metrics, records.get("assistant", []), changes, gate) + "\n", encoding="utf-8"
    )
    write_chart(metrics, paths["chart"])
    with paths["results"].open("w", encoding="utf-8") as fh:
        for system, rows in records.items():
            for item, score, output in rows:
                row = {
                    "system": system, "id": item["id"], "category": item["category"], "question": item["question"],
                    "cited": output.labels, "abstained": output.abstained, "first_line": output.first_line,
                    "answer": output.answer[:3000],
                    "latency_ms": round(output.latency_ms, 1), "error": output.error,
                    "ranking": output.ranking, "score": score.to_dict(),
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return paths
