"""The evaluation runner: ``python -m assistant eval`` over ``evals/items.jsonl``.

Runs several systems on the same items — a textbook RAG baseline (``naive``), the project's
``bm25``, ``dense`` and ``hybrid`` retrievers, and the full ``assistant`` — and measures
retrieval (hit@k, MRR, nDCG@10), citations (precision/recall), facts, abstention and latency,
overall, per category and per follow-up turn. Writes ``metrics.json``, ``report.md``,
``chart.png`` and ``results.jsonl``; ``--compare`` diffs against an older ``metrics.json``;
``--gate`` applies ``evals/thresholds.toml`` to the assistant.

In-process use (what the quality-gate test does)::

    run = evaluate(assistant, load_items(subset="fast"), ["assistant", "hybrid"], subset="fast")
    write_report(out_dir, run.metrics, run.records)
    check_gate(run.metrics["systems"]["assistant"]["overall"], load_thresholds(THRESHOLDS_PATH, "fast"))
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_ROOT, Settings
from assistant.evaluation.metrics import (
    Change,
    ItemScore,
    check_gate,
    compare,
    is_abstention,
    load_metrics,
    load_thresholds,
    score_item,
    summarize,
)
from assistant.evaluation.report import fmt, table, write_report
from assistant.evaluation.systems import AssistantSystem, NaiveRAG, Output, RetrieverSystem, System

ITEMS_PATH = PROJECT_ROOT / "evals" / "items.jsonl"
THRESHOLDS_PATH = PROJECT_ROOT / "evals" / "thresholds.toml"
REPORTS_DIR = PROJECT_ROOT / "evals" / "reports"
SYSTEMS = ("naive", "bm25", "dense", "hybrid", "assistant")

Record = tuple[dict[str, Any], ItemScore, Output]


def load_items(path: Path | str = ITEMS_PATH, subset: str = "full") -> list[dict[str, Any]]:
    """The eval items; ``subset="fast"`` keeps those marked ``"fast": true``."""
    if subset not in ("fast", "full"):
        raise ValueError(f"subset must be 'fast' or 'full', got {subset!r}")
    items = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [i for i in items if i.get("fast")] if subset == "fast" else items


def build_systems(names: Sequence[str], assistant: Any, *, progress: bool = True) -> dict[str, System]:
    """Instantiate the named systems around one loaded :class:`~assistant.api.Assistant`."""
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        raise ValueError(f"unknown system(s): {', '.join(unknown)} (known: {', '.join(SYSTEMS)})")
    systems: dict[str, System] = {}
    for name in names:
        if name == "naive":
            from assistant.embeddings import make_embeddings

            settings = assistant.settings
            embeddings = make_embeddings(settings.embedder, settings.index_dir / "cache")
            systems[name] = NaiveRAG(assistant.documents, embeddings, settings.index_dir / "baselines" / "naive",
                                     progress=progress)
        elif name == "assistant":
            systems[name] = AssistantSystem(assistant)
        else:
            systems[name] = RetrieverSystem(name, assistant.retriever)
    return systems


@dataclass
class EvalRun:
    """The outcome of :func:`evaluate`: per-system records and the computed metrics."""

    items: list[dict[str, Any]]
    records: dict[str, list[Record]]
    metrics: dict[str, Any]


def run_info(assistant: Any, items: Sequence[dict], subset: str, systems: Sequence[str]) -> dict[str, Any]:
    """What the numbers were measured on."""
    manifest = getattr(getattr(assistant, "index", None), "manifest", {}) or {}
    settings = getattr(assistant, "settings", None)
    return {
        "date": date.today().isoformat(),
        "started_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "n_items": len(items),
        "subset": subset,
        "systems": list(systems),
        "embedder_id": manifest.get("embedder_id") or getattr(settings, "embedder", None),
        "index_build_id": manifest.get("build_id"),
        "n_chunks": manifest.get("n_chunks"),
        "llm": getattr(settings, "llm", "") or None,
        "code_fingerprint": code_fingerprint(),
        "python": platform.python_version(),
        # Latencies are wall-clock: a busy machine inflates them, so record how busy it was.
        "load_avg_start": _load_avg(),
    }


def _load_avg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def code_fingerprint() -> str:
    """sha256 (12 hex) of the assistant package's sources, evaluation excluded: ties a report to the code."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "evaluation" in path.relative_to(root).parts:
            continue
        digest.update(str(path.relative_to(root)).encode() + b"\x00" + path.read_bytes())
    return digest.hexdigest()[:12]


