"""The evaluation metrics, comparison, gate and report writing, on small hand-made inputs."""

from __future__ import annotations

import json
import math

import pytest

from assistant.evaluation.metrics import (
    ABSTENTION_PHRASE,
    aggregate,
    bracketed_measures,
    check_gate,
    compare,
    fact_recall,
    facts_found,
    hit_at_k,
    is_abstention,
    load_thresholds,
    match_key,
    ndcg_at_k,
    percentile,
    precision_counts,
    recall,
    reciprocal_rank,
    score_item,
    summarize,
)
from assistant.evaluation.report import badness, render_markdown, worst_failures, write_report
from assistant.evaluation.systems import Output, naive_measures, passages_output

KNOWN = frozenset({"1-57", "1-59", "3-43", "3-47", "2-1"})


def measure_item(**kw):
    base = {
        "id": "lookup-001", "question": "No. 1-57 の主担当は？", "category": "lookup",
        "expected_measures": ["1-57"], "acceptable_measures": ["1-57", "1-59"], "expected_doc": "plan2025",
        "answer_facts": ["警察庁", "約125万者"],
    }
    return base | kw


def section_item(**kw):
    base = {
        "id": "section-001", "question": "光ファイバの整備率は？", "category": "section",
        "expected_measures": [], "acceptable_measures": [], "expected_doc": "plan2025", "answer_facts": ["99.8%"],
    }
    return base | kw


def oos_item(**kw):
    base = {
        "id": "out-of-scope-021", "question": "No. 9-99 の主担当は？", "category": "out_of_scope",
        "expected_measures": [], "acceptable_measures": [], "expected_doc": None, "answer_facts": [],
    }
    return base | kw


def score(item, *, ranking=(), docs=(), cited=(), cited_docs=(), text="", abstained=False, latency=1.0, system="s"):
    return score_item(
        item, system=system, ranking=list(ranking), ranked_docs=list(docs), cited=list(cited),
        cited_docs=list(cited_docs), text=text, abstained=abstained, latency_ms=latency, known_measures=KNOWN,
    )


# --- ranking metrics ---------------------------------------------------------------------------


def test_hit_at_k():
    ranking = ["2-1", "3-43", "1-57"]
    assert hit_at_k(ranking, {"1-57"}, 1) == 0.0
    assert hit_at_k(ranking, {"1-57"}, 3) == 1.0
    assert hit_at_k(ranking, {"1-57"}, 2) == 0.0
    assert hit_at_k([], {"1-57"}, 5) == 0.0


