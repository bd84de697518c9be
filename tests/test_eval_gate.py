"""The quality gate of `make test`: the fast eval subset against the real index.

Runs the `assistant` and `hybrid` systems in-process on the items marked ``"fast": true``,
writes a report into ``test-artifacts/eval-fast/`` and requires the assistant to meet the
``[fast]`` thresholds of ``evals/thresholds.toml``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pytest

from assistant.evaluation import THRESHOLDS_PATH, evaluate, load_items, main
from assistant.evaluation.metrics import check_gate, load_thresholds
from assistant.evaluation.report import write_report

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "eval-fast"
BUDGET_S = 120


@pytest.fixture(scope="module")
def fast_run(assistant):
    t0 = time.perf_counter()
    items = load_items(subset="fast")
    run = evaluate(assistant, items, ["assistant", "hybrid"], subset="fast", progress=False)
    thresholds = load_thresholds(THRESHOLDS_PATH, "fast")
    gate = check_gate(run.metrics["systems"]["assistant"]["overall"], thresholds)
    run.metrics["gate"] = {"subset": "fast", "thresholds": thresholds, "missed": gate, "passed": not gate}
    paths = write_report(ARTIFACTS, run.metrics, run.records, gate=gate)
    return run, gate, paths, time.perf_counter() - t0


def test_fast_subset_covers_every_category(fast_run):
    run, _gate, _paths, _elapsed = fast_run
    cats = run.metrics["systems"]["assistant"]["by_category"]
    assert set(cats) == {i["category"] for i in load_items(subset="full")}
    assert run.metrics["run"]["n_items"] == len(load_items(subset="fast"))
    assert run.metrics["run"]["index_build_id"]


def test_no_system_errors(fast_run):
    run, _gate, _paths, _elapsed = fast_run
    errors = [(name, s.item_id, o.error) for name, rows in run.records.items() for _, s, o in rows if o.error]
    assert not errors, errors


def test_report_written(fast_run):
    _run, _gate, paths, _elapsed = fast_run
    assert json.loads(paths["metrics"].read_text(encoding="utf-8"))["run"]["subset"] == "fast"
    assert "## assistant — per category" in paths["report"].read_text(encoding="utf-8")
    assert paths["chart"].read_bytes()[:4] == b"\x89PNG"


def test_fast_eval_reports_its_duration(fast_run, capsys):
    """The budget is 2 minutes; timing is reported, not asserted (the machine may be shared)."""
    *_, elapsed = fast_run
    with capsys.disabled():
        print(f"\nfast eval: {elapsed:.1f} s (budget {BUDGET_S} s)")
    assert elapsed > 0


def test_assistant_meets_fast_thresholds(fast_run):
    _run, gate, paths, _elapsed = fast_run
    assert not gate, "quality gate missed ([fast] thresholds):\n" + "\n".join(gate) + f"\nsee {paths['report']}"


def test_cli_json_compare_and_gate_exit_code(tmp_path, capsys, assistant):
    """`assistant eval --json --compare --judge` through ``main`` (bm25 only, so it takes a second):
    JSON on stdout, the comparison in the report, exit code 2 for a gate without the assistant."""
    args = argparse.Namespace(json=True, subset="fast", systems="bm25", out=str(tmp_path / "r1"),
                              compare=None, judge=True, gate=False)
    assert main(args, assistant=assistant) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["systems"]) == {"bm25"} and data["run"]["subset"] == "fast"
    assert data["judge"].get("skipped") or data["judge"].get("n_rated") is not None

    args.out, args.compare, args.judge = str(tmp_path / "r2"), str(tmp_path / "r1" / "metrics.json"), False
    assert main(args, assistant=assistant) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["systems"]["bm25"]["overall"]["n"] == data["systems"]["bm25"]["overall"]["n"]
    # Same index, same items, deterministic BM25: no quality metric may move between the runs.
    assert "bm25 hit_at_5" not in captured.err and "bm25 fact_recall" not in captured.err
    assert "## Compared with the previous run" in (tmp_path / "r2" / "report.md").read_text(encoding="utf-8")
    assert (tmp_path / "r2" / "chart.png").is_file()

    args.gate = True
    assert main(args, assistant=assistant) == 2
