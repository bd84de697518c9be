"""The evaluation runner: ``python -m assistant eval`` over ``evals/items.jsonl`` and the held-out suites.

The suites are the rows of one ordered table, :data:`~assistant.evaluation.suites.SUITES`: ``dev``
(``items.jsonl``, the development suite), ``heldout`` (``heldout.jsonl``, never used for tuning),
``heldout2`` … ``heldout12`` (each written after the earlier ones had
partly leaked into tuning or been consulted). ``--suite <name>`` runs one of them, ``--suite both``
(the default) dev and heldout, ``--suite all`` every suite of the table, reported side by side.
Runs several systems on the same items — a textbook RAG baseline (``naive``), the project's
``bm25``, ``dense`` and ``hybrid`` retrievers, and the full ``assistant`` — and measures
retrieval (hit@k, MRR, nDCG@10), citations (precision/recall), facts, abstention and latency,
overall, per category and per follow-up turn. Writes ``metrics.json``, ``report.md``,
``chart.png`` and ``results.jsonl``; ``--compare`` diffs against an older ``metrics.json``;
``--gate`` applies ``evals/thresholds.toml`` (``[fast]``/``[full]``) to the assistant on the dev
suite; the ``[heldout]`` thresholds are checked and reported for each held-out suite
(:data:`HELDOUT_SUITES`) but only fail the run with ``--gate-heldout``.

``metrics.json`` keeps the single-suite shape at its top level (``run``, ``systems``, ``gate``: the
first suite that ran) and adds ``suites: {dev: {run, systems, gate?}, heldout: {run, systems, gate},
heldout2: …, …}`` and ``gate_heldout`` (the gate of the first held-out suite that ran).

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
from assistant.evaluation.suites import HELDOUT_SUITES, SUITE_CHOICES, SUITE_GROUPS, SUITE_PATHS, SUITES
from assistant.evaluation.systems import AssistantSystem, NaiveRAG, Output, RetrieverSystem, System

# The suite files (from the suite table, assistant/evaluation/suites.py).
ITEMS_PATH = SUITE_PATHS["dev"]
HELDOUT_PATH = SUITE_PATHS["heldout"]
HELDOUT2_PATH = SUITE_PATHS["heldout2"]
HELDOUT3_PATH = SUITE_PATHS["heldout3"]
HELDOUT4_PATH = SUITE_PATHS["heldout4"]
HELDOUT5_PATH = SUITE_PATHS["heldout5"]
HELDOUT6_PATH = SUITE_PATHS["heldout6"]
HELDOUT7_PATH = SUITE_PATHS["heldout7"]
HELDOUT8_PATH = SUITE_PATHS["heldout8"]
HELDOUT9_PATH = SUITE_PATHS["heldout9"]
HELDOUT10_PATH = SUITE_PATHS["heldout10"]
HELDOUT11_PATH = SUITE_PATHS["heldout11"]
HELDOUT12_PATH = SUITE_PATHS["heldout12"]
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


def run_info(
    assistant: Any, items: Sequence[dict], subset: str, systems: Sequence[str], suite: str | None = None,
) -> dict[str, Any]:
    """What the numbers were measured on."""
    manifest = getattr(getattr(assistant, "index", None), "manifest", {}) or {}
    settings = getattr(assistant, "settings", None)
    info = {
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
    if suite:
        info["suite"] = suite
        info["items_path"] = str(SUITE_PATHS[suite].relative_to(PROJECT_ROOT)) if suite in SUITE_PATHS else None
    return info


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
    suite: str | None = None,
    close: bool = True,
) -> EvalRun:
    """Run each system on every item and compute the metrics (no files are written).

    ``built``: systems already built (reused across suites); ``close=False`` leaves them open.
    ``suite``: the name of a suite of :data:`SUITES` (``dev``, ``heldout``, …), recorded in ``metrics["run"]``.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    info = run_info(assistant, items, subset, systems, suite)
    items = list(items)
    runners = built or build_systems(systems, assistant, progress=progress)
    known = frozenset(assistant.catalog.measures)
    records: dict[str, list[Record]] = {}
    label = f"eval {suite}" if suite else "eval"
    with tqdm(total=len(items) * len(runners), desc=label, unit="q", disable=not progress, file=sys.stderr) as bar:
        for name, system in runners.items():
            bar.set_description(f"{label} {name}")
            _forget_queries(assistant.embeddings)
            rows: list[Record] = []
            for item in items:
                out = system.run(item)
                score = score_item(
                    item, system=name, ranking=out.ranking, ranked_docs=out.ranked_docs, cited=out.cited,
                    cited_docs=out.cited_docs, text=out.text,
                    abstained=is_abstention(out.answer, out.abstained) if name == "assistant" else out.abstained,
                    latency_ms=out.latency_ms, known_measures=known, error=out.error,
                    first_line=out.first_line, answer=out.answer,
                )
                rows.append((item, score, out))
                bar.update(1)
            records[name] = rows
    if close:
        close_systems(runners)
    metrics = {
        "run": info | {
            "systems": list(runners), "duration_s": round(time.perf_counter() - t0, 1), "load_avg_end": _load_avg(),
        },
        "systems": {name: summarize([s for _, s, _ in rows]) for name, rows in records.items()},
    }
    return EvalRun(items=items, records=records, metrics=metrics)


