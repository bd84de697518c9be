"""Mechanical checks of ``evals/items.jsonl`` (and the held-out suite) that do not need the assistant package.

Run while writing items::

    python evals/tools/check_items.py            # all checks, exit 1 on any error
    python evals/tools/check_items.py --stats    # also print counts per category/chapter
    python evals/tools/check_items.py --file evals/heldout.jsonl   # the held-out suite

The suite kind (``dev`` or ``heldout``) is inferred from the file name (``heldout*.jsonl`` is held-out)
or given with ``--suite``; it only changes the global checks (size, coverage) and adds, for the
held-out suite, the check that no question equals or nearly equals a development question.

The same rules are enforced by ``tests/test_eval_suite.py`` with the project's own corpus and
catalog modules; this script uses an independent parser (``catalog_lite``) so both can be
compared.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalog_lite import DOC_FILES, evidence_key, load_raw, parse_measures, search_key  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ITEMS = ROOT / "evals" / "items.jsonl"
HELDOUT = ROOT / "evals" / "heldout.jsonl"

# Both suites use all ten categories: the first eight, plus ``conversation`` (earlier user turns in
# ``prior_turns``, asked live by the runner) and ``task_request`` (not a question about the plan:
# must be declined, shaped like out_of_scope), first written for the held-out suite.
CATEGORIES = {
    "lookup", "factual", "topic", "section", "older_edition", "followup", "out_of_scope", "robustness",
    "conversation", "task_request",
}
DEV_CATEGORIES = CATEGORIES
NO_ANSWER_CATEGORIES = {"out_of_scope", "task_request"}
OOS_CLASSES = {"absent", "unstated", "nonexistent", "live"}
REQUIRED = {
    "id": str, "question": str, "category": str, "expected_measures": list, "acceptable_measures": list,
    "answer_facts": list, "source": str, "fast": bool,
}
MEASURE_RE = re.compile(r"^\d-\d{1,3}$")
# Measure numbers as staff write them: "No. 1-57", "No1-57", "１－５７", "施策1-57", "[No. 1-57]".
MENTION_RE = re.compile(r"(?<!\d)(\d{1,2})\s*[-‐−–―ー－]\s*(\d{1,3})(?!\d)")
NEAR_DUPLICATE_RATIO = 0.85


def mentioned_numbers(text: str) -> list[str]:
    norm = unicodedata.normalize("NFKC", text)
    return [f"{int(a)}-{int(b)}" for a, b in MENTION_RE.findall(norm)]


def question_key(q: str) -> str:
    """Normalised question for duplicate detection: NFKC, lower case, no whitespace or punctuation."""
    q = unicodedata.normalize("NFKC", q).lower()
    return "".join(ch for ch in q if not ch.isspace() and not unicodedata.category(ch).startswith(("P", "S")))


def load_items(path: Path = ITEMS) -> list[dict]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{n}: invalid JSON: {exc}") from exc
    return items


def check(items: list[dict]) -> list[str]:
    errors: list[str] = []
    raws = {doc: load_raw(doc) for doc in DOC_FILES}
    keys = {doc: search_key(raw) for doc, raw in raws.items()}
    ev_keys = {doc: evidence_key(raw) for doc, raw in raws.items()}
    measures = parse_measures(raws["plan2025"])
    body_key = {no: evidence_key(m.body) for no, m in measures.items()}
    road_key = {no: search_key(m.roadmap) for no, m in measures.items()}
    lower_keys = {doc: k.lower() for doc, k in keys.items()}

    ids = Counter(it.get("id") for it in items)
    for dup, n in ids.items():
        if n > 1:
            errors.append(f"duplicate id {dup} ({n}x)")

    for it in items:
        iid = it.get("id", "?")

        def err(msg: str, iid: str = iid) -> None:
            errors.append(f"{iid}: {msg}")

        for field, typ in REQUIRED.items():
            if not isinstance(it.get(field), typ):
                err(f"field {field} missing or not {typ.__name__}")
        for field in ("expected_doc", "evidence"):
            if field not in it or not (it[field] is None or isinstance(it[field], str)):
                err(f"field {field} missing or not str/null")
        cat = it.get("category")
        if cat not in CATEGORIES:
            err(f"unknown category {cat}")
            continue
        if not iid.startswith(cat.replace("_", "-") + "-") and not iid.startswith(cat + "-"):
            err("id prefix does not match the category")
        if it.get("source") not in ("template", "handwritten"):
            err("source must be template or handwritten")
        q = it.get("question", "")
        if not q.strip():
            err("empty question")
        exp, acc = it.get("expected_measures", []), it.get("acceptable_measures", [])
        for no in exp + acc:
            if not isinstance(no, str) or not MEASURE_RE.match(no) or no not in measures:
                err(f"unknown measure number {no!r}")
        if not set(exp) <= set(acc):
            err("acceptable_measures must include expected_measures")
        facts = it.get("answer_facts", [])
        for f in facts:
            if not isinstance(f, str) or not 2 <= len(f) <= 20:
                err(f"fact {f!r} must be a string of 2-20 characters")
        doc = it.get("expected_doc")
        ev = it.get("evidence")

        # history
        if cat == "followup":
            hist = it.get("history")
            if not isinstance(hist, list) or len(hist) < 2:
                err("followup needs a history of at least one user and one assistant turn")
            else:
                roles = [h.get("role") for h in hist if isinstance(h, dict)]
                if len(roles) != len(hist) or any(not isinstance(h.get("content"), str) or not h["content"].strip() for h in hist):
                    err("history turns must be {role, content}")
                if roles and (roles[0] != "user" or roles[-1] != "assistant"):
                    err("history must start with user and end with assistant")
                if any(a == b for a, b in zip(roles, roles[1:], strict=False)):
                    err("history roles must alternate")
                cited = {no for h in hist if isinstance(h, dict) and h.get("role") == "assistant"
                         for no in mentioned_numbers(str(h.get("content", "")))}
                missing = [no for no in exp if no not in cited]
                if missing:
                    err(f"expected {missing} never cited in the assistant turns of the history")
                if "turn" in it and isinstance(it["turn"], int) and it["turn"] != len(hist) // 2 + 1:
                    err(f"turn {it['turn']} does not match a history of {len(hist)} turns")
            if "turn" in it and not isinstance(it["turn"], int):
                err("turn must be an int")
        elif it.get("history"):
            err("only followup items carry a history")

        # prior turns (conversation): earlier user questions the runner asks live
        if cat == "conversation":
            prior = it.get("prior_turns")
            if not isinstance(prior, list) or not 1 <= len(prior) <= 2:
                err("conversation needs prior_turns: a list of 1-2 earlier user questions")
            elif any(not isinstance(p, str) or not p.strip() for p in prior):
                err("prior_turns must be non-empty strings")
            elif any(question_key(p) == question_key(q) for p in prior):
                err("a prior turn repeats the final question")
        elif "prior_turns" in it:
            err("only conversation items carry prior_turns")

        if cat == "lookup" and exp and exp[0] not in mentioned_numbers(q):
            err(f"lookup question does not mention No. {exp[0]}")

        if cat in NO_ANSWER_CATEGORIES:
            if exp or facts or doc is not None or ev is not None:
                err(f"{cat} items have no expected measures, facts, doc or evidence")
            cls = it.get("oos_class")
            if cat == "task_request":
                if acc:
                    err("task_request items cite no measure")
                if "oos_class" in it or "absent_terms" in it:
                    err("task_request items carry no oos_class/absent_terms")
                continue
            if cls is not None and cls not in OOS_CLASSES:
                err(f"unknown oos_class {cls!r} (one of {sorted(OOS_CLASSES)})")
            # a real measure may be named for context only when the plan does not state the asked fact
            if acc and cls != "unstated":
                err("only out_of_scope items of class 'unstated' may list acceptable_measures")
            terms = it.get("absent_terms")
            if terms is not None:
                if not isinstance(terms, list) or not terms or any(not isinstance(t, str) or len(t) < 2 for t in terms):
                    err("absent_terms must be a non-empty list of strings (>= 2 chars)")
                else:
                    for t in terms:
                        tk = search_key(t).lower()
                        if tk not in search_key(q).lower():
                            err(f"absent term {t!r} does not occur in the question")
                        found = [d for d, k in lower_keys.items() if tk in k]
                        if found:
                            err(f"absent term {t!r} occurs in {found}")
            if cls == "absent" and not terms:
                err("out_of_scope items of class 'absent' need absent_terms")
            if cls == "nonexistent":
                nos = mentioned_numbers(q)
                if not nos:
                    err("a 'nonexistent' out_of_scope item names no measure number")
                for no in nos:
                    if no in measures:
                        err(f"No. {no} exists in the plan")
            continue
        if "oos_class" in it or "absent_terms" in it:
            err("only out_of_scope items carry oos_class/absent_terms")

        if doc not in DOC_FILES:
            err(f"unknown expected_doc {doc!r}")
            continue
        if not facts:
            err("answerable items need at least one fact")
        if len(facts) > 3:
            err("keep 1-3 facts")
        if not isinstance(ev, str) or not 20 <= len(ev) <= 300:
            err("evidence must be a 20-300 character string")
            continue
        if cat in ("lookup", "factual", "topic", "conversation") and not exp:
            err(f"{cat} items need expected_measures")
        if cat in ("section", "older_edition") and exp:
            err(f"{cat} items cite no measure")
        if exp and doc != "plan2025":
            err("measure items must point at plan2025")
        if cat == "older_edition" and doc == "plan2025":
            err("older_edition items must use an older document")

        ek = evidence_key(ev)
        if ek not in ev_keys[doc]:
            err(f"evidence not found in {doc}: {ev[:40]}…")
        for f in facts:
            if search_key(f) not in keys[doc]:
                err(f"fact {f!r} not found in {doc}")
        if exp:
            if not any(ek in body_key[no] for no in exp if no in body_key):
                err(f"evidence not inside the body of {exp}")
            for f in facts:
                fk = search_key(f)
                if not any(fk in body_key[no] or fk in road_key[no] for no in exp if no in body_key):
                    err(f"fact {f!r} not inside the body/roadmap of {exp}")
    return errors


def chapters_touched(it: dict) -> set[int]:
    return {int(no.split("-")[0]) for no in it.get("expected_measures", []) + it.get("acceptable_measures", [])}


def stats(items: list[dict]) -> str:
    out = []
    cats = Counter(it["category"] for it in items)
    out.append(f"items: {len(items)}")
    out.append("per category: " + ", ".join(f"{k} {v}" for k, v in sorted(cats.items())))
    ch = Counter(c for it in items for c in chapters_touched(it))
    out.append("items touching chapter: " + ", ".join(f"{k}: {v}" for k, v in sorted(ch.items())))
    src = Counter(it["source"] for it in items)
    out.append("source: " + ", ".join(f"{k} {v}" for k, v in sorted(src.items())))
    fast = [it for it in items if it["fast"]]
    out.append(f"fast: {len(fast)} ({', '.join(f'{k} {v}' for k, v in sorted(Counter(i['category'] for i in fast).items()))})")
    out.append("with expected_measures: " + str(sum(1 for it in items if it["expected_measures"])))
    docs = Counter(it.get("expected_doc") for it in items)
    out.append("per doc: " + ", ".join(f"{k} {v}" for k, v in sorted(docs.items(), key=str)))
    bench = sorted(
        (it for it in items if it["category"] in ("lookup", "factual", "topic", "robustness")), key=lambda i: i["id"]
    )[:100]
    out.append(f"retrieval benchmark (first 100): {sum(1 for it in bench if it['expected_measures'])} with measures")
    n_list = sum(1 for it in items if list_topic(it))
    if n_list:
        out.append(f"LIST topic questions (3-8 expected): {n_list}")
    oos = Counter(it.get("oos_class") for it in items if it["category"] == "out_of_scope" and it.get("oos_class"))
    if oos:
        out.append("out_of_scope classes: " + ", ".join(f"{k} {v}" for k, v in sorted(oos.items())))
    return "\n".join(out)


def list_topic(it: dict) -> bool:
    """A LIST question: a topic item with 3-8 expected measures."""
    return it.get("category") == "topic" and 3 <= len(it.get("expected_measures", [])) <= 8


def global_checks(items: list[dict], suite: str = "dev") -> list[str]:
    """Size and coverage rules; ``suite`` is ``dev`` (items.jsonl) or ``heldout`` (heldout.jsonl)."""
    errors = []
    cats_expected = DEV_CATEGORIES if suite == "dev" else CATEGORIES
    if suite == "dev":
        if len(items) < 250:
            errors.append(f"only {len(items)} items (need >= 250)")
        if sum(1 for it in items if it.get("source") == "template") * 3 > len(items):
            errors.append("more than a third of the items come from templates")
    else:
        if len(items) < 160:
            errors.append(f"only {len(items)} items (need >= 160)")
        if any(it.get("source") != "handwritten" for it in items):
            errors.append("the held-out suite is handwritten only")
        counts = Counter(it.get("category") for it in items)
        thin = {c: counts[c] for c in CATEGORIES if counts[c] < 10}
        if thin:
            errors.append(f"categories with fewer than 10 items: {thin}")
        n_list = sum(1 for it in items if list_topic(it))
        if n_list < 12:
            errors.append(f"only {n_list} LIST topic questions (3-8 expected measures; need >= 12)")
        classes = {it.get("oos_class") for it in items if it.get("category") == "out_of_scope"}
        if classes != OOS_CLASSES:
            errors.append(f"out_of_scope classes missing: {sorted(OOS_CLASSES - classes)}")
        used = {it.get("expected_doc") for it in items if it.get("expected_doc")}
        if used != set(DOC_FILES):
            errors.append(f"documents never targeted: {sorted(set(DOC_FILES) - used)}")
        errors += near_duplicates(items, load_items(ITEMS))
    fast_cats = {it["category"] for it in items if it.get("fast")}
    if fast_cats != cats_expected:
        errors.append(f"fast subset misses categories {sorted(cats_expected - fast_cats)}")
    ch = Counter(c for it in items for c in chapters_touched(it))
    for c in range(1, 6):
        if ch[c] < (10 if suite == "dev" else 5):
            errors.append(f"only {ch[c]} items touch chapter {c}")
    return errors


def near_duplicates(items: list[dict], dev_items: list[dict], ratio: float = NEAR_DUPLICATE_RATIO) -> list[str]:
    """Held-out questions (final question and prior turns) that equal or nearly equal a development question.

    Compared after ``question_key`` normalisation; "nearly" is a difflib ratio >= ``ratio``. Only the
    development item's id is reported, so the check can be run without reading the dev questions.
    """
    dev = [(d["id"], question_key(d.get("question", ""))) for d in dev_items]
    dev += [(f"{d['id']} (history)", question_key(h["content"])) for d in dev_items
            for h in d.get("history") or [] if h.get("role") == "user"]
    dev += [(f"{d['id']} (prior turn)", question_key(p)) for d in dev_items
            for p in d.get("prior_turns") or [] if isinstance(p, str)]
    errors = []
    for it in items:
        texts = [it.get("question", "")] + list(it.get("prior_turns") or [])
        for text in texts:
            k = question_key(text)
            if not k:
                continue
            for did, dk in dev:
                if k == dk:
                    errors.append(f"{it.get('id')}: question equals development item {did}")
                    break
                if dk and abs(len(k) - len(dk)) <= max(len(k), len(dk)) * (1 - ratio) \
                        and difflib.SequenceMatcher(None, k, dk).ratio() >= ratio:
                    errors.append(f"{it.get('id')}: question nearly equals development item {did}")
                    break
    return errors


def suite_of(path: Path) -> str:
    return "heldout" if path.name.startswith("heldout") else "dev"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stats", action="store_true")
    ap.add_argument("--file", help="the suite to check (default evals/items.jsonl)")
    ap.add_argument("--suite", choices=["dev", "heldout"], help="default: inferred from the file name")
    ap.add_argument("path", nargs="?", default=None)
    args = ap.parse_args()
    path = Path(args.file or args.path or ITEMS)
    suite = args.suite or suite_of(path)
    items = load_items(path)
    errors = check(items) + global_checks(items, suite=suite)
    for e in errors:
        print("ERROR", e)
    if args.stats or not errors:
        print(stats(items))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