def _forget_queries(embeddings: Any) -> None:
    # The cached embedder keeps query vectors in memory; without this, every system after the
    # first would be timed on warm queries and look faster than it is.
    cache = getattr(embeddings, "_queries", None)
    if cache is not None and hasattr(cache, "clear"):
        with getattr(embeddings, "_lock", None) or contextlib.nullcontext():
            cache.clear()


def evaluate(
    assistant: Any,
    items: Sequence[dict[str, Any]],
    systems: Sequence[str] = ("assistant",),
    *,
    subset: str = "full",
    progress: bool = True,
    built: dict[str, System] | None = None,
) -> EvalRun:
    """Run each system on every item and compute the metrics (no files are written)."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    info = run_info(assistant, items, subset, systems)
    items = list(items)
    runners = built or build_systems(systems, assistant, progress=progress)
    known = frozenset(assistant.catalog.measures)
    records: dict[str, list[Record]] = {}
    with tqdm(total=len(items) * len(runners), desc="eval", unit="q", disable=not progress, file=sys.stderr) as bar:
        for name, system in runners.items():
            bar.set_description(f"eval {name}")
            _forget_queries(assistant.embeddings)
            rows: list[Record] = []
            for item in items:
                out = system.run(item)
                score = score_item(
                    item, system=name, ranking=out.ranking, ranked_docs=out.ranked_docs, cited=out.cited,
                    cited_docs=out.cited_docs, text=out.text,
                    abstained=is_abstention(out.answer, out.abstained) if name == "assistant" else out.abstained,
                    latency_ms=out.latency_ms, known_measures=known, error=out.error,
                )
                rows.append((item, score, out))
                bar.update(1)
            records[name] = rows
    for system in runners.values():
        close = getattr(system, "close", None)
        if close:
            close()
    metrics = {
        "run": info | {
            "systems": list(runners), "duration_s": round(time.perf_counter() - t0, 1), "load_avg_end": _load_avg(),
        },
        "systems": {name: summarize([s for _, s, _ in rows]) for name, rows in records.items()},
    }
    return EvalRun(items=items, records=records, metrics=metrics)


def run_judge(settings: Settings, records: Sequence[Record]) -> dict[str, Any]:
    """LLM ratings of the assistant's non-abstained answers, or a note that judging was skipped."""
    if not settings.llm:
        return {"skipped": "no LLM configured (set ASSISTANT_LLM or --llm)"}
    from assistant.evaluation.judge import judge_answers
    from assistant.llm import build_chat_model

    model = build_chat_model(settings.llm, settings.llm_base_url, settings.llm_timeout_s)
    rows = [
        {"id": item["id"], "question": item["question"], "answer": out.answer, "sources": out.sources}
        for item, score, out in records if score.answerable and not score.abstained
    ]
    return judge_answers(model, rows) | {"model": settings.llm}


# --- command line ----------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env().replace(
        index_dir=getattr(args, "index_dir", None), corpus_dir=getattr(args, "corpus_dir", None),
        embedder=getattr(args, "embedder", None), chroma_url=getattr(args, "chroma_url", None),
        llm=getattr(args, "llm", None),
    )