def close_systems(systems: dict[str, System]) -> None:
    """Release what the systems hold (the naive baseline's sqlite handle)."""
    for system in systems.values():
        closer = getattr(system, "close", None)
        if closer:
            closer()


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


SUMMARY_COLUMNS = [
    ("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("hit_at_10", "hit@10"), ("mrr", "MRR"),
    ("ndcg_at_10", "nDCG@10"), ("doc_hit_at_5", "doc hit@5"), ("citation_precision", "cit.prec"),
    ("citation_recall", "cit.rec"), ("fact_recall", "facts"), ("first_line_fact", "1st-line"),
    ("abstention_accuracy", "abst.acc"), ("false_abstention_rate", "false abst"),
    ("task_declined", "task decl"), ("conversation_hit", "conv hit"), ("list_recall", "list rec"),
    ("answer_chars_p50", "chars p50"), ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"),
]


def summary_table(metrics: dict[str, Any]) -> str:
    """The systems × headline metrics table printed at the end of a run (one suite)."""
    cols = SUMMARY_COLUMNS
    rows = [[name, *(d["overall"].get(k) for k, _ in cols)] for name, d in metrics["systems"].items()]
    return table(["system", *(h for _, h in cols)], rows)


def summary_text(metrics: dict[str, Any]) -> str:
    """What the command prints: one table per suite, then the dev-vs-held-out headline table."""
    from assistant.evaluation.report import headline_table

    suites = metrics.get("suites") or {}
    if len(suites) < 2:
        return summary_table(metrics)
    parts = [f"== {suite} ({data['run']['n_items']} items) ==\n{summary_table(data)}" for suite, data in suites.items()]
    parts.append(f"== dev vs held-out ==\n{headline_table(suites)}")
    return "\n\n".join(parts)


def compare_suites(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """:func:`compare` on the top-level (primary suite) metrics, plus each held-out suite that both
    runs have (its changes are labelled ``system [heldout]``, ``system [heldout2]``, …), in table order."""
    changes = compare(old, new)
    primary = (new.get("run") or {}).get("suite")
    for suite in HELDOUT_SUITES:
        old_h = (old.get("suites") or {}).get(suite)
        new_h = (new.get("suites") or {}).get(suite)
        if old_h and new_h and primary != suite:
            changes += [
                Change(f"{c.system} [{suite}]", c.metric, c.old, c.new, c.improved) for c in compare(old_h, new_h)
            ]
    return changes


def main(args: argparse.Namespace, *, assistant: Any = None, settings: Settings | None = None) -> int:
    """``assistant eval``: run, write the report, optionally compare, judge and gate. Returns the exit code.

    ``assistant``: an already loaded :class:`~assistant.api.Assistant` to reuse (tests); by
    default one is built from the settings the flags describe. ``args.suite``: a suite name of
    :data:`SUITES`, ``both`` (default: dev + heldout) or ``all`` (every suite). ``args.gate``: gate the
    dev suite; ``args.gate_heldout``: make the (otherwise report-only) held-out gates fail the run.
    """
    from assistant.api import Assistant

    # The CLI maps its flags onto Settings in one place (cli.settings_from_args) and passes them in.
    settings = settings or Settings.from_env()
    subset = getattr(args, "subset", "full") or "full"
    suite_arg = getattr(args, "suite", None) or "both"
    names = [s.strip() for s in (getattr(args, "systems", None) or ",".join(SYSTEMS)).split(",") if s.strip()]
    as_json = bool(getattr(args, "json", False))
    human = sys.stderr if as_json else sys.stdout  # --json keeps stdout for the JSON document
    want_gate = bool(getattr(args, "gate", False))
    want_gate_heldout = bool(getattr(args, "gate_heldout", False))

    if suite_arg not in SUITE_CHOICES:
        print(f"エラー: 不明なスイート: {suite_arg}（使えるもの: {', '.join(SUITE_CHOICES)}）", file=sys.stderr)
        return 2
    suites = list(SUITE_GROUPS.get(suite_arg, (suite_arg,)))
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        print(f"エラー: 不明なシステム: {', '.join(unknown)}（使えるもの: {', '.join(SYSTEMS)}）", file=sys.stderr)
        return 2
    if (want_gate or want_gate_heldout) and "assistant" not in names:
        print("エラー: --gate には assistant システムが必要です (--systems に assistant を含めてください)", file=sys.stderr)
        return 2
    if want_gate and "dev" not in suites:
        print("エラー: --gate は dev スイートのしきい値です (--suite dev|both|all、held-out は --gate-heldout)", file=sys.stderr)
        return 2
    if want_gate_heldout and not any(s in HELDOUT_SUITES for s in suites):
        heldout_choices = "|".join((*HELDOUT_SUITES, *SUITE_GROUPS))
        print(f"エラー: --gate-heldout には held-out スイートが必要です (--suite {heldout_choices})", file=sys.stderr)
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
    built = build_systems(names, assistant, progress=True)
    runs: dict[str, EvalRun] = {}
    try:
        for suite in suites:
            items = load_items(SUITE_PATHS[suite], subset)
            runs[suite] = evaluate(assistant, items, names, subset=subset, progress=True, built=built,
                                   suite=suite, close=False)
    finally:
        close_systems(built)

    primary = suites[0]
    metrics: dict[str, Any] = {
        "run": dict(runs[primary].metrics["run"]) | {"suite": suite_arg if len(suites) > 1 else primary},
        "systems": runs[primary].metrics["systems"],
        "suites": {s: runs[s].metrics for s in suites},
    }

    if getattr(args, "judge", False):
        metrics["judge"] = run_judge(settings, runs[primary].records.get("assistant", []))
        if "skipped" in metrics["judge"]:
            print(f"LLM judge skipped: {metrics['judge']['skipped']}", file=human)

    changes: list[Change] | None = compare_suites(old, metrics) if old is not None else None
    gate: list[str] | None = None
    if want_gate:
        thresholds = load_thresholds(THRESHOLDS_PATH, subset)
        gate = check_gate(runs["dev"].metrics["systems"]["assistant"]["overall"], thresholds)
        metrics["gate"] = {"suite": "dev", "subset": subset, "thresholds": thresholds, "missed": gate, "passed": not gate}
        metrics["suites"]["dev"]["gate"] = metrics["gate"]
    # The [heldout] thresholds apply to every held-out suite that ran (report-only unless --gate-heldout).
    heldout_gates: dict[str, list[str]] = {}
    for suite in (s for s in suites if s in HELDOUT_SUITES and "assistant" in names):
        thresholds = load_thresholds(THRESHOLDS_PATH, "heldout")
        missed = check_gate(runs[suite].metrics["systems"]["assistant"]["overall"], thresholds)
        metrics["suites"][suite]["gate"] = {
            "suite": suite, "subset": subset, "thresholds": thresholds, "missed": missed,
            "passed": not missed, "enforced": want_gate_heldout,
        }
        metrics.setdefault("gate_heldout", metrics["suites"][suite]["gate"])
        heldout_gates[suite] = missed

    out_dir = Path(args.out) if getattr(args, "out", None) else REPORTS_DIR / metrics["run"]["date"]
    report_gate = gate if primary == "dev" else heldout_gates.get(primary)
    paths = write_report(out_dir, metrics, runs[primary].records, changes, report_gate,
                         suite_records={s: r.records for s, r in runs.items()})

    if as_json:
        print(json.dumps(metrics, ensure_ascii=False, indent=2))
    else:
        print(summary_text(metrics), file=human)
    print(f"\nreport: {paths['report']}  metrics: {paths['metrics']}  chart: {paths['chart']}", file=human)
    if changes is not None:
        print(f"\nCompared with {args.compare}:", file=human)
        for c in changes or []:
            print(f"  {c.line()}", file=human)
        if not changes:
            print("  no metric changed", file=human)
    code = 0
    if gate is not None:
        if gate:
            print(f"\nGATE FAILED ([{subset}] thresholds, {THRESHOLDS_PATH.name}):", file=human)
            for miss in gate:
                print(f"  - {miss}", file=human)
            code = 1
        else:
            print(f"\nGate passed ([{subset}] thresholds).", file=human)
    mode = "enforced" if want_gate_heldout else "report-only"
    for suite, missed in heldout_gates.items():
        label = "Held-out gate" if suite == "heldout" else f"Held-out gate ({suite})"
        if missed:
            print(f"\n{label} missed ([heldout] thresholds, {mode}):", file=human)
            for miss in missed:
                print(f"  - {miss}", file=human)
            if want_gate_heldout:
                code = 1
        else:
            print(f"\n{label} passed ([heldout] thresholds, {mode}).", file=human)
    return code


__all__ = [
    "HELDOUT2_PATH", "HELDOUT3_PATH", "HELDOUT4_PATH", "HELDOUT5_PATH", "HELDOUT6_PATH", "HELDOUT7_PATH", "HELDOUT8_PATH",
    "HELDOUT9_PATH",
    "HELDOUT_PATH",
    "HELDOUT_SUITES",
    "ITEMS_PATH", "SUITES", "SUITE_CHOICES", "SUITE_GROUPS", "SUITE_PATHS", "SYSTEMS", "THRESHOLDS_PATH",
    "EvalRun", "build_systems",
    "check_gate", "close_systems", "compare", "compare_suites", "evaluate", "fmt", "load_items", "load_metrics",
    "load_thresholds", "main", "run_judge", "summary_table", "summary_text", "write_report",
]
