"""A small, independent parser of the 2025 plan used by the eval checker.

It does not depend on the assistant package, so the suite can be checked while the
project's own catalog is still being written (and the two can be compared).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"

DOC_FILES = {
    "plan2025": "plan-2025-full.md",
    "plan2024-summary": "plan-2024-summary-web.txt",
    "plan2021-outline": "plan-2021-outline.txt",
    "plan2021-education": "plan-2021-education-excerpt.txt",
    "cio-forum-2021": "cio-forum-2021-deck.txt",
}

CHAPTER_SIZES = {1: 109, 2: 51, 3: 121, 4: 33, 5: 12}

HEADING_RE = re.compile(r"^[#\s]*(?:\*\*)?\s*○\s*\[No\.\s*(\d)-(\d+)\]\s*([^\t\n]*?)\s*(?:\*\*)?\s*$", re.M)
ROADMAP_START = "### 第3 工程表"
ROADMAP_ROW_RE = re.compile(r"^((?:\d-\d+[ \u3000]*)+)\t", re.M)


def search_key(s: str) -> str:
    """NFKC + all whitespace removed (same definition as assistant.corpus.search_key)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def evidence_key(s: str) -> str:
    """search_key with the bullet markers of the PDF conversion ('- ・') dropped."""
    s = re.sub(r"(?m)^\s*-\s*・\s*", "", s)
    return search_key(s).replace("-・", "")


@dataclass
class LiteMeasure:
    number: str
    title: str
    start: int
    end: int
    body: str
    lead: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    target: str = ""
    roadmap: str = ""  # the roadmap rows (第3) of this measure, raw


def load_raw(doc_id: str) -> str:
    return (CORPUS / DOC_FILES[doc_id]).read_text(encoding="utf-8")


def parse_measures(raw: str) -> dict[str, LiteMeasure]:
    roadmap_at = raw.index(ROADMAP_START)
    heads = [m for m in HEADING_RE.finditer(raw, 0, roadmap_at)]
    # The table of contents lines carry tabs and page numbers, HEADING_RE excludes them,
    # but the first TOC column has no tab before the title: keep only the last occurrence.
    by_no: dict[str, re.Match] = {}
    for m in heads:
        by_no[f"{m[1]}-{m[2]}"] = m
    ordered = sorted(by_no.values(), key=lambda m: m.start())
    out: dict[str, LiteMeasure] = {}
    for i, m in enumerate(ordered):
        end = ordered[i + 1].start() if i + 1 < len(ordered) else raw.rindex("## デジタル社会の実現に向けた重点計画", 0, roadmap_at)
        body = raw[m.start():end]
        no = f"{m[1]}-{m[2]}"
        lm = LiteMeasure(no, m[3].strip(), m.start(), end, body)
        k = unicodedata.normalize("NFKC", body).replace("**", "")
        lead = re.search(r"(?:主)?担当当?府省庁\s*[:：]\s*(.+)", k)
        rel = re.search(r"関係府省庁\s*[:：]\s*(.+)", k)
        tgt = re.search(r"具体的な目標\s*[:：]\s*([\s\S]+?)(?=主担当府省庁|関係府省庁|\Z)", k)
        if lead:
            lm.lead = [x.strip() for x in re.split(r"[、,]", lead[1]) if x.strip()]
        if rel:
            lm.related = [x.strip() for x in re.split(r"[、,]", rel[1]) if x.strip()]
        if tgt:
            lm.target = tgt[1].strip()
        out[no] = lm
    # roadmap rows
    fourth = raw.index("## 第4 オンライン化を実施する行政手続の一覧等")
    rows = list(ROADMAP_ROW_RE.finditer(raw, roadmap_at, fourth))
    for i, r in enumerate(rows):
        end = rows[i + 1].start() if i + 1 < len(rows) else fourth
        for no in r[1].split():
            if no in out:
                out[no].roadmap += raw[r.start():end]
    return out


if __name__ == "__main__":
    ms = parse_measures(load_raw("plan2025"))
    print(len(ms))
    from collections import Counter

    print(Counter(k.split("-")[0] for k in ms))
    print([k for k, v in ms.items() if not v.lead])
    print([k for k, v in ms.items() if not v.roadmap])
