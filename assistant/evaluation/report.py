"""Writing a run: ``metrics.json``, ``report.md``, ``chart.png`` and ``results.jsonl``.

A run over one suite (any suite of the table in ``assistant/evaluation/suites.py``: ``dev`` =
``evals/items.jsonl``, ``heldout`` … ``heldout4`` = the held-out suites) writes the single-suite
report. A run over several (``metrics["suites"]`` with two or more entries) writes one ``report.md``
with a compact dev-vs-held-out headline table and then one section per suite (titled from the suite
table), ``chart.png`` for the first suite and ``chart-<suite>.png`` for each other one
(``chart-heldout.png``, ``chart-heldout2.png``, …), and ``results.jsonl`` rows tagged with their
``suite``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.evaluation.metrics import Change, ItemScore
from assistant.evaluation.suites import HELDOUT_SUITES, SUITE_TITLES

# Metric columns of the tables: (key, header).
RETRIEVAL_COLUMNS = [
    ("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("hit_at_10", "hit@10"), ("mrr", "MRR"),
    ("ndcg_at_10", "nDCG@10"), ("doc_hit_at_5", "doc hit@5"),
]
ANSWER_COLUMNS = [
    ("citation_precision", "cit. prec."), ("citation_recall", "cit. rec."),
    ("doc_citation_precision", "doc cit. prec."), ("fact_recall", "fact rec."),
    ("first_line_fact", "first-line fact"),
    ("abstention_accuracy", "abst. acc."), ("false_abstention_rate", "false abst."),
    ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"),
]
# The metrics the held-out suite added; shown when at least one system has a value.
EXTRA_COLUMNS = [
    ("task_declined", "task declined"), ("conversation_hit", "conv. hit@5"), ("list_recall", "list recall"),
    ("list_citation_precision", "list cit. prec."), ("answer_chars_p50", "answer chars p50"),
]
CATEGORY_COLUMNS = [
    ("n", "n"), ("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("mrr", "MRR"), ("doc_hit_at_5", "doc hit@5"),
    ("citation_precision", "cit. prec."), ("citation_recall", "cit. rec."),
    ("doc_citation_precision", "doc cit. prec."), ("fact_recall", "fact rec."),
    ("first_line_fact", "first-line fact"),
    ("abstention_accuracy", "abst. acc."), ("false_abstention_rate", "false abst."),
    ("task_declined", "task decl."), ("conversation_hit", "conv. hit@5"), ("list_recall", "list rec."),
]
# The compact dev-vs-held-out table of a multi-suite report: (key, header).
HEADLINE_COLUMNS = [
    ("n", "n"), ("hit_at_5", "hit@5"), ("citation_precision", "cit. prec."), ("fact_recall", "fact rec."),
    ("first_line_fact", "first-line fact"), ("abstention_accuracy", "abst. acc."),
    ("false_abstention_rate", "false abst."), ("task_declined", "task decl."),
    ("conversation_hit", "conv. hit@5"), ("list_recall", "list rec."), ("answer_chars_p50", "chars p50"),
    ("latency_p50_ms", "p50 ms"),
]
# SUITE_TITLES (section headings) and HELDOUT_SUITES (the suites never tuned on, whose sections carry
# the `[heldout]` gate note) come from the suite table, assistant/evaluation/suites.py.
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
    if item["category"] == "task_request":
        return "decline (not a question about the plan)"
    parts = []
    if item.get("expected_measures"):
        extra = sorted(set(item.get("acceptable_measures") or []) - set(item["expected_measures"]))
        parts.append("No. " + ", ".join(item["expected_measures"]) + (f" (also ok: {', '.join(extra)})" if extra else ""))
    elif item.get("expected_doc"):
        parts.append(item["expected_doc"])
    if item.get("answer_facts"):
        parts.append("facts: " + " / ".join(item["answer_facts"]))
    return "; ".join(parts)


DEFINITIONS = (
    "Definitions: measure metrics on items with expected measures (relevant = acceptable ∪ expected); "
    "doc metrics on answerable items without measures (expected document among the first hits/citations); "
    "citation precision and fact recall are pooled over items; first-line fact: answerable items with facts "
    "whose first answer line states one; abstention accuracy on out_of_scope items "
    "(declining without presenting a nonexistent number); task declined: the same on task_request items "
    "(requests that are not questions about the plan), kept out of abstention accuracy; "
    "false abstention on answerable items; conv. hit@5: hit@5 on the final turn of conversation items; "
    "list recall: mean share of the expected measures cited, on topic items with >= 3 expected measures "
    "(list cit. prec.: pooled precision on them); answer chars p50: median answer length of "
    "lookup/factual/followup/conversation answers (abstentions excluded). "
    "Retrieval-only systems cite their top-3 distinct measures and answer with their top-3 passages; "
    "they see the question only (no conversation history; for conversation items the final question "
    "alone, without the prior turns) and never abstain. The assistant gets the written history of "
    "followup items and is asked the prior turns of conversation items live, its own answers becoming "
    "the history of the final question."
)


def _has_value(systems: dict[str, Any], key: str) -> bool:
    return any(d["overall"].get(key) is not None for d in systems.values())


def _suite_sections(
    systems: dict[str, Any],
    assistant_records: Sequence[tuple[dict, ItemScore, Any]] = (),
    gate: list[str] | None = None,
    gate_note: str = "",
) -> list[str]:
    """The tables of one suite: systems, extra metrics, assistant per category, gate, worst failures."""
    out = [
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
    extra = [(k, h) for k, h in EXTRA_COLUMNS if _has_value(systems, k)]
    if extra:
        out += [
            "## Systems — conversation, task requests, lists, answer length",
            "",
            table(["system", *(h for _, h in extra)],
                  [[name, *(d["overall"].get(k) for k, _ in extra)] for name, d in systems.items()]),
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
        if gate_note:
            out += [gate_note, ""]
        out += ["All thresholds met."] if not gate else [f"- MISSED {m}" for m in gate]
        out.append("")
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
    return out


def _run_lines(run: dict[str, Any], systems: Sequence[str]) -> list[str]:
    return [
        f"- items: {run['n_items']} (subset `{run['subset']}`), systems: {', '.join(systems)}",
        f"- embedder: `{run.get('embedder_id')}`, index build: `{run.get('index_build_id')}`",
        f"- duration: {run.get('duration_s', 0):.0f} s; load average at start {run.get('load_avg_start')}, "
        f"at end {run.get('load_avg_end')} (latencies are wall-clock and grow with machine load)",
        f"- assistant code fingerprint: `{run.get('code_fingerprint')}`",
    ]


def _tail_sections(metrics: dict[str, Any], changes: Sequence[Change] | None) -> list[str]:
    out: list[str] = []
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
    return out


def headline_table(suites: dict[str, dict[str, Any]]) -> str:
    """Systems × suites on the headline metrics: the compact side-by-side table of a multi-suite run."""
    names: list[str] = []
    for data in suites.values():
        names += [n for n in data["systems"] if n not in names]
    rows = []
    for name in names:
        for suite, data in suites.items():
            if name in data["systems"]:
                overall = data["systems"][name]["overall"]
                rows.append([name, suite, *(overall.get(k) for k, _ in HEADLINE_COLUMNS)])
    return table(["system", "suite", *(h for _, h in HEADLINE_COLUMNS)], rows)


def render_markdown(
    metrics: dict[str, Any],
    assistant_records: Sequence[tuple[dict, ItemScore, Any]] = (),
    changes: Sequence[Change] | None = None,
    gate: list[str] | None = None,
    *,
    suite_records: dict[str, Sequence[tuple[dict, ItemScore, Any]]] | None = None,
) -> str:
    """The whole ``report.md``: one suite, or dev and held-out side by side.

    With ``metrics["suites"]`` holding two or more suites, ``suite_records`` maps each suite to the
    assistant's records (for its worst-failure table); ``assistant_records`` is then unused.
    """
    suites = metrics.get("suites") or {}
    if len(suites) < 2:
        run = metrics["run"]
        systems = metrics["systems"]
        suite = run.get("suite")
        title = f"# Evaluation report — {run['date']}" + (f" — {suite} suite" if suite in SUITE_TITLES else "")
        gate_note = ""
        if suite in HELDOUT_SUITES and gate is not None:
            gate_note = _heldout_gate_note(metrics)
        out = [title, "", *_run_lines(run, list(systems)), "", DEFINITIONS, ""]
        out += _suite_sections(systems, assistant_records, gate, gate_note)
        out += _tail_sections(metrics, changes)
        return "\n".join(out)

    run = metrics["run"]
    suite_records = suite_records or {}
    out = [
        f"# Evaluation report — {run['date']} — dev and held-out suites",
        "",
        "- suites: " + ", ".join(f"{s} ({d['run']['n_items']} items)" for s, d in suites.items())
        + f", subset `{run['subset']}`, systems: {', '.join(metrics['systems'])}",
        f"- embedder: `{run.get('embedder_id')}`, index build: `{run.get('index_build_id')}`, "
        f"assistant code fingerprint: `{run.get('code_fingerprint')}`",
        "- the held-out suite is never used for tuning; its gate (`[heldout]`) is report-only unless "
        "`--gate-heldout` is given",
        "",
        "## Headline — dev vs held-out",
        "",
        headline_table(suites),
        "",
        DEFINITIONS,
        "",
    ]
    for suite, data in suites.items():
        sgate = (data.get("gate") or {}).get("missed")
        note = _heldout_gate_note({"gate_heldout": data.get("gate")}) if suite in HELDOUT_SUITES else ""
        out += [f"# {SUITE_TITLES.get(suite, suite)}", "", *_run_lines(data["run"], list(data["systems"])), ""]
        out += _suite_sections(data["systems"], suite_records.get(suite, ()), sgate if data.get("gate") else None, note)
    out += _tail_sections(metrics, changes)
    return "\n".join(out)


def _heldout_gate_note(metrics: dict[str, Any]) -> str:
    g = metrics.get("gate_heldout") or {}
    if g.get("enforced"):
        return "`[heldout]` thresholds, enforced (`--gate-heldout`)."
    return "`[heldout]` thresholds, **report-only** (pass `--gate-heldout` to make a miss fail the run)."


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
    *,
    suite_records: dict[str, dict[str, list[tuple[dict, ItemScore, Any]]]] | None = None,
) -> dict[str, Path]:
    """Write all outputs of a run into ``out_dir``; returns their paths.

    ``records``: system -> records of a single-suite run. ``suite_records``: suite -> system ->
    records of a multi-suite run (then ``records`` is ignored and each results row has a ``suite``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if suite_records is None:
        suite = (metrics.get("run") or {}).get("suite")
        suite_records = {suite or "": records or {}}
    multi = len(metrics.get("suites") or {}) > 1
    paths = {
        "metrics": out_dir / "metrics.json", "report": out_dir / "report.md",
        "chart": out_dir / "chart.png", "results": out_dir / "results.jsonl",
    }
    paths["metrics"].write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    first = next(iter(suite_records.values()), {})
    md = render_markdown(
        metrics, first.get("assistant", []), changes, gate,
        suite_records={s: r.get("assistant", []) for s, r in suite_records.items()} if multi else None,
    )
    paths["report"].write_text(md + "\n", encoding="utf-8")
    write_chart(metrics, paths["chart"])
    if multi:
        first_suite = next(iter(metrics["suites"]))
        for suite, data in metrics["suites"].items():
            if suite != first_suite:
                paths[f"chart_{suite}"] = write_chart(data, out_dir / f"chart-{suite}.png")
    with paths["results"].open("w", encoding="utf-8") as fh:
        for suite, by_system in suite_records.items():
            for system, rows in by_system.items():
                for item, score, output in rows:
                    row = {
                        "system": system, "id": item["id"], "category": item["category"],
                        "question": item["question"],
                        "cited": output.labels, "abstained": output.abstained, "first_line": output.first_line,
                        "answer": output.answer[:3000],
                        "latency_ms": round(output.latency_ms, 1), "error": output.error,
                        "ranking": output.ranking, "score": score.to_dict(),
                    }
                    if suite:
                        row = {"suite": suite, **row}
                    if getattr(output, "history", None):
                        row["history"] = [{**h, "content": h["content"][:1500]} for h in output.history]
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return paths
