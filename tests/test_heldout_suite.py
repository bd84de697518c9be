"""Self-check of the held-out evaluation suites ``evals/heldout.jsonl``, ``heldout2.jsonl``, ``heldout3.jsonl``,
``heldout4.jsonl``, ``heldout5.jsonl``, ``heldout6.jsonl``, ``heldout7.jsonl``, ``heldout8.jsonl`` and
``heldout9.jsonl``, ``heldout10.jsonl``, ``heldout11.jsonl``, ``heldout12.jsonl``.

The held-out suite measures the assistant on questions nobody tuned for (``evals/README.md``,
"Held-out suite"). These tests do not run the assistant; like ``tests/test_eval_suite.py`` they make
sure every item is well-formed and grounded in ``corpus/`` with the project's own corpus and catalog
modules, plus the rules specific to the held-out suite: the ``conversation`` and ``task_request``
categories, ``prior_turns``, ``oos_class``/``absent_terms``, LIST topic questions, and no question
equal or nearly equal to a development question. ``evals/tools/check_items.py --file
evals/heldout.jsonl`` runs the same rules without the package.

Every test runs on all eleven held-out suites (the ``items`` fixture is parametrized over
``HELDOUT_PATHS``); ``heldout2.jsonl`` (``evals/tools/heldout2_items.py``) was written after the first
one had partly leaked into tuning, ``heldout3.jsonl`` (``evals/tools/heldout3_items.py``) after the
first two had, ``heldout4.jsonl`` (``evals/tools/heldout4_items.py``) after the first three had, and
``heldout5.jsonl`` (``evals/tools/heldout5_items.py``) after the fourth one's aggregates had been
consulted as checkpoints, ``heldout6.jsonl`` (``evals/tools/heldout6_items.py``) after the
fifth one's had been, ``heldout7.jsonl`` (``evals/tools/heldout7_items.py``) to judge session 10,
after the sixth one's aggregate had been run at the end of session 9, and ``heldout8.jsonl``
(``evals/tools/heldout8_items.py``) to judge session 11, after the seventh one's aggregate had been run at the
end of session 10, and ``heldout9.jsonl`` (``evals/tools/heldout9_items.py``) to judge session 12, after the
eighth one's aggregate had been run twice in session 11, and ``heldout10.jsonl``
(``evals/tools/heldout10_items.py``) to judge session 13, after the ninth one's had been run twice in session 12, and
``heldout11.jsonl`` (``evals/tools/heldout11_items.py``) to judge session 14, after the tenth one's had been run twice in
session 13, and ``heldout12.jsonl`` (``evals/tools/heldout12_items.py``) to judge session 15, after the
eleventh one's had been run twice in session 14. The builders of the last eleven share
``evals/tools/heldout_builder.py``; the builder tests check that each suite file is byte for byte what
its builder writes.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from assistant.catalog import build_catalog
from assistant.corpus import load_corpus, search_key
from tests import suite_checks
from tests.suite_checks import evidence_key, fail, load_items, mentioned_numbers

ROOT = Path(__file__).resolve().parents[1]
HELDOUT_PATH = ROOT / "evals" / "heldout.jsonl"
HELDOUT2_PATH = ROOT / "evals" / "heldout2.jsonl"
HELDOUT3_PATH = ROOT / "evals" / "heldout3.jsonl"
HELDOUT4_PATH = ROOT / "evals" / "heldout4.jsonl"
HELDOUT5_PATH = ROOT / "evals" / "heldout5.jsonl"
HELDOUT6_PATH = ROOT / "evals" / "heldout6.jsonl"
HELDOUT7_PATH = ROOT / "evals" / "heldout7.jsonl"
HELDOUT8_PATH = ROOT / "evals" / "heldout8.jsonl"
HELDOUT9_PATH = ROOT / "evals" / "heldout9.jsonl"
HELDOUT10_PATH = ROOT / "evals" / "heldout10.jsonl"
HELDOUT11_PATH = ROOT / "evals" / "heldout11.jsonl"
HELDOUT12_PATH = ROOT / "evals" / "heldout12.jsonl"
HELDOUT_PATHS = [HELDOUT_PATH, HELDOUT2_PATH, HELDOUT3_PATH, HELDOUT4_PATH, HELDOUT5_PATH, HELDOUT6_PATH,
                 HELDOUT7_PATH, HELDOUT8_PATH, HELDOUT9_PATH, HELDOUT10_PATH, HELDOUT11_PATH, HELDOUT12_PATH]
# Minimum size per suite (the third, fourth and fifth suites were written to at least 170 items).
MIN_ITEMS = {"heldout": 160, "heldout2": 160, "heldout3": 170, "heldout4": 170, "heldout5": 170,
             "heldout6": 170, "heldout7": 170, "heldout8": 170, "heldout9": 170,
             "heldout10": 170, "heldout11": 170, "heldout12": 170}
DEV_PATH = ROOT / "evals" / "items.jsonl"
sys.path.insert(0, str(ROOT / "evals" / "tools"))

import check_items  # noqa: E402  (independent checker; also provides the near-duplicate rule)

CATEGORIES = {
    "lookup", "factual", "topic", "section", "older_edition", "followup", "out_of_scope", "robustness",
    "conversation", "task_request",
}
NO_ANSWER = {"out_of_scope", "task_request"}
DOC_IDS = {"plan2025", "plan2024-summary", "plan2021-outline", "plan2021-education", "cio-forum-2021"}
MEASURE_CATEGORIES = {"lookup", "factual", "topic", "conversation"}
NO_MEASURE_CATEGORIES = {"section", "older_edition"}
OOS_CLASSES = {"absent", "unstated", "nonexistent", "live"}
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



@pytest.fixture(scope="module", params=HELDOUT_PATHS, ids=lambda p: p.stem)
def suite_path(request) -> Path:
    return request.param


@pytest.fixture(scope="module")
def items(suite_path) -> list[dict]:
    return load_items(suite_path)


@pytest.fixture(scope="module")
def docs() -> dict:
    return {d.info.doc_id: d for d in load_corpus(ROOT / "corpus")}


@pytest.fixture(scope="module")
def catalog(docs):
    return build_catalog(list(docs.values()))


@pytest.fixture(scope="module")
def measure_texts(docs, catalog) -> dict[str, tuple[str, str]]:
    return suite_checks.measure_texts(docs, catalog)


# --- structure --------------------------------------------------------------------------------


def test_size_ids_and_file_order(items, suite_path):
    minimum = MIN_ITEMS[suite_path.stem]
    assert len(items) >= minimum, f"only {len(items)} items (need >= {minimum})"
    dups = [i for i, n in Counter(it.get("id") for it in items).items() if n > 1]
    assert not dups, f"duplicate ids: {dups}"
    assert [it["id"] for it in items] == sorted(it["id"] for it in items), "the held-out suite is sorted by id"


def test_fields_categories_and_ids(items):
    errors = []
    for it in items:
        for field, typ in REQUIRED_FIELDS.items():
            if not isinstance(it.get(field), typ):
                errors.append(f"{it.get('id')}: {field} missing or of the wrong type")
        cat = it.get("category")
        if cat not in CATEGORIES:
            errors.append(f"{it.get('id')}: unknown category {cat!r}")
            continue
        if not re.fullmatch(re.escape(cat.replace("_", "-")) + r"-\d{3}", it["id"]):
            errors.append(f"{it['id']}: id must be {cat.replace('_', '-')}-NNN")
        if it["source"] != "handwritten":
            errors.append(f"{it['id']}: the held-out suite is handwritten only")
        if not it["question"].strip():
            errors.append(f"{it['id']}: empty question")
    fail(errors, "items with bad fields")


def test_category_counts(items):
    counts = Counter(it["category"] for it in items)
    thin = {c: counts[c] for c in CATEGORIES if counts[c] < 10}
    assert not thin, f"categories with fewer than 10 items: {thin}"
    assert counts["out_of_scope"] >= 20 and counts["conversation"] >= 12 and counts["task_request"] >= 12


def test_no_answer_items(items, catalog):
    errors = []
    for it in (i for i in items if i["category"] in NO_ANSWER):
        if it["expected_measures"] or it["answer_facts"] or it["expected_doc"] is not None or it["evidence"] is not None:
            errors.append(f"{it['id']}: no expected measures, facts, doc or evidence")
        if it["category"] == "task_request":
            if it["acceptable_measures"] or "oos_class" in it:
                errors.append(f"{it['id']}: task_request items name no measure and no oos_class")
            continue
        cls = it.get("oos_class")
        if cls not in OOS_CLASSES:
            errors.append(f"{it['id']}: oos_class {cls!r}")
        if it["acceptable_measures"] and cls != "unstated":
            errors.append(f"{it['id']}: only 'unstated' items may name the real measure")
        if cls == "nonexistent":
            nos = mentioned_numbers(it["question"])
            if not nos or any(no in catalog.measures for no in nos):
                errors.append(f"{it['id']}: must name only nonexistent numbers, names {nos}")
    fail(errors, "bad out_of_scope/task_request items")
    classes = Counter(it.get("oos_class") for it in items if it["category"] == "out_of_scope")
    assert set(classes) == OOS_CLASSES, f"out_of_scope classes: {dict(classes)}"


def test_absent_terms_really_absent(items, docs):
    keys = {doc_id: search_key(d.raw).lower() for doc_id, d in docs.items()}
    errors = []
    for it in items:
        terms = it.get("absent_terms")
        if it.get("oos_class") == "absent" and not terms:
            errors.append(f"{it['id']}: class 'absent' needs absent_terms")
        for t in terms or []:
            tk = search_key(t).lower()
            if tk not in search_key(it["question"]).lower():
                errors.append(f"{it['id']}: absent term {t!r} is not in the question")
            errors += [f"{it['id']}: {t!r} occurs in {d}" for d, k in keys.items() if tk in k]
    fail(errors, "absent_terms that occur in the corpus")


def test_prior_turns_and_histories(items):
    errors = []
    for it in items:
        cat = it["category"]
        prior = it.get("prior_turns")
        if cat == "conversation":
            if not isinstance(prior, list) or not 1 <= len(prior) <= 2 or any(
                not isinstance(p, str) or not p.strip() for p in prior
            ):
                errors.append(f"{it['id']}: prior_turns must be 1-2 user questions")
            if it.get("history"):
                errors.append(f"{it['id']}: conversation items are asked live, no written history")
        elif prior is not None:
            errors.append(f"{it['id']}: only conversation items carry prior_turns")
        hist = it.get("history")
        if cat == "followup":
            if not isinstance(hist, list) or len(hist) < 2:
                errors.append(f"{it['id']}: followup needs a history")
                continue
            roles = [h["role"] for h in hist]
            if roles[0] != "user" or roles[-1] != "assistant" or any(a == b for a, b in zip(roles, roles[1:], strict=False)):
                errors.append(f"{it['id']}: history must alternate user/assistant")
            cited = {no for h in hist if h["role"] == "assistant" for no in mentioned_numbers(h["content"])}
            if any(no not in cited for no in it["expected_measures"]):
                errors.append(f"{it['id']}: expected measure never cited in the history")
            if it.get("turn") != len(hist) // 2 + 1:
                errors.append(f"{it['id']}: turn does not match the history")
        elif hist:
            errors.append(f"{it['id']}: only followup items carry a history")
    fail(errors, "bad prior_turns/histories")


def test_list_topic_questions(items):
    lists = [it for it in items if it["category"] == "topic" and 3 <= len(it["expected_measures"]) <= 8]
    assert len(lists) >= 12, f"only {len(lists)} LIST topic questions"
    too_many = [it["id"] for it in items if it["category"] == "topic" and len(it["expected_measures"]) > 8]
    assert not too_many, f"LIST questions name at most 8 expected measures: {too_many}"


# --- grounding --------------------------------------------------------------------------------


def test_measures_exist(items, catalog):
    errors = []
    for it in items:
        exp, acc = it["expected_measures"], it["acceptable_measures"]
        errors += [f"{it['id']}: measure {no!r} does not exist" for no in exp + acc if no not in catalog.measures]
        if not set(exp) <= set(acc):
            errors.append(f"{it['id']}: acceptable_measures must include expected_measures")
        if len(set(acc)) != len(acc):
            errors.append(f"{it['id']}: duplicate acceptable_measures")
        cat = it["category"]
        if cat in MEASURE_CATEGORIES and not exp:
            errors.append(f"{it['id']}: {cat} items need expected_measures")
        if cat in NO_MEASURE_CATEGORIES and exp:
            errors.append(f"{it['id']}: {cat} items cite no measure")
        if cat == "lookup" and exp and exp[0] not in mentioned_numbers(it["question"]):
            errors.append(f"{it['id']}: lookup question does not name No. {exp[0]}")
    fail(errors, "items naming unknown measures")


def test_evidence_and_facts_in_document(items, docs):
    doc_keys = {d: search_key(x.raw) for d, x in docs.items()}
    ev_keys = {d: evidence_key(x.raw) for d, x in docs.items()}
    errors = []
    for it in items:
        if it["category"] in NO_ANSWER:
            continue
        doc = it["expected_doc"]
        if doc not in DOC_IDS:
            errors.append(f"{it['id']}: unknown expected_doc {doc!r}")
            continue
        if it["category"] == "older_edition" and doc == "plan2025":
            errors.append(f"{it['id']}: older_edition must target an older document")
        if it["expected_measures"] and doc != "plan2025":
            errors.append(f"{it['id']}: measure numbers exist only in plan2025")
        facts, ev = it["answer_facts"], it["evidence"]
        if not 1 <= len(facts) <= 3 or any(not 2 <= len(f) <= 20 for f in facts):
            errors.append(f"{it['id']}: 1-3 facts of 2-20 chars")
        if not isinstance(ev, str) or not 20 <= len(ev) <= 300:
            errors.append(f"{it['id']}: evidence must be 20-300 chars")
            continue
        if evidence_key(ev) not in ev_keys[doc]:
            errors.append(f"{it['id']}: evidence not found in {doc}: {ev[:30]}…")
        errors += [f"{it['id']}: fact {f!r} not in {doc}" for f in facts if search_key(f) not in doc_keys[doc]]
    fail(errors, "ungrounded evidence/facts")


def test_measure_evidence_inside_the_measure(items, measure_texts):
    errors = []
    for it in items:
        exp = [no for no in it["expected_measures"] if no in measure_texts]
        if not exp or not it.get("evidence"):
            continue
        if not any(evidence_key(it["evidence"]) in measure_texts[no][0] for no in exp):
            errors.append(f"{it['id']}: evidence is not inside the text of {exp}")
        for fact in it["answer_facts"]:
            key = search_key(fact)
            if not any(key in body or key in road for body, road in (measure_texts[no] for no in exp)):
                errors.append(f"{it['id']}: fact {fact!r} is not in the text or 工程表 rows of {exp}")
    fail(errors, "measure items grounded outside their measure")


# --- coverage and independence ----------------------------------------------------------------


def test_fast_subset_every_category(items):
    fast = [it for it in items if it["fast"]]
    missing = CATEGORIES - {it["category"] for it in fast}
    assert not missing, f"fast subset misses {sorted(missing)}"


def test_every_document_and_chapter(items):
    used = {it["expected_doc"] for it in items if it["expected_doc"]}
    assert used == DOC_IDS, f"documents never targeted: {sorted(DOC_IDS - used)}"
    touched = Counter(int(no.split("-")[0]) for it in items for no in set(it["acceptable_measures"]))
    thin = {ch: touched[ch] for ch in range(1, 6) if touched[ch] < 5}
    assert not thin, f"chapters touched by fewer than 5 items: {thin}"


def test_no_question_duplicates_the_dev_suite(items):
    """No held-out question (final or prior turn) equals or nearly equals a development question."""
    fail(check_items.near_duplicates(items, load_items(DEV_PATH)), "held-out questions that repeat the dev suite")


def test_heldout_questions_not_duplicated_within(items):
    keys = Counter(check_items.question_key(it["question"]) for it in items)
    dups = [k for k, n in keys.items() if n > 1 and len(k) > 4]  # very short ellipsis turns ("担当は？") may repeat
    assert not dups, f"duplicate questions inside the held-out suite: {dups}"


def test_independent_checker_agrees(items):
    errors = check_items.check(items) + check_items.global_checks(items, suite="heldout")
    fail(errors, "errors from evals/tools/check_items.py")


def test_heldout2_independent_of_the_other_suites():
    """heldout2.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl or heldout.jsonl (the builder's rule)."""
    import heldout2_items

    others = load_items(DEV_PATH) + load_items(HELDOUT_PATH)
    errors, _ = heldout2_items.similarity_check(load_items(HELDOUT2_PATH), others)
    fail(errors, "heldout2 questions too similar to another suite")


def test_heldout3_independent_of_the_other_suites():
    """heldout3.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl, heldout.jsonl or heldout2.jsonl (the builder's
    rule); only heldout3's ids are reported."""
    import heldout3_items

    others = load_items(DEV_PATH) + load_items(HELDOUT_PATH) + load_items(HELDOUT2_PATH)
    errors, worst = heldout3_items.similarity_check(load_items(HELDOUT3_PATH), others)
    fail(errors, "heldout3 questions too similar to another suite")
    assert worst < heldout3_items.MAX_JACCARD


def test_heldout3_builder_is_up_to_date():
    """heldout3.jsonl is exactly what evals/tools/heldout3_items.py writes (edit the sources, not the file)."""
    import heldout3_items

    assert load_items(HELDOUT3_PATH) == heldout3_items.collect()


def test_heldout4_independent_of_the_other_suites():
    """heldout4.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl, heldout.jsonl, heldout2.jsonl or heldout3.jsonl
    (the builder's rule); only heldout4's ids are reported."""
    import heldout4_items

    assert set(heldout4_items.OTHER_SUITES) == {DEV_PATH, HELDOUT_PATH, HELDOUT2_PATH, HELDOUT3_PATH}
    others = load_items(DEV_PATH) + load_items(HELDOUT_PATH) + load_items(HELDOUT2_PATH) + load_items(HELDOUT3_PATH)
    errors, worst = heldout4_items.similarity_check(load_items(HELDOUT4_PATH), others)
    fail(errors, "heldout4 questions too similar to another suite")
    assert worst < heldout4_items.MAX_JACCARD


def test_heldout5_independent_of_the_other_suites():
    """heldout5.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl, heldout.jsonl, heldout2.jsonl, heldout3.jsonl or
    heldout4.jsonl (the builder's rule); only heldout5's ids are reported."""
    import heldout5_items

    others_paths = [DEV_PATH, HELDOUT_PATH, HELDOUT2_PATH, HELDOUT3_PATH, HELDOUT4_PATH]
    assert set(heldout5_items.OTHER_SUITES) == set(others_paths)
    others = [o for path in others_paths for o in load_items(path)]
    errors, worst = heldout5_items.similarity_check(load_items(HELDOUT5_PATH), others)
    fail(errors, "heldout5 questions too similar to another suite")
    assert worst < heldout5_items.MAX_JACCARD


def test_heldout6_independent_of_the_other_suites():
    """heldout6.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl or heldout.jsonl … heldout5.jsonl (the builder's
    rule); only heldout6's ids are reported."""
    import heldout6_items

    others_paths = [DEV_PATH, HELDOUT_PATH, HELDOUT2_PATH, HELDOUT3_PATH, HELDOUT4_PATH, HELDOUT5_PATH]
    assert set(heldout6_items.OTHER_SUITES) == set(others_paths)
    others = [o for path in others_paths for o in load_items(path)]
    errors, worst = heldout6_items.similarity_check(load_items(HELDOUT6_PATH), others)
    fail(errors, "heldout6 questions too similar to another suite")
    assert worst < heldout6_items.MAX_JACCARD


def test_heldout7_independent_of_the_other_suites():
    """heldout7.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl or heldout.jsonl … heldout6.jsonl (the builder's
    rule); only heldout7's ids are reported."""
    import heldout7_items

    others_paths = [DEV_PATH, HELDOUT_PATH, HELDOUT2_PATH, HELDOUT3_PATH, HELDOUT4_PATH, HELDOUT5_PATH, HELDOUT6_PATH]
    assert set(heldout7_items.OTHER_SUITES) == set(others_paths)
    others = [o for path in others_paths for o in load_items(path)]
    errors, worst = heldout7_items.similarity_check(load_items(HELDOUT7_PATH), others)
    fail(errors, "heldout7 questions too similar to another suite")
    assert worst < heldout7_items.MAX_JACCARD


def test_heldout8_independent_of_the_other_suites():
    """heldout8.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl or heldout.jsonl … heldout7.jsonl (the builder's
    rule); only heldout8's ids are reported."""
    import heldout8_items

    others_paths = [DEV_PATH, HELDOUT_PATH, HELDOUT2_PATH, HELDOUT3_PATH, HELDOUT4_PATH, HELDOUT5_PATH, HELDOUT6_PATH,
                    HELDOUT7_PATH]
    assert set(heldout8_items.OTHER_SUITES) == set(others_paths)
    others = [o for path in others_paths for o in load_items(path)]
    errors, worst = heldout8_items.similarity_check(load_items(HELDOUT8_PATH), others)
    fail(errors, "heldout8 questions too similar to another suite")
    assert worst < heldout8_items.MAX_JACCARD


def test_heldout9_independent_of_the_other_suites():
    """heldout9.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl or heldout.jsonl … heldout8.jsonl (the builder's
    rule); only heldout9's ids are reported."""
    import heldout9_items

    others_paths = [DEV_PATH, HELDOUT_PATH, HELDOUT2_PATH, HELDOUT3_PATH, HELDOUT4_PATH, HELDOUT5_PATH, HELDOUT6_PATH,
                    HELDOUT7_PATH, HELDOUT8_PATH]
    assert set(heldout9_items.OTHER_SUITES) == set(others_paths)
    others = [o for path in others_paths for o in load_items(path)]
    errors, worst = heldout9_items.similarity_check(load_items(HELDOUT9_PATH), others)
    fail(errors, "heldout9 questions too similar to another suite")
    assert worst < heldout9_items.MAX_JACCARD


def test_heldout10_independent_of_the_other_suites():
    """heldout10.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl or heldout.jsonl … heldout9.jsonl (the builder's
    rule); only heldout10's ids are reported."""
    import heldout10_items

    others_paths = [DEV_PATH, HELDOUT_PATH, HELDOUT2_PATH, HELDOUT3_PATH, HELDOUT4_PATH, HELDOUT5_PATH, HELDOUT6_PATH,
                    HELDOUT7_PATH, HELDOUT8_PATH, HELDOUT9_PATH]
    assert set(heldout10_items.OTHER_SUITES) == set(others_paths)
    others = [o for path in others_paths for o in load_items(path)]
    errors, worst = heldout10_items.similarity_check(load_items(HELDOUT10_PATH), others)
    fail(errors, "heldout10 questions too similar to another suite")
    assert worst < heldout10_items.MAX_JACCARD


def test_heldout11_independent_of_the_other_suites():
    """heldout11.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl or heldout.jsonl … heldout10.jsonl (the builder's
    rule); only heldout11's ids are reported."""
    import heldout11_items

    others_paths = [DEV_PATH, HELDOUT_PATH, HELDOUT2_PATH, HELDOUT3_PATH, HELDOUT4_PATH, HELDOUT5_PATH, HELDOUT6_PATH,
                    HELDOUT7_PATH, HELDOUT8_PATH, HELDOUT9_PATH, HELDOUT10_PATH]
    assert set(heldout11_items.OTHER_SUITES) == set(others_paths)
    others = [o for path in others_paths for o in load_items(path)]
    errors, worst = heldout11_items.similarity_check(load_items(HELDOUT11_PATH), others)
    fail(errors, "heldout11 questions too similar to another suite")
    assert worst < heldout11_items.MAX_JACCARD


def test_heldout12_independent_of_the_other_suites():
    """heldout12.jsonl: no question (final, prior turn or history turn) has a character-bigram Jaccard
    similarity >= 0.5 with a question of items.jsonl or heldout.jsonl … heldout11.jsonl (the builder's
    rule); only heldout12's ids are reported."""
    import heldout12_items

    others_paths = [DEV_PATH, HELDOUT_PATH, HELDOUT2_PATH, HELDOUT3_PATH, HELDOUT4_PATH, HELDOUT5_PATH, HELDOUT6_PATH,
                    HELDOUT7_PATH, HELDOUT8_PATH, HELDOUT9_PATH, HELDOUT10_PATH, HELDOUT11_PATH]
    assert set(heldout12_items.OTHER_SUITES) == set(others_paths)
    others = [o for path in others_paths for o in load_items(path)]
    errors, worst = heldout12_items.similarity_check(load_items(HELDOUT12_PATH), others)
    fail(errors, "heldout12 questions too similar to another suite")
    assert worst < heldout12_items.MAX_JACCARD


@pytest.mark.parametrize("suite", ["heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7", "heldout8",
                                   "heldout9", "heldout10", "heldout11", "heldout12"])
def test_builder_writes_the_suite_file_byte_for_byte(suite):
    """Each suite file is byte for byte what its builder (evals/tools/<suite>_items.py, sharing
    heldout_builder.py) writes: edit the sources, not the file; moving the shared builder code changed
    no byte of heldout2.jsonl or heldout3.jsonl."""
    import importlib

    import heldout_builder

    module = importlib.import_module(f"{suite}_items")
    path = ROOT / "evals" / f"{suite}.jsonl"
    assert module.OUT == path
    assert path.read_bytes() == heldout_builder.dumps(module.collect()).encode("utf-8")


def test_heldout4_size_and_mix():
    """The fourth suite's own minimums: at least 170 items, LIST questions about half of the topic items,
    and the hard classes well covered."""
    items = load_items(HELDOUT4_PATH)
    counts = Counter(it["category"] for it in items)
    assert len(items) >= 170
    topics = [it for it in items if it["category"] == "topic"]
    lists = [it for it in topics if 3 <= len(it["expected_measures"]) <= 8]
    assert 0.4 <= len(lists) / len(topics) <= 0.6, f"{len(lists)} LIST questions of {len(topics)} topic items"
    assert counts["conversation"] >= 15 and counts["task_request"] >= 12 and counts["out_of_scope"] >= 20
    classes = Counter(it.get("oos_class") for it in items if it["category"] == "out_of_scope")
    assert min(classes[c] for c in OOS_CLASSES) >= 4, dict(classes)


@pytest.mark.parametrize("path", [HELDOUT5_PATH, HELDOUT6_PATH, HELDOUT7_PATH, HELDOUT8_PATH, HELDOUT9_PATH,
                                  HELDOUT10_PATH, HELDOUT11_PATH, HELDOUT12_PATH],
                         ids=["heldout5", "heldout6", "heldout7", "heldout8", "heldout9", "heldout10", "heldout11",
                              "heldout12"])
def test_heldout5_to_12_size_and_mix(path):
    """The fifth to twelfth suites' own minimums (the same mix as the fourth): at least 170
    items, LIST questions about half of the topic items, followups with one and with two earlier
    exchanges, and the hard classes well covered."""
    items = load_items(path)
    counts = Counter(it["category"] for it in items)
    assert len(items) >= 170
    topics = [it for it in items if it["category"] == "topic"]
    lists = [it for it in topics if 3 <= len(it["expected_measures"]) <= 8]
    assert len(lists) >= 12 and 0.4 <= len(lists) / len(topics) <= 0.6, f"{len(lists)} LIST of {len(topics)} topics"
    assert counts["conversation"] >= 15 and counts["task_request"] >= 12 and counts["out_of_scope"] >= 20
    classes = Counter(it.get("oos_class") for it in items if it["category"] == "out_of_scope")
    assert min(classes[c] for c in OOS_CLASSES) >= 4, dict(classes)
    turns = Counter(it.get("turn") for it in items if it["category"] == "followup")
    assert turns[2] >= 5 and turns[3] >= 2, dict(turns)
    assert all(len(it["prior_turns"]) in (1, 2) for it in items if it["category"] == "conversation")
