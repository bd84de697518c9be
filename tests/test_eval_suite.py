"""Self-check of the evaluation suite ``evals/items.jsonl`` against the corpus and the plan catalog.

These tests do not run the assistant. They make sure every item is well-formed and grounded:
its measure numbers exist, its evidence and facts occur in its document (after NFKC and
whitespace removal), and for measure items inside that measure's own text. ``evals/README.md``
describes the schema; ``evals/tools/check_items.py`` runs the same rules without the package.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from assistant.catalog import build_catalog
from assistant.corpus import load_corpus, search_key
from tests import suite_checks
from tests.suite_checks import evidence_key, fail, load_items, mentioned_numbers

ROOT = Path(__file__).resolve().parents[1]
ITEMS_PATH = ROOT / "evals" / "items.jsonl"
THRESHOLDS_PATH = ROOT / "evals" / "thresholds.toml"

CATEGORIES = {
    "lookup", "factual", "topic", "section", "older_edition", "followup", "out_of_scope", "robustness",
    "conversation", "task_request",
}
NO_ANSWER = {"out_of_scope", "task_request"}  # must be declined: no doc, evidence, facts or measures
NEW_CATEGORIES = {"conversation", "task_request"}  # added later, smaller (>= 10 items each)
DOC_IDS = {"plan2025", "plan2024-summary", "plan2021-outline", "plan2021-education", "cio-forum-2021"}
MEASURE_CATEGORIES = {"lookup", "factual", "topic", "conversation"}  # must name at least one measure
NO_MEASURE_CATEGORIES = {"section", "older_edition", "out_of_scope", "task_request"}  # must name none
REQUIRED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "question": str,
    "category": str,
    "expected_measures": list,
    "acceptable_measures": list,
    "expected_doc": (str, type(None)),
    "answer_facts": list,
    "evidence": (str, type(None)),
    "source": str,
    "fast": bool,
}
MEASURE_NO_RE = re.compile(r"^\d-\d{1,3}$")



# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return load_items(ITEMS_PATH)


@pytest.fixture(scope="module")
def docs() -> dict:
    return {d.info.doc_id: d for d in load_corpus(ROOT / "corpus")}


@pytest.fixture(scope="module")
def catalog(docs):
    return build_catalog(list(docs.values()))


@pytest.fixture(scope="module")
def doc_keys(docs) -> dict[str, str]:
    return {doc_id: search_key(d.raw) for doc_id, d in docs.items()}


@pytest.fixture(scope="module")
def doc_evidence_keys(docs) -> dict[str, str]:
    return {doc_id: evidence_key(d.raw) for doc_id, d in docs.items()}


@pytest.fixture(scope="module")
def measure_texts(docs, catalog) -> dict[str, tuple[str, str]]:
    return suite_checks.measure_texts(docs, catalog)


# --- structure --------------------------------------------------------------------------------


def test_suite_size_and_unique_ids(items):
    assert len(items) >= 250, f"only {len(items)} items"
    dups = [i for i, n in Counter(it.get("id") for it in items).items() if n > 1]
    assert not dups, f"duplicate ids: {dups}"


def test_fields_present_with_types(items):
    errors = []
    for it in items:
        for field, typ in REQUIRED_FIELDS.items():
            if field not in it:
                errors.append(f"{it.get('id')}: missing {field}")
            elif not isinstance(it[field], typ):
                errors.append(f"{it.get('id')}: {field} has type {type(it[field]).__name__}")
        for field in ("expected_measures", "acceptable_measures", "answer_facts"):
            if any(not isinstance(x, str) for x in it.get(field, [])):
                errors.append(f"{it.get('id')}: {field} must hold strings")
        if "turn" in it and not isinstance(it["turn"], int):
            errors.append(f"{it.get('id')}: turn must be an int")
        if not it.get("question", "").strip():
            errors.append(f"{it.get('id')}: empty question")
    fail(errors, "items with bad fields")


def test_categories_sources_and_doc_ids(items):
    errors = []
    for it in items:
        cat = it.get("category")
        if cat not in CATEGORIES:
            errors.append(f"{it['id']}: unknown category {cat!r}")
            continue
        if not it["id"].startswith(cat.replace("_", "-") + "-"):
            errors.append(f"{it['id']}: id prefix does not match category {cat}")
        if it.get("source") not in ("template", "handwritten"):
            errors.append(f"{it['id']}: source {it.get('source')!r}")
        doc = it.get("expected_doc")
        if cat in NO_ANSWER:
            if doc is not None or it.get("evidence") is not None or it["answer_facts"]:
                errors.append(f"{it['id']}: {cat} items have no doc, evidence or facts")
            if it["expected_measures"] or it["acceptable_measures"]:
                errors.append(f"{it['id']}: {cat} items cite no measure")
        else:
            if doc not in DOC_IDS:
                errors.append(f"{it['id']}: unknown expected_doc {doc!r}")
            if cat == "older_edition" and doc == "plan2025":
                errors.append(f"{it['id']}: older_edition must point at an older document")
            if it["expected_measures"] and doc != "plan2025":
                errors.append(f"{it['id']}: measure numbers exist only in plan2025")
        if cat in MEASURE_CATEGORIES and not it["expected_measures"]:
            errors.append(f"{it['id']}: {cat} items need expected_measures")
        if cat in NO_MEASURE_CATEGORIES and it["expected_measures"]:
            errors.append(f"{it['id']}: {cat} items cite no measure")
    fail(errors, "items with bad category/source/doc")


def test_facts_and_evidence_shape(items):
    errors = []
    for it in items:
        if it["category"] in NO_ANSWER:
            continue
        facts, ev = it["answer_facts"], it.get("evidence")
        if not 1 <= len(facts) <= 3:
            errors.append(f"{it['id']}: needs 1-3 answer_facts, has {len(facts)}")
        errors += [f"{it['id']}: fact {f!r} not 2-20 chars" for f in facts if not 2 <= len(f) <= 20]
        if not isinstance(ev, str) or not 20 <= len(ev) <= 300:
            errors.append(f"{it['id']}: evidence must be 20-300 chars")
    fail(errors, "items with badly shaped facts/evidence")


def test_history_only_on_followups_and_well_formed(items):
    errors = []
    for it in items:
        hist = it.get("history")
        if it["category"] != "followup":
            if hist:
                errors.append(f"{it['id']}: only followup items carry a history")
            continue
        if not isinstance(hist, list) or len(hist) < 2:
            errors.append(f"{it['id']}: followup needs >= 2 history turns")
            continue
        if any(not isinstance(h, dict) or set(h) != {"role", "content"} for h in hist):
            errors.append(f"{it['id']}: history turns are {{role, content}} objects")
            continue
        roles = [h["role"] for h in hist]
        if set(roles) - {"user", "assistant"}:
            errors.append(f"{it['id']}: unknown role in history")
        if roles[0] != "user" or roles[-1] != "assistant" or any(a == b for a, b in zip(roles, roles[1:], strict=False)):
            errors.append(f"{it['id']}: history must alternate user/assistant, starting with user")
        if any(not isinstance(h["content"], str) or not h["content"].strip() for h in hist):
            errors.append(f"{it['id']}: empty history turn")
        cited = {no for h in hist if h["role"] == "assistant" for no in mentioned_numbers(h["content"])}
        missing = [no for no in it["expected_measures"] if no not in cited]
        if missing:
            errors.append(f"{it['id']}: expected {missing} never cited in the assistant turns")
        if "turn" in it and it["turn"] != len(hist) // 2 + 1:
            errors.append(f"{it['id']}: turn {it['turn']} does not match a history of {len(hist)} turns")
    fail(errors, "followups with a bad history")


def test_prior_turns_only_on_conversations_and_well_formed(items):
    """conversation items carry 1-2 earlier user questions (asked live by the runner), nothing else does."""
    errors = []
    for it in items:
        prior = it.get("prior_turns")
        if it["category"] != "conversation":
            if prior is not None:
                errors.append(f"{it['id']}: only conversation items carry prior_turns")
            continue
        if it.get("history"):
            errors.append(f"{it['id']}: conversation items have prior_turns, not a written history")
        if not isinstance(prior, list) or not 1 <= len(prior) <= 2 or any(
            not isinstance(p, str) or not p.strip() for p in prior
        ):
            errors.append(f"{it['id']}: prior_turns must be a list of 1-2 non-empty questions")
        elif any(p.strip() == it["question"].strip() for p in prior):
            errors.append(f"{it['id']}: a prior turn repeats the final question")
    fail(errors, "items with bad prior_turns")


# --- grounding --------------------------------------------------------------------------------


def test_measure_numbers_exist(items, catalog):
    assert len(catalog.measures) == 326
    errors = []
    for it in items:
        exp, acc = it["expected_measures"], it["acceptable_measures"]
        for no in exp + acc:
            if not MEASURE_NO_RE.match(no) or no not in catalog.measures:
                errors.append(f"{it['id']}: measure {no!r} does not exist")
        if not set(exp) <= set(acc):
            errors.append(f"{it['id']}: acceptable_measures must include expected_measures")
        if len(set(acc)) != len(acc):
            errors.append(f"{it['id']}: duplicate acceptable_measures")
    fail(errors, "items naming unknown measures")


def test_lookup_questions_name_their_measure(items):
    errors = []
    for it in items:
        if it["category"] == "lookup" and it["expected_measures"][0] not in mentioned_numbers(it["question"]):
            errors.append(f"{it['id']}: question does not mention No. {it['expected_measures'][0]}")
    fail(errors, "lookup items without the measure number in the question")


def test_nonexistent_numbers_really_do_not_exist(items, catalog):
    errors = []
    for it in items:
        if it["category"] == "out_of_scope" and it["source"] == "template":
            nos = mentioned_numbers(it["question"])
            if not nos:
                errors.append(f"{it['id']}: template out_of_scope item names no measure number")
            errors += [f"{it['id']}: No. {no} exists in the plan" for no in nos if no in catalog.measures]
    fail(errors, "out_of_scope items about measures that exist")


def test_evidence_and_facts_occur_in_document(items, doc_keys, doc_evidence_keys):
    errors = []
    for it in items:
        doc = it.get("expected_doc")
        if it["category"] in NO_ANSWER or doc not in doc_keys:
            continue
        if evidence_key(it["evidence"]) not in doc_evidence_keys[doc]:
            errors.append(f"{it['id']}: evidence not found in {doc}: {it['evidence'][:30]}…")
        for fact in it["answer_facts"]:
            if search_key(fact) not in doc_keys[doc]:
                errors.append(f"{it['id']}: fact {fact!r} not found in {doc}")
    fail(errors, "ungrounded evidence/facts")


def test_measure_evidence_and_facts_inside_the_measure(items, measure_texts):
    errors = []
    for it in items:
        exp = [no for no in it["expected_measures"] if no in measure_texts]
        if not exp or not it.get("evidence"):
            continue
        ev = evidence_key(it["evidence"])
        if not any(ev in measure_texts[no][0] for no in exp):
            errors.append(f"{it['id']}: evidence is not inside the text of {exp}")
        for fact in it["answer_facts"]:
            key = search_key(fact)
            if not any(key in body or key in roadmap for body, roadmap in (measure_texts[no] for no in exp)):
                errors.append(f"{it['id']}: fact {fact!r} is not in the text or 工程表 rows of {exp}")
    fail(errors, "measure items grounded outside their measure")


# --- coverage ---------------------------------------------------------------------------------


def test_fast_subset_covers_every_category(items):
    fast = [it for it in items if it["fast"]]
    assert 40 <= len(fast) <= 80, f"fast subset has {len(fast)} items"
    missing = CATEGORIES - {it["category"] for it in fast}
    assert not missing, f"fast subset misses {sorted(missing)}"


def test_at_most_a_third_from_templates(items):
    templates = sum(1 for it in items if it["source"] == "template")
    assert templates * 3 <= len(items), f"{templates} of {len(items)} items come from templates"


def test_all_five_chapters_covered(items):
    touched = Counter(
        int(no.split("-")[0]) for it in items for no in set(it["expected_measures"] + it["acceptable_measures"])
    )
    thin = {ch: touched[ch] for ch in range(1, 6) if touched[ch] < 10}
    assert not thin, f"chapters touched by fewer than 10 items: {thin}"


def test_every_category_present_in_reasonable_numbers(items):
    counts = Counter(it["category"] for it in items)
    thin = {cat: counts[cat] for cat in CATEGORIES if counts[cat] < (10 if cat in NEW_CATEGORIES else 20)}
    assert not thin, f"categories with fewer than 20 items: {thin}"


def test_list_questions(items):
    """LIST questions (topic items with 3-8 expected measures) ask for all measures on a subject."""
    lists = [it for it in items if it["category"] == "topic" and 3 <= len(it["expected_measures"]) <= 8]
    assert len(lists) >= 12, f"only {len(lists)} LIST topic questions"
    narrow = [it["id"] for it in lists if len(it["acceptable_measures"]) <= len(it["expected_measures"])]
    assert not narrow, f"LIST questions without a wider acceptable_measures: {narrow}"


def test_retrieval_benchmark_items_name_measures(items):
    """The first 100 lookup/factual/topic/robustness items (id order) double as the retrieval benchmark."""
    bench = sorted((it for it in items if it["category"] in {"lookup", "factual", "topic", "robustness"}),
                   key=lambda it: it["id"])[:100]
    with_measures = sum(1 for it in bench if it["expected_measures"])
    assert with_measures >= 90, f"only {with_measures} of the first 100 benchmark items name a measure"


def test_every_document_is_used(items):
    used = Counter(it["expected_doc"] for it in items if it["expected_doc"])
    assert set(used) == DOC_IDS, f"documents never targeted: {sorted(DOC_IDS - set(used))}"


# --- thresholds -------------------------------------------------------------------------------


def test_thresholds_file():
    cfg = tomllib.loads(THRESHOLDS_PATH.read_text(encoding="utf-8"))
    keys = {"hit_at_5", "citation_precision", "fact_recall", "abstention_accuracy", "false_abstention_max"}
    for section in ("fast", "full"):
        assert set(cfg.get(section, {})) >= keys, f"[{section}] misses {sorted(keys - set(cfg.get(section, {})))}"
        assert all(0.0 <= float(cfg[section][k]) <= 1.0 for k in keys)
    for k in keys - {"false_abstention_max"}:
        assert cfg["fast"][k] <= cfg["full"][k], f"[fast] {k} must not be stricter than [full]"
    assert cfg["fast"]["false_abstention_max"] >= cfg["full"]["false_abstention_max"]
