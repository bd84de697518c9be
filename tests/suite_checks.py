"""Helpers shared by the checks of both eval suites (tests/test_eval_suite.py, tests/test_heldout_suite.py)."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from assistant.corpus import search_key

# Measure numbers as staff write them: "No. 1-57", "No1-57", "１－５７", "施策1-57", "[No. 1-57]".
MENTION_RE = re.compile(r"(?<!\d)(\d{1,2})\s*[-‐−–―ー－]\s*(\d{1,3})(?!\d)")


def evidence_key(text: str) -> str:
    """search_key with the PDF bullet markers (``- ・``) dropped, for evidence passages."""
    text = re.sub(r"(?m)^\s*-\s*・\s*", "", text)
    return search_key(text).replace("-・", "")


def mentioned_numbers(text: str) -> list[str]:
    """Measure numbers written in ``text``, normalised to ``X-Y``."""
    return [f"{int(a)}-{int(b)}" for a, b in MENTION_RE.findall(unicodedata.normalize("NFKC", text))]


def fail(errors: list[str], what: str) -> None:
    """Fail the test with the first 30 errors listed, when there are any."""
    if errors:
        shown = "\n  ".join(errors[:30])
        more = f"\n  … and {len(errors) - 30} more" if len(errors) > 30 else ""
        pytest.fail(f"{len(errors)} {what}:\n  {shown}{more}")


def load_items(path: Path) -> list[dict]:
    """The items of a suite file; a line that is not JSON fails the test."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:  # pragma: no cover - reported as a failure
                pytest.fail(f"{path.name}:{n}: invalid JSON: {exc}")
    return out


def measure_texts(docs: dict, catalog) -> dict[str, tuple[str, str]]:
    """measure number -> (evidence key of its body, search key of its 工程表 rows)."""
    raw = docs[catalog.doc_id].raw if hasattr(catalog, "doc_id") else docs["plan2025"].raw
    out = {}
    for no, m in catalog.measures.items():
        rows = getattr(m, "roadmap", ()) or ()
        roadmap = "\n".join(raw[r.start : r.end] for r in rows if hasattr(r, "start"))
        out[no] = (evidence_key(raw[m.start : m.end]), search_key(roadmap))
    return out
