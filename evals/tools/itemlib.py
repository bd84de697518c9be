"""Helpers to write eval items compactly (used by ``build_items.py`` and the ``hw_*.py`` sources)."""

from __future__ import annotations

import re

# Stray spaces of the PDF conversion ("約 125 万者", "2026 年 10 月") are dropped from facts:
# facts are compared after whitespace removal anyway, and the clean form is what answers show.
_STRAY_SPACE = re.compile(r"(?<=[^\x00-\x7F])\s+|\s+(?=[^\x00-\x7F])|(?<=\d)\s+(?=\d)")


def clean_fact(fact: str) -> str:
    return _STRAY_SPACE.sub("", fact.strip())


def Q(
    category: str,
    question: str,
    measures: tuple[str, ...] | list[str] = (),
    *,
    acc: tuple[str, ...] | list[str] = (),
    doc: str | None = "plan2025",
    facts: tuple[str, ...] | list[str] = (),
    ev: str | None = None,
    fast: bool = False,
    history: list[dict] | None = None,
    turn: int | None = None,
    prior_turns: list[str] | None = None,
    source: str = "handwritten",
) -> dict:
    """One item without its id (ids are assigned by ``build_items.py`` in source order)."""
    expected = list(measures)
    acceptable = list(dict.fromkeys(expected + list(acc)))
    item: dict = {
        "question": question,
        "category": category,
        "expected_measures": expected,
        "acceptable_measures": acceptable,
        "expected_doc": None if category in ("out_of_scope", "task_request") else doc,
        "answer_facts": [clean_fact(f) for f in facts],
        "evidence": ev,
    }
    if history is not None:
        item["history"] = history
    if turn is not None:
        item["turn"] = turn
    if prior_turns is not None:
        item["prior_turns"] = list(prior_turns)
    item["source"] = source
    item["fast"] = fast
    return item


def U(content: str) -> dict:
    return {"role": "user", "content": content}


def A(content: str) -> dict:
    return {"role": "assistant", "content": content}


def OOS(question: str, *, fast: bool = False, source: str = "handwritten") -> dict:
    return Q("out_of_scope", question, doc=None, fast=fast, source=source)


def TR(question: str, *, fast: bool = False) -> dict:
    """A task request (not a question about the plan): must be declined, shaped like out_of_scope."""
    return Q("task_request", question, doc=None, fast=fast)
