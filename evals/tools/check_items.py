"""Mechanical checks of ``evals/items.jsonl`` that do not need the assistant package.

Run while writing items::

    python evals/tools/check_items.py            # all checks, exit 1 on any error
    python evals/tools/check_items.py --stats    # also print counts per category/chapter

The same rules are enforced by ``tests/test_eval_suite.py`` with the project's own corpus and
catalog modules; this script uses an independent parser (``catalog_lite``) so both can be
compared.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalog_lite import DOC_FILES, evidence_key, load_raw, parse_measures, search_key  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ITEMS = ROOT / "evals" / "items.jsonl"

CATEGORIES = {
    "lookup", "factual", "topic", "section", "older_edition", "followup", "out_of_scope", "robustness",
}
REQUIRED = {
    "id": str, "question": str, "category": str, "expected_measures": list, "acceptable_measures": list,
    "answer_facts": list, "source": str, "fast": bool,
}
MEASURE_RE = re.compile(r"^\d-\d{1,3}$")


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
            if "turn" in it and not isinstance(it["turn"], int):
                err("turn must be an int")
        elif it.get("history"):
            err("only followup items carry a history")

        if cat == "out_of_scope":
            if exp or acc or facts or doc is not None or ev is not None:
                err("out_of_scope items have no measures, facts, doc or evidence")
            continue

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
        if cat in ("lookup", "factual", "topic") and not exp:
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
    return "\n".join(out)


def global_checks(items: list[dict]) -> list[str]:
    errors = []
    if len(items) < 250:
        errors.append(f"only {len(items)} items (need >= 250)")
    if sum(1 for it in items if it.get("source") == "template") * 3 > len(items):
        errors.append("more than a third of the items come from templates")
    fast_cats = {it["category"] for it in items if it.get("fast")}
    if fast_cats != CATEGORIES:
        errors.append(f"fast subset misses categories {sorted(CATEGORIES - fast_cats)}")
    ch = Counter(c for it in items for c in chapters_touched(it))
    for c in range(1, 6):
        if ch[c] < 10:
            errors.append(f"only {ch[c]} items touch chapter {c}")
    return errors


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stats", action="store_true")
    ap.add_argument("path", nargs="?", default=str(ITEMS))
    args = ap.parse_args()
    items = load_items(Path(args.path))
    errors = check(items) + global_checks(items)
    for e in errors:
        print("ERROR", e)
    if args.stats or not errors:
        print(stats(items))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