def test_reciprocal_rank():
    assert reciprocal_rank(["a", "b", "c"], {"c"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a", "b", "c"], {"b", "c"}) == pytest.approx(1 / 2)
    assert reciprocal_rank(["a", "b", "c"], {"z"}) == 0.0
    assert reciprocal_rank(["a", "b", "c"], {"c"}, k=2) == 0.0


def test_ndcg_binary_relevance():
    assert ndcg_at_k(["a", "b"], {"a"}) == pytest.approx(1.0)
    # One relevant at rank 2: 1/log2(3) over the ideal 1/log2(2).
    assert ndcg_at_k(["x", "a"], {"a"}) == pytest.approx(1 / math.log2(3))
    # Two relevant, one found at rank 1: 1 / (1 + 1/log2(3)).
    assert ndcg_at_k(["a", "x"], {"a", "b"}) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(["x"] * 10 + ["a"], {"a"}, k=10) == 0.0
    assert ndcg_at_k(["a"], set()) == 0.0


def test_precision_and_recall():
    assert precision_counts(["1-57", "2-1", "9-99"], {"1-57", "1-59"}) == (1, 3)
    assert precision_counts([], {"1-57"}) == (0, 0)
    assert recall(["1-57"], ["1-57", "3-43"]) == 0.5
    assert recall([], []) == 1.0


def test_percentile():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile(list(map(float, range(101))), 95) == pytest.approx(95.0)


# --- text matching ---------------------------------------------------------------------------


def test_fact_recall_nfkc_and_whitespace():
    # Full-width digits, a stray space and a line break in the answer still match the fact.
    text = "登録事業者は約 １２５ 万者\nです。主担当は警 察庁"
    assert match_key("約 125 万者") == "約125万者"
    assert facts_found(["約125万者", "警察庁", "総務省"], text) == [True, True, False]
    assert fact_recall(["約125万者", "警察庁", "総務省"], text) == pytest.approx(2 / 3)
    assert fact_recall([], "anything") == 1.0


def test_fact_recall_ignores_footnote_tags():
    assert fact_recall(["99.8%、2024年"], "整備率は99.8%<sup>2</sup>、2024年3月") == 1.0
    assert fact_recall(["ｅ－Ｔａｘ"], "e-Taxの利用") == 1.0


def test_bracketed_measures():
    text = "主担当は警察庁です [No. 1-57]。関連: [No.3-43]、［Ｎｏ．１－５７］, No. 2-1 (not bracketed)"
    assert bracketed_measures(text) == ["1-57", "3-43"]


def test_naive_measures_regex():
    assert naive_measures("○[No. 1-57] 運転免許証 … ○[No. 1-59] …No.1-57") == ["1-57", "1-59"]
    assert naive_measures("Ｎｏ．３－４３") == ["3-43"]
    assert naive_measures("no number here 2025-06") == []


def test_is_abstention():
    assert is_abstention("anything", True)
    assert is_abstention(f"ご質問については{ABSTENTION_PHRASE}。", False)
    assert is_abstention("No. 1-57 はありますが、予算については計画には 記載がありません [No. 1-57]", False)
    assert not is_abstention("No. 1-57「…」には具体的な目標の記載がありません [No. 1-57]", False)


# --- per-item scoring and aggregation ----------------------------------------------------------


def test_score_measure_item():
    s = score(measure_item(), ranking=["2-1", "1-59", "1-57"], cited=["2-1", "1-59", "1-57"],
              text="主担当は警察庁です。")
    assert (s.hit_at_1, s.hit_at_5) == (0.0, 1.0)
    assert s.rr == pytest.approx(0.5)  # 1-59 is acceptable
    assert (s.cited_ok, s.cited_total) == (2, 3)
    assert s.citation_recall == 1.0
    assert (s.facts_ok, s.facts_total) == (1, 2)
    assert s.doc_hit_at_5 is None and s.abstention_ok is None


def test_score_doc_item():
    s = score(section_item(), docs=["cio-forum-2021", "plan2025"], cited_docs=["cio-forum-2021", "plan2025"],
              text="99.8%")
    assert s.hit_at_5 is None and not s.measure_item
    assert (s.doc_hit_at_1, s.doc_hit_at_5) == (0.0, 1.0)
    assert (s.doc_cited_ok, s.doc_cited_total) == (1, 2)
    assert s.doc_citation_recall == 1.0
    assert s.facts_ok == 1


def test_abstention_accounting():
    ok = score(oos_item(), abstained=True, text="No. 9-99 という施策は計画にありません。")
    assert ok.abstention_ok is True
    # Naming an existing measure for context is fine.
    context = score(oos_item(id="out-of-scope-008"), abstained=True, cited=["1-57"])
    assert context.abstention_ok is True
    # Presenting a nonexistent number as a measure fails even when flagged as abstained.
    invented = score(oos_item(), abstained=True, cited=["9-99"])
    assert invented.abstention_ok is False and invented.invented == ["9-99"]
    answered = score(oos_item(), abstained=False, cited=["1-57"])
    assert answered.abstention_ok is False

    false_abst = score(measure_item(), abstained=True)
    agg = aggregate([ok, context, invented, answered, false_abst, score(measure_item(), ranking=["1-57"])])
    assert agg["n_out_of_scope"] == 4
    assert agg["abstention_accuracy"] == pytest.approx(2 / 4)
    assert agg["false_abstention_rate"] == pytest.approx(1 / 2)


def test_aggregate_pools_precision_and_facts():
    a = score(measure_item(), ranking=["1-57"], cited=["1-57"], text="警察庁 約125万者")
    b = score(measure_item(id="lookup-002"), ranking=["2-1", "3-43", "3-47"], cited=["2-1", "3-43", "3-47"],
              text="")
    c = score(section_item(), docs=["plan2025"], cited_docs=["plan2025"], text="none")
    agg = aggregate([a, b, c])
    assert agg["n"] == 3 and agg["n_measure"] == 2 and agg["n_doc"] == 1
    assert agg["hit_at_5"] == 0.5
    assert agg["citation_precision"] == pytest.approx(1 / 4)  # pooled: 1 right of 4 cited
    assert agg["fact_recall"] == pytest.approx(2 / 5)  # pooled: 2 of 2+2+1 facts
    assert agg["doc_hit_at_5"] == 1.0
    assert agg["abstention_accuracy"] is None  # no out_of_scope item in the group


def test_summarize_groups_by_category_and_turn():
    f2 = score(measure_item(id="followup-001", category="followup", turn=2), ranking=["1-57"])
    f3 = score(measure_item(id="followup-002", category="followup", turn=3), ranking=["2-1"])
    s = summarize([f2, f3, score(measure_item(), ranking=["1-57"])])
    assert set(s["by_category"]) == {"followup", "lookup"}
    assert s["followup_by_turn"]["2"]["hit_at_1"] == 1.0
    assert s["followup_by_turn"]["3"]["hit_at_1"] == 0.0
    assert s["overall"]["hit_at_1"] == pytest.approx(2 / 3)


def test_passages_output_cites_top3_distinct_measures():
    out = passages_output(["1-57", "1-57", None, "3-43", "2-1", "3-47"], ["plan2025"] * 6, list("abcdef"))
    assert out.ranking == ["1-57", "3-43", "2-1", "3-47"]
    assert out.cited == ["1-57", "3-43", "2-1"]
    assert out.cited_docs == ["plan2025"] * 3
    assert out.text == "a\nb\nc" and not out.abstained


# --- gate and comparison ---------------------------------------------------------------------


def test_check_gate_lists_every_miss(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[fast]\nhit_at_5 = 0.9\nfact_recall = 0.8\nfalse_abstention_max = 0.1\n"
                    "abstention_accuracy = 0.85\n", encoding="utf-8")
    thr = load_thresholds(path, "fast")
    good = {"hit_at_5": 0.95, "fact_recall": 0.8, "false_abstention_rate": 0.05, "abstention_accuracy": 0.9}
    assert check_gate(good, thr) == []
    bad = {"hit_at_5": 0.5, "fact_recall": 0.9, "false_abstention_rate": 0.2, "abstention_accuracy": None}
    misses = check_gate(bad, thr)
    assert len(misses) == 3
    assert any(m.startswith("hit_at_5 = 0.500 < 0.900") for m in misses)
    assert any("false_abstention_rate = 0.200 > 0.100" in m for m in misses)
    assert any("abstention_accuracy: not measured" in m for m in misses)
    with pytest.raises(ValueError):
        load_thresholds(path, "full")


def test_project_thresholds_are_all_known():
    from assistant.evaluation import THRESHOLDS_PATH

    for subset in ("fast", "full"):
        thr = load_thresholds(THRESHOLDS_PATH, subset)
        assert not [m for m in check_gate({}, thr) if "unknown threshold" in m]


def test_compare_directions():
    old = {"systems": {"assistant": {"overall": {
        "hit_at_5": 0.8, "false_abstention_rate": 0.1, "fact_recall": 0.7, "latency_p50_ms": 10.0,
        "latency_p95_ms": 20.0, "n": 59}}}, "gone": {"overall": {"hit_at_5": 1.0}}}
    new = {"systems": {"assistant": {"overall": {
        "hit_at_5": 0.9, "false_abstention_rate": 0.2, "fact_recall": 0.7, "latency_p50_ms": 10.5,
        "latency_p95_ms": 40.0, "n": 60}}, "hybrid": {"overall": {"hit_at_5": 0.5}}}}
    changes = {c.metric: c for c in compare(old, new)}
    assert set(changes) == {"hit_at_5", "false_abstention_rate", "latency_p95_ms"}
    assert changes["hit_at_5"].improved and changes["hit_at_5"].delta == pytest.approx(0.1)
    assert not changes["false_abstention_rate"].improved  # lower is better
    assert not changes["latency_p95_ms"].improved
    assert "0.800 → 0.900 (+0.100, improved)" in changes["hit_at_5"].line()


# --- report --------------------------------------------------------------------------------------


def _records():
    items = [measure_item(), section_item(), oos_item()]
    outs = [
        Output(["2-1"], ["plan2025"], ["2-1"], ["plan2025"], "関係ない", first_line="No. 2-1 …", labels=["No. 2-1"]),
        Output([], ["plan2025"], [], ["plan2025"], "99.8%", first_line="99.8% です", labels=["重点計画 > 第1"]),
        Output([], [], [], [], "ありません", first_line="No. 9-99 という施策は計画にありません。", abstained=True),
    ]
    rows = []
    for item, out in zip(items, outs, strict=True):
        s = score(item, ranking=out.ranking, docs=out.ranked_docs, cited=out.cited, cited_docs=out.cited_docs,
                  text=out.text, abstained=out.abstained, system="assistant")
        rows.append((item, s, out))
    return rows


def _metrics(rows):
    return {
        "run": {"date": "2026-01-01", "n_items": len(rows), "subset": "fast", "embedder_id": "e",
                "index_build_id": "b", "duration_s": 1.0},
        "systems": {"assistant": summarize([s for _, s, _ in rows]),
                    "hybrid": summarize([s for _, s, _ in rows])},
    }


def test_worst_failures_only_lists_failures():
    rows = _records()
    worst = worst_failures(rows)
    assert [s.item_id for _, s, _ in worst] == ["lookup-001"]
    assert badness(rows[0][1]) == 1.0 and badness(rows[2][1]) == 0.0


def test_write_report(tmp_path):
    rows = _records()
    metrics = _metrics(rows)
    changes = compare({"systems": {"assistant": {"overall": {"hit_at_5": 1.0}}}}, metrics)
    paths = write_report(tmp_path / "out", metrics, {"assistant": rows}, changes, ["hit_at_5 = 0.000 < 0.900"])
    data = json.loads(paths["metrics"].read_text(encoding="utf-8"))
    assert data["systems"]["assistant"]["overall"]["hit_at_5"] == 0.0
    md = paths["report"].read_text(encoding="utf-8")
    for heading in ("## Systems — retrieval", "## assistant — per category", "## Gate", "## Compared with",
                    "worst failures"):
        assert heading in md
    assert "MISSED hit_at_5" in md and "assistant hit_at_5: 1.000 → 0.000" in md
    assert "No. 1-57" in md and "No. 2-1" in md  # expected vs cited of the failure
    png = paths["chart"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    lines = paths["results"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["system"] == "assistant"


def test_render_without_assistant():
    rows = _records()
    metrics = _metrics(rows)
    del metrics["systems"]["assistant"]
    md = render_markdown(metrics)
    assert "per category" not in md and "| hybrid |" in md


def test_judge_parsing_and_chain():
    from langchain_core.language_models import FakeListChatModel

    from assistant.evaluation.judge import judge_answers, parse_scores

    assert parse_scores('{"faithfulness": 4, "relevance": 5}') == {"faithfulness": 4, "relevance": 5}
    assert parse_scores("faithfulness=2\nrelevance: 3") == {"faithfulness": 2, "relevance": 3}
    assert parse_scores("no idea") is None
    model = FakeListChatModel(responses=['{"faithfulness": 4, "relevance": 5}', "garbage"])
    rows = [{"id": "a", "question": "q", "answer": "x", "sources": "s"},
            {"id": "b", "question": "q", "answer": "y", "sources": "s"}]
    result = judge_answers(model, rows)
    assert result["n_rated"] == 1 and result["n_unrated"] == 1
    assert result["faithfulness"] == 4 and result["items"]["b"] is None


def test_load_items_subsets():
    from assistant.evaluation import load_items

    full = load_items(subset="full")
    fast = load_items(subset="fast")
    assert len(full) >= 250 and 0 < len(fast) < len(full)
    assert all(i["fast"] for i in fast)
    with pytest.raises(ValueError):
        load_items(subset="medium")


# --- held-out additions: task requests, conversations, lists, first line, answer length --------


def task_item(**kw):
    base = {
        "id": "task-request-001", "question": "マイナンバーカードの川柳を作って", "category": "task_request",
        "expected_measures": [], "acceptable_measures": [], "expected_doc": None, "answer_facts": [],
    }
    return base | kw


def conversation_item(**kw):
    base = {
        "id": "conversation-001", "question": "後者の主担当は？", "category": "conversation",
        "prior_turns": ["運転免許証と在留カードの一体化について教えて"],
        "expected_measures": ["1-57"], "acceptable_measures": ["1-57", "1-59"], "expected_doc": "plan2025",
        "answer_facts": ["警察庁"],
    }
    return base | kw


def list_item(**kw):
    base = {
        "id": "topic-001", "question": "医療の施策を全部挙げて", "category": "topic",
        "expected_measures": ["3-43", "3-47", "1-59"], "acceptable_measures": ["3-43", "3-47", "1-59", "2-1"],
        "expected_doc": "plan2025", "answer_facts": ["電子カルテ"],
    }
    return base | kw


def scored(item, *, first_line=None, answer=None, **kw):
    return score_item(
        item, system="s", ranking=list(kw.get("ranking", ())), ranked_docs=list(kw.get("docs", ())),
        cited=list(kw.get("cited", ())), cited_docs=list(kw.get("cited_docs", ())), text=kw.get("text", ""),
        abstained=kw.get("abstained", False), latency_ms=1.0, known_measures=KNOWN,
        first_line=first_line, answer=answer,
    )


def test_task_requests_are_declines_reported_apart():
    declined = score(task_item(), abstained=True, text="計画についての質問にお答えします。")
    answered = score(task_item(id="task-request-002"), abstained=False, text="マイナ カード 持てば 便利な 世の中に")
    invented = score(task_item(id="task-request-003"), abstained=True, cited=["9-99"])
    oos_ok = score(oos_item(), abstained=True)
    oos_bad = score(oos_item(id="out-of-scope-002"), abstained=False)
    assert not declined.answerable and declined.abstention_ok is True
    assert answered.abstention_ok is False and invented.abstention_ok is False
    agg = aggregate([declined, answered, invented, oos_ok, oos_bad, score(measure_item(), ranking=["1-57"])])
    assert agg["n_task_request"] == 3 and agg["n_out_of_scope"] == 2 and agg["n_answerable"] == 1
    assert agg["task_declined"] == pytest.approx(1 / 3)
    assert agg["abstention_accuracy"] == pytest.approx(1 / 2)  # out_of_scope only, tasks kept apart
    assert agg["false_abstention_rate"] == 0.0  # declining a task is no false abstention
    assert aggregate([oos_ok])["task_declined"] is None
    assert badness(answered) == 1.0 and badness(declined) == 0.0


def test_conversation_hit_is_hit_at_5_on_the_final_turn():
    hit = score(conversation_item(), ranking=["2-1", "1-59"], cited=["1-59"], text="警察庁")
    miss = score(conversation_item(id="conversation-002"), ranking=["2-1", "3-43", "3-47", "1-1", "1-2", "1-57"])
    agg = aggregate([hit, miss, score(measure_item(), ranking=["2-1"])])
    assert agg["n_conversation"] == 2
    assert agg["conversation_hit"] == pytest.approx(1 / 2)  # 1-57 at rank 6 is outside the top 5
    s = summarize([hit, miss])
    assert s["by_category"]["conversation"]["conversation_hit"] == pytest.approx(0.5)
    assert aggregate([score(measure_item(), ranking=["1-57"])])["conversation_hit"] is None


def test_list_recall_and_list_citation_precision():
    a = score(list_item(), ranking=["3-43", "2-1", "1-1"], cited=["3-43", "2-1", "1-1"])
    b = score(list_item(id="topic-002"), ranking=["3-43", "3-47", "1-59"], cited=["3-43", "3-47", "1-59"])
    small = score(list_item(id="topic-003", expected_measures=["3-43"]), ranking=["2-1"], cited=["2-1"])
    assert a.list_item and b.list_item and not small.list_item
    agg = aggregate([a, b, small])
    assert agg["n_list"] == 2
    assert agg["list_recall"] == pytest.approx((1 / 3 + 1) / 2)
    assert agg["list_citation_precision"] == pytest.approx(5 / 6)  # 1-1 is not acceptable
    assert agg["citation_precision"] == pytest.approx(1.0)  # list items are measured on their own
    assert agg["citation_precision_all"] == pytest.approx(6 / 7)  # all measure items, 2-1 ok for topic-003


def test_first_line_fact():
    hit = scored(measure_item(), first_line="主担当は警察庁です。", text="主担当は警察庁です。\n約125万者")
    later = scored(measure_item(id="lookup-002"), first_line="ご質問の施策は次のとおりです。",
                   text="ご質問の施策は次のとおりです。\n警察庁")
    abst = scored(measure_item(id="lookup-003"), first_line="計画には記載がありません。", abstained=True)
    untold = scored(measure_item(id="lookup-004"))  # no first line given: not measured
    task = scored(task_item(), first_line="警察庁", abstained=True)
    assert (hit.first_line_fact, later.first_line_fact, abst.first_line_fact) == (1.0, 0.0, 0.0)
    assert untold.first_line_fact is None and task.first_line_fact is None
    assert later.facts_ok == 1  # the fact is in the answer, only not in its first line
    assert aggregate([hit, later, abst, untold, task])["first_line_fact"] == pytest.approx(1 / 3)
    # full-width and spacing differences do not matter, as for fact recall
    assert scored(section_item(), first_line="整備率は９９．８ ％").first_line_fact == 1.0


def test_answer_chars_p50_single_fact_categories_only():
    short = scored(measure_item(), answer="警察庁です。")  # 6 chars
    long = scored(measure_item(id="factual-001", category="factual"), answer="  " + "あ" * 100 + "\n")
    conv = scored(conversation_item(), answer="警察庁" * 10)  # 30 chars
    listed = scored(list_item(), answer="あ" * 500)  # topic: not a single-fact category
    section = scored(section_item(), answer="い" * 900)
    abst = scored(measure_item(id="lookup-009"), answer="計画には記載がありません。", abstained=True)
    nofacts = scored(measure_item(id="lookup-010", answer_facts=[]), answer="x" * 1000)
    assert (short.answer_chars, long.answer_chars, conv.answer_chars) == (6, 100, 30)
    assert listed.answer_chars is None and section.answer_chars is None
    assert abst.answer_chars is None and nofacts.answer_chars is None
    agg = aggregate([short, long, conv, listed, section, abst, nofacts])
    assert agg["answer_chars_p50"] == 30.0
    assert aggregate([section])["answer_chars_p50"] is None


def test_gate_knows_the_heldout_metrics(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[heldout]\nconversation_hit = 0.85\ntask_declined = 0.95\nhit_at_5 = 0.9\n", encoding="utf-8")
    thr = load_thresholds(path, "heldout")
    misses = check_gate({"conversation_hit": 0.5, "task_declined": 0.96, "hit_at_5": 0.95}, thr)
    assert misses == ["conversation_hit = 0.500 < 0.850 (minimum)"]
    assert check_gate({"conversation_hit": None, "task_declined": 1.0, "hit_at_5": 1.0}, thr) == [
        "conversation_hit: not measured (no applicable items), threshold 0.850"]


def test_project_heldout_thresholds():
    from assistant.evaluation import THRESHOLDS_PATH

    thr = load_thresholds(THRESHOLDS_PATH, "heldout")
    assert thr == {"hit_at_5": 0.92, "citation_precision": 0.90, "abstention_accuracy": 0.90,
                   "false_abstention_max": 0.05, "conversation_hit": 0.85, "task_declined": 0.95}
    assert not [m for m in check_gate({}, thr) if "unknown threshold" in m]


class _FakeAnswer:
    def __init__(self, text, nos=(), abstained=False):
        self.text, self.measure_nos, self.abstained, self.citations = text, list(nos), abstained, []


class _FakeAssistant:
    """Records every call; answers turn i with "answer i [No. 1-57]"."""

    def __init__(self, delay_s=0.0):
        self.calls = []
        self.delay_s = delay_s
        self.catalog = type("C", (), {"doc_id": "plan2025", "measures": {"1-57": None}})()

    def answer(self, question, history=None):
        import time

        time.sleep(self.delay_s)
        self.calls.append((question, [dict(h) for h in history or []]))
        return _FakeAnswer(f"answer {len(self.calls)} [No. 1-57]", ["1-57"])


def test_assistant_system_asks_prior_turns_live():
    from assistant.evaluation.systems import AssistantSystem

    fake = _FakeAssistant(delay_s=0.05)
    item = conversation_item(prior_turns=["運転免許証の一体化は？", "在留カードの方は？"])
    out = AssistantSystem(fake).run(item)
    assert [q for q, _ in fake.calls] == ["運転免許証の一体化は？", "在留カードの方は？", "後者の主担当は？"]
    assert fake.calls[0][1] == []
    assert fake.calls[1][1] == [{"role": "user", "content": "運転免許証の一体化は？"},
                                {"role": "assistant", "content": "answer 1 [No. 1-57]"}]
    final_history = fake.calls[2][1]
    assert [h["role"] for h in final_history] == ["user", "assistant", "user", "assistant"]
    assert final_history[3]["content"] == "answer 2 [No. 1-57]"
    assert out.history == final_history and out.answer == "answer 3 [No. 1-57]" and out.cited == ["1-57"]
    # the latency is the final turn's; the prior turns are counted apart
    assert out.prior_turns_ms >= 90 and out.latency_ms < out.prior_turns_ms


def test_assistant_system_followup_uses_written_history_and_no_prior_turns():
    from assistant.evaluation.systems import AssistantSystem

    fake = _FakeAssistant()
    hist = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a [No. 1-57]"}]
    out = AssistantSystem(fake).run(measure_item(category="followup", history=hist, turn=2))
    assert fake.calls == [("No. 1-57 の主担当は？", hist)] and out.history == [] and out.prior_turns_ms == 0.0


def test_retriever_system_sees_the_final_question_only():
    from assistant.evaluation.systems import RetrieverSystem

    seen = []

    class Hit:
        def __init__(self, chunk):
            self.chunk = chunk

    class Retriever:
        def retrieve(self, question, k):
            seen.append(question)
            chunk = type("Chunk", (), {"measure_no": "1-57", "doc_id": "plan2025", "text": "警察庁"})()
            return type("R", (), {"hits": [Hit(chunk)]})()

    out = RetrieverSystem("hybrid", Retriever()).run(conversation_item())
    assert seen == ["後者の主担当は？"] and out.ranking == ["1-57"] and not out.abstained


def _suite_metrics(rows, suite, n):
    return {"run": {"date": "2026-01-01", "n_items": n, "subset": "full", "suite": suite, "embedder_id": "e",
                    "index_build_id": "b", "duration_s": 1.0},
            "systems": {"assistant": summarize([s for _, s, _ in rows]), "hybrid": summarize([s for _, s, _ in rows])}}


def test_two_suite_report_side_by_side(tmp_path):
    dev_rows = _records()
    task = task_item()
    held_out = Output([], [], [], [], "川柳です", first_line="川柳です", answer="川柳です", labels=[])
    held_rows = [(task, score(task, abstained=False, text="川柳です", system="assistant"), held_out), *dev_rows[:1]]
    dev = _suite_metrics(dev_rows, "dev", 3)
    held = _suite_metrics(held_rows, "heldout", 2)
    held["gate"] = {"missed": ["task_declined = 0.000 < 0.950 (minimum)"], "passed": False, "enforced": False}
    metrics = {"run": dev["run"] | {"suite": "both"}, "systems": dev["systems"],
               "suites": {"dev": dev, "heldout": held}, "gate_heldout": held["gate"]}
    paths = write_report(tmp_path / "both", metrics, suite_records={
        "dev": {"assistant": dev_rows}, "heldout": {"assistant": held_rows}})
    md = paths["report"].read_text(encoding="utf-8")
    assert "## Headline — dev vs held-out" in md
    assert md.index("# Dev suite") < md.index("# Held-out suite")
    assert md.count("## assistant — per category") == 2
    assert "report-only" in md and "MISSED task_declined" in md
    assert "decline (not a question about the plan)" in md  # the task request is a listed failure
    headline = md.split("## Headline — dev vs held-out")[1].split("Definitions:")[0]
    assert "| assistant | dev |" in headline and "| assistant | heldout |" in headline
    assert paths["chart_heldout"].read_bytes()[:4] == b"\x89PNG"
    rows = [json.loads(line) for line in paths["results"].read_text(encoding="utf-8").splitlines()]
    assert {r["suite"] for r in rows} == {"dev", "heldout"} and len(rows) == 5
    data = json.loads(paths["metrics"].read_text(encoding="utf-8"))
    assert data["systems"]["assistant"]["overall"]["n"] == 3  # top level stays the dev suite
    assert data["suites"]["heldout"]["systems"]["assistant"]["overall"]["task_declined"] == 0.0


def test_single_suite_report_unchanged_shape(tmp_path):
    md = render_markdown(_metrics(_records()))
    assert md.startswith("# Evaluation report — 2026-01-01\n") and "Headline — dev vs held-out" not in md
    assert "## Systems — retrieval" in md and "first-line fact" in md


def test_compare_suites_labels_heldout_changes():
    from assistant.evaluation import compare_suites

    def m(dev, held):
        return {"run": {"suite": "both"}, "systems": {"assistant": {"overall": {"hit_at_5": dev}}},
                "suites": {"dev": {"systems": {"assistant": {"overall": {"hit_at_5": dev}}}},
                           "heldout": {"systems": {"assistant": {"overall": {"hit_at_5": held}}}}}}

    changes = compare_suites(m(0.8, 0.5), m(0.8, 0.6))
    assert [c.line() for c in changes] == ["assistant [heldout] hit_at_5: 0.500 → 0.600 (+0.100, improved)"]
    old, new = m(0.8, 0.5), m(0.8, 0.5)
    old["suites"]["heldout2"] = {"systems": {"assistant": {"overall": {"hit_at_5": 0.4}}}}
    new["suites"]["heldout2"] = {"systems": {"assistant": {"overall": {"hit_at_5": 0.3}}}}
    assert [c.system for c in compare_suites(old, new)] == ["assistant [heldout2]"]
    old["suites"]["heldout3"] = {"systems": {"assistant": {"overall": {"hit_at_5": 0.6}}}}
    new["suites"]["heldout3"] = {"systems": {"assistant": {"overall": {"hit_at_5": 0.7}}}}
    assert [c.system for c in compare_suites(old, new)] == ["assistant [heldout2]", "assistant [heldout3]"]
    old["suites"]["heldout4"] = {"systems": {"assistant": {"overall": {"hit_at_5": 0.5}}}}
    new["suites"]["heldout4"] = {"systems": {"assistant": {"overall": {"hit_at_5": 0.55}}}}
    assert [c.system for c in compare_suites(old, new)][-1] == "assistant [heldout4]"
    # an old single-suite metrics.json compares on the dev suite only
    assert compare_suites({"systems": {"assistant": {"overall": {"hit_at_5": 0.7}}}}, m(0.8, 0.6))[0].system == "assistant"


def test_main_rejects_inconsistent_suite_flags(capsys):
    import argparse

    from assistant.evaluation import main

    base = {"systems": "assistant", "subset": "fast", "json": False, "out": None, "compare": None, "judge": False}
    assert main(argparse.Namespace(**base, suite="dev", gate=False, gate_heldout=True)) == 2
    assert main(argparse.Namespace(**base, suite="heldout", gate=True, gate_heldout=False)) == 2
    assert main(argparse.Namespace(**base, suite="weird", gate=False, gate_heldout=False)) == 2
    assert main(argparse.Namespace(**base, suite="heldout2", gate=True, gate_heldout=False)) == 2
    assert main(argparse.Namespace(**base, suite="heldout3", gate=True, gate_heldout=False)) == 2
    assert main(argparse.Namespace(**base, suite="heldout4", gate=True, gate_heldout=False)) == 2
    base["systems"] = "bm25"
    assert main(argparse.Namespace(**base, suite="heldout", gate=False, gate_heldout=True)) == 2
    assert main(argparse.Namespace(**base, suite="all", gate=False, gate_heldout=True)) == 2
    err = capsys.readouterr().err
    assert "--gate-heldout" in err and "スイート" in err


@pytest.mark.parametrize("suite", ["heldout", "heldout2", "heldout3", "heldout4"])
def test_load_heldout_items(suite):
    from assistant.evaluation import SUITE_PATHS, load_items

    items = load_items(SUITE_PATHS[suite])
    cats = {i["category"] for i in items}
    assert len(items) >= 160 and {"conversation", "task_request"} <= cats
    assert all(i["prior_turns"] for i in items if i["category"] == "conversation")
    assert {i["category"] for i in load_items(SUITE_PATHS[suite], subset="fast")} == cats


def test_suite_choices():
    from assistant.cli import build_parser
    from assistant.evaluation import (
        HELDOUT2_PATH,
        HELDOUT3_PATH,
        HELDOUT4_PATH,
        HELDOUT5_PATH,
        HELDOUT8_PATH,
        HELDOUT9_PATH,
        HELDOUT10_PATH,
        HELDOUT11_PATH,
        HELDOUT12_PATH,
        HELDOUT_SUITES,
        SUITE_CHOICES,
        SUITE_GROUPS,
        SUITE_PATHS,
        SUITES,
    )
    from assistant.evaluation.report import SUITE_TITLES

    assert SUITE_CHOICES == ("dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7",
                             "heldout8", "heldout9", "heldout10", "heldout11", "heldout12", "both", "all")
    assert SUITE_GROUPS == {"both": ("dev", "heldout"),
                            "all": ("dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6",
                                    "heldout7", "heldout8", "heldout9", "heldout10", "heldout11", "heldout12")}
    assert SUITE_PATHS["heldout2"] == HELDOUT2_PATH and HELDOUT2_PATH.exists()
    assert SUITE_PATHS["heldout3"] == HELDOUT3_PATH and HELDOUT3_PATH.exists()
    assert SUITE_PATHS["heldout4"] == HELDOUT4_PATH and HELDOUT4_PATH.exists()
    assert SUITE_PATHS["heldout5"] == HELDOUT5_PATH and HELDOUT5_PATH.exists()
    assert SUITE_PATHS["heldout6"].exists()
    assert SUITE_PATHS["heldout7"].exists()
    assert SUITE_PATHS["heldout8"] == HELDOUT8_PATH and HELDOUT8_PATH.exists()
    assert SUITE_PATHS["heldout9"] == HELDOUT9_PATH and HELDOUT9_PATH.exists()
    assert SUITE_PATHS["heldout10"] == HELDOUT10_PATH and HELDOUT10_PATH.exists()
    assert SUITE_PATHS["heldout11"] == HELDOUT11_PATH and HELDOUT11_PATH.exists()
    assert SUITE_PATHS["heldout12"] == HELDOUT12_PATH and HELDOUT12_PATH.exists()
    assert HELDOUT_SUITES == ("heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7",
                              "heldout8", "heldout9", "heldout10", "heldout11", "heldout12")
    # everything is derived from the one suite table
    assert tuple(SUITE_PATHS) == tuple(s.name for s in SUITES) == SUITE_GROUPS["all"]
    assert all(path.exists() for path in SUITE_PATHS.values())
    assert SUITE_TITLES["dev"] == "Dev suite — `evals/items.jsonl`"
    assert SUITE_TITLES["heldout4"] == "Held-out suite 4 — `evals/heldout4.jsonl` (never tuned on)"
    assert SUITE_TITLES["heldout5"] == "Held-out suite 5 — `evals/heldout5.jsonl` (never tuned on)"
    assert SUITE_TITLES["heldout8"] == "Held-out suite 8 — `evals/heldout8.jsonl` (never tuned on)"
    assert SUITE_TITLES["heldout9"] == "Held-out suite 9 — `evals/heldout9.jsonl` (never tuned on)"
    assert SUITE_TITLES["heldout10"] == "Held-out suite 10 — `evals/heldout10.jsonl` (never tuned on)"
    assert SUITE_TITLES["heldout11"] == "Held-out suite 11 — `evals/heldout11.jsonl` (never tuned on)"
    assert SUITE_TITLES["heldout12"] == "Held-out suite 12 — `evals/heldout12.jsonl` (never tuned on)"
    parser = build_parser()
    assert parser.parse_args(["eval"]).suite == "both"
    assert [parser.parse_args(["eval", "--suite", c]).suite for c in SUITE_CHOICES] == list(SUITE_CHOICES)
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "--suite", "heldout13"])


def test_main_suite_all_runs_every_suite_and_gates_each_heldout_suite(tmp_path, monkeypatch, capsys):
    import argparse

    import assistant.evaluation as ev

    rows = _records()
    seen = []

    def fake_evaluate(assistant, items, names, *, suite, **kw):
        seen.append(suite)
        return ev.EvalRun(items=list(items), records={"assistant": rows},
                          metrics=_suite_metrics(rows, suite, len(items)))

    monkeypatch.setattr(ev, "evaluate", fake_evaluate)
    monkeypatch.setattr(ev, "build_systems", lambda names, assistant, progress=True: {})
    base = {"systems": "assistant", "subset": "fast", "json": False, "compare": None, "judge": False, "gate": False}

    assert ev.main(argparse.Namespace(**base, suite="all", gate_heldout=False, out=str(tmp_path / "all")),
                   assistant=object()) == 0  # the held-out gates are report-only
    assert seen == ["dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7",
                    "heldout8", "heldout9", "heldout10", "heldout11", "heldout12"]
    data = json.loads((tmp_path / "all" / "metrics.json").read_text(encoding="utf-8"))
    assert list(data["suites"]) == ["dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5",
                                   "heldout6", "heldout7", "heldout8", "heldout9", "heldout10", "heldout11", "heldout12"]
    assert data["run"]["suite"] == "all"
    assert data["gate_heldout"]["suite"] == "heldout"
    gate2 = data["suites"]["heldout2"]["gate"]
    assert gate2["suite"] == "heldout2" and gate2["enforced"] is False
    assert gate2["thresholds"] == data["suites"]["heldout"]["gate"]["thresholds"]  # the [heldout] table
    for suite in ("heldout3", "heldout4"):
        gate = data["suites"][suite]["gate"]
        assert gate["suite"] == suite and gate["enforced"] is False
        assert gate["thresholds"] == data["suites"]["heldout"]["gate"]["thresholds"]
    assert all((tmp_path / "all" / f"chart-{s}.png").exists() for s in ("heldout", "heldout2", "heldout3", "heldout4"))
    md = (tmp_path / "all" / "report.md").read_text(encoding="utf-8")
    assert (md.index("# Held-out suite —") < md.index("# Held-out suite 2 —") < md.index("# Held-out suite 3 —")
            < md.index("# Held-out suite 4 —"))
    assert "Held-out suite 3 — `evals/heldout3.jsonl` (never tuned on)" in md
    assert "Held-out suite 4 — `evals/heldout4.jsonl` (never tuned on)" in md
    headline = md.split("## Headline — dev vs held-out")[1].split("Definitions:")[0]
    assert all(f"| assistant | {s} |" in headline for s in ("heldout2", "heldout3", "heldout4"))
    out = capsys.readouterr().out
    assert all(f"Held-out gate ({s})" in out for s in ("heldout2", "heldout3", "heldout4"))

    seen.clear()
    code = ev.main(argparse.Namespace(**base, suite="heldout2", gate_heldout=True, out=str(tmp_path / "h2")),
                   assistant=object())
    assert seen == ["heldout2"]
    data = json.loads((tmp_path / "h2" / "metrics.json").read_text(encoding="utf-8"))
    assert data["run"]["suite"] == "heldout2" and data["gate_heldout"]["suite"] == "heldout2"
    assert code == (1 if data["gate_heldout"]["missed"] else 0)
    assert (tmp_path / "h2" / "report.md").read_text(encoding="utf-8").startswith(
        "# Evaluation report — 2026-01-01 — heldout2 suite")

    for suite in ("heldout3", "heldout4"):
        seen.clear()
        code = ev.main(argparse.Namespace(**base, suite=suite, gate_heldout=True, out=str(tmp_path / suite)),
                       assistant=object())
        assert seen == [suite]
        data = json.loads((tmp_path / suite / "metrics.json").read_text(encoding="utf-8"))
        assert data["run"]["suite"] == suite and data["gate_heldout"]["suite"] == suite
        assert code == (1 if data["gate_heldout"]["missed"] else 0)
        assert (tmp_path / suite / "report.md").read_text(encoding="utf-8").startswith(
            f"# Evaluation report — 2026-01-01 — {suite} suite")