def summary_table(metrics: dict[str, Any]) -> str:
    """The systems × headline metrics table printed at the end of a run."""
    cols = [
        ("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("hit_at_10", "hit@10"), ("mrr", "MRR"),
        ("ndcg_at_10", "nDCG@10"), ("doc_hit_at_5", "doc hit@5"), ("citation_precision", "cit.prec"),
        ("citation_recall", "cit.rec"), ("fact_recall", "facts"), ("abstention_accuracy", "abst.acc"),
        ("false_abstention_rate", "false abst"), ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"),
    ]
    rows = [[name, *(d["overall"].get(k) for k, _ in cols)] for name, d in metrics["systems"].items()]
    return table(["system", *(h for _, h in cols)], rows)


def main(args: argparse.Namespace, *, assistant: Any = None) -> int:
    """``assistant eval``: run, write the report, optionally compare, judge and gate. Returns the exit code.

    ``assistant``: an already loaded :class:`~assistant.api.Assistant` to reuse (tests); by
    default one is built from the settings the flags describe.
    """
    from assistant.api import Assistant

    settings = _settings(args)
    subset = getattr(args, "subset", "full") or "full"
    names = [s.strip() for s in (getattr(args, "systems", None) or ",".join(SYSTEMS)).split(",") if s.strip()]
    as_json = bool(getattr(args, "json", False))
    human = sys.stderr if as_json else sys.stdout  # --json keeps stdout for the JSON document

    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        print(f"エラー: 不明なシステム: {', '.join(unknown)}（使えるもの: {', '.join(SYSTEMS)}）", file=sys.stderr)
        return 2
    if getattr(args, "gate", False) and "assistant" not in names:
        print("エラー: --gate には assistant システムが必要です (--systems に assistant を含めてください)", file=sys.stderr)
        return 2
    old = None
    if getattr(args, "compare", None):
        try:
            old = load_metrics(args.compare)
        except (OSError, ValueError) as exc:
            print(f"エラー: 比較対象の metrics.json を読めません: {args.compare} ({exc})", file=sys.stderr)
            return 2

    if assistant is None:
        assistant = Assistant(settings)
    items = load_items(ITEMS_PATH, subset)
    run = evaluate(assistant, items, names, subset=subset, progress=True)
    metrics = run.metrics

    if getattr(args, "judge", False):
        metrics["judge"] = run_judge(settings, run.records.get("assistant", []))
        if "skipped" in metrics["judge"]:
            print(f"LLM judge skipped: {metrics['judge']['skipped']}", file=human)

    changes: list[Change] | None = compare(old, metrics) if old is not None else None
    gate: list[str] | None = None
    if getattr(args, "gate", False):
        thresholds = load_thresholds(THRESHOLDS_PATH, subset)
        gate = check_gate(metrics["systems"]["assistant"]["overall"], thresholds)
        metrics["gate"] = {"subset": subset, "thresholds": thresholds, "missed": gate, "passed": not gate}

    out_dir = Path(args.out) if getattr(args, "out", None) else REPORTS_DIR / metrics["run"]["date"]
    paths = write_report(out_dir, metrics, run.records, changes, gate)

    if as_json:
        print(json.dumps(metrics, ensure_ascii=False, indent=2))
    else:
        print(summary_table(metrics), file=human)
    print(f"\nreport: {paths['report']}  metrics: {paths['metrics']}  chart: {paths['chart']}", file=human)
    if changes is not None:
        print(f"\nCompared with {args.compare}:", file=human)
        for c in changes or []:
            print(f"  {c.line()}", file=human)
        if not changes:
            print("  no metric changed", file=human)
    if gate is not None:
        if gate:
            print(f"\nGATE FAILED ([{subset}] thresholds, {THRESHOLDS_PATH.name}):", file=human)
            for miss in gate:
                print(f"  - {miss}", file=human)
            return 1
        print(f"\nGate passed ([{subset}] thresholds).", file=human)
    return 0


__all__ = [
    "ITEMS_PATH", "SYSTEMS", "THRESHOLDS_PATH", "EvalRun", "build_systems", "check_gate", "compare", "evaluate",
    "fmt", "load_items", "load_metrics", "load_thresholds", "main", "run_judge", "summary_table", "write_report",
]
