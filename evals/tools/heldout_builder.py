"""Builder machinery shared by the held-out suites written after the first one.

``heldout2_items.py``, ``heldout3_items.py`` and ``heldout4_items.py`` each hold their items
(``Q(...)``/``OOS(...)``/``TASK(...)``/``CONV(...)`` calls) and call into this module to number them,
write the ``.jsonl`` file and run the checks:

* ``OOS``, ``TASK``, ``CONV``: the item helpers of the held-out categories (``Q``, ``U`` and ``A``
  come from ``itemlib``);
* :func:`collect`: ids ``<category>-NNN`` per category in source order, items sorted by id;
* :func:`user_texts`, :func:`bigrams`, :func:`jaccard`, :func:`similarity_check`: the independence
  check (character-bigram Jaccard similarity, after ``check_items.question_key``, of every user-written
  text against every question of the other suites; only this suite's ids are reported);
* :func:`main`: write the suite, run ``check_items.check`` + ``global_checks(suite="heldout")`` and
  the similarity check, print the stats and the maximum similarity; exit code 1 on any error.

The output of a suite file depends only on its items: moving this code here changed no byte of
``heldout2.jsonl`` or ``heldout3.jsonl``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from itemlib import Q  # noqa: E402

EVALS = Path(__file__).resolve().parents[1]
# A held-out question must have a bigram Jaccard similarity below this with every question of the
# suites it has to stay independent of.
MAX_JACCARD = 0.5


# --- item helpers ------------------------------------------------------------------------------


def OOS(question: str, cls: str, *, absent: list[str] | None = None, acc: list[str] | tuple = (),
        fast: bool = False) -> dict:
    """An out_of_scope item of class ``cls`` (``absent`` with ``absent_terms``, ``unstated`` with the
    real measure in ``acc``, ``nonexistent``, ``live``)."""
    item = Q("out_of_scope", question, acc=acc, doc=None, fast=fast)
    item["oos_class"] = cls
    if absent:
        item["absent_terms"] = list(absent)
    return item


def TASK(question: str, *, fast: bool = False) -> dict:
    """A task request (not a question about the plan): must be declined."""
    return Q("task_request", question, doc=None, fast=fast)


def CONV(question: str, measures: list[str] | tuple = (), *, prior: list[str], acc: list[str] | tuple = (),
         doc: str = "plan2025", facts: list[str] | tuple = (), ev: str | None = None, fast: bool = False) -> dict:
    """A conversation item: ``prior`` are the earlier user turns the runner asks live."""
    item = Q("conversation", question, measures, acc=acc, doc=doc, facts=facts, ev=ev, fast=fast)
    # keep prior_turns right after the question for readability
    return {"question": item.pop("question"), "prior_turns": list(prior), **item}


def collect(sources: Iterable[dict]) -> list[dict]:
    """The items with their ids (``<category>-NNN``, numbered per category in source order), sorted by id."""
    counters: dict[str, int] = {}
    out: list[dict] = []
    for item in sources:
        cat = item["category"]
        counters[cat] = counters.get(cat, 0) + 1
        out.append({"id": f"{cat.replace('_', '-')}-{counters[cat]:03d}", **item})
    out.sort(key=lambda it: it["id"])
    return out


# --- independence from the other suites ------------------------------------------------------------


def user_texts(item: dict) -> list[tuple[str, str]]:
    """Every user-written text of an item as (where, text): the question, conversation prior turns,
    followup history user turns."""
    texts = [("question", item.get("question", ""))]
    texts += [(f"prior turn {n}", p) for n, p in enumerate(item.get("prior_turns") or [], 1) if isinstance(p, str)]
    texts += [(f"history turn {n}", h["content"]) for n, h in enumerate(item.get("history") or [], 1)
              if h.get("role") == "user"]
    return [(where, t) for where, t in texts if t]


def bigrams(text: str) -> frozenset[str]:
    import check_items

    key = check_items.question_key(text)
    return frozenset(key[i:i + 2] for i in range(len(key) - 1)) or frozenset([key])


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def similarity_check(items: list[dict], others: list[dict], limit: float = MAX_JACCARD) -> tuple[list[str], float]:
    """Questions of ``items`` whose bigram Jaccard similarity with a question of ``others`` is >= ``limit``.

    Returns (errors, maximum similarity found). Errors name only this suite's item, so the check can
    run without anyone reading the other suites' questions.
    """
    pool = [bigrams(t) for o in others for _, t in user_texts(o)]
    errors: list[str] = []
    worst = 0.0
    for it in items:
        for where, text in user_texts(it):
            grams = bigrams(text)
            best = max((jaccard(grams, g) for g in pool), default=0.0)
            worst = max(worst, best)
            if best >= limit:
                errors.append(f"{it['id']} ({where}): too similar to a question of an existing suite "
                              f"(bigram Jaccard {best:.2f} >= {limit})")
    return errors, worst


# --- the builder ------------------------------------------------------------------------------------


def dumps(items: Sequence[dict]) -> str:
    """The text of a suite file: one JSON object per line, not ASCII-escaped."""
    return "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items)


def write_items(items: Sequence[dict], out: Path) -> None:
    """Write the suite file (UTF-8)."""
    with out.open("w", encoding="utf-8") as fh:
        fh.write(dumps(items))


def main(items: list[dict], out: Path, other_suites: Sequence[Path]) -> int:
    """Write ``items`` to ``out`` and run the checks; returns the exit code (1 on any error).

    ``other_suites``: the suite files the new suite must stay independent of (similarity check).
    """
    import check_items

    write_items(items, out)
    print(f"wrote {len(items)} items to {out}")
    errors = check_items.check(items) + check_items.global_checks(items, suite="heldout")
    others = [o for path in other_suites for o in check_items.load_items(path)]
    sim_errors, worst = similarity_check(items, others)
    errors += sim_errors
    for e in errors:
        print("ERROR", e)
    print(check_items.stats(items))
    names = "/".join(path.name for path in other_suites)
    print(f"max bigram Jaccard similarity with {names} questions: {worst:.3f} (limit {MAX_JACCARD})")
    return 1 if errors else 0
