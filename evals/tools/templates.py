"""Template items generated from the plan's measure catalog (``source="template"``).

Three kinds, all of which are natural as templates because the staff member supplies a number:

* ``lookup``: 「No. X-Y の主担当府省庁は？」 style questions over a fixed, chapter-spread sample of
  measures; the fact is the lead ministry, the evidence the measure's 具体的な目標 line.
* ``robustness``: the same questions written with full-width characters (``ＮＯ．１－５７``).
* ``out_of_scope``: questions about measure numbers that do not exist (No. 9-99, 1-500, 6-1 …).

The sample is fixed (not random) so the suite is reproducible; every generated item is checked
like the handwritten ones.
"""

from __future__ import annotations

import re
import unicodedata

from catalog_lite import load_raw, parse_measures
from itemlib import OOS, Q

# 20 measures not used by the handwritten lookups, spread over the five chapters.
LOOKUP_SAMPLE = [
    "1-6", "1-13", "1-21", "1-28", "1-44", "1-63", "1-74", "1-83", "1-89", "1-100",
    "2-5", "2-15", "2-26", "2-35",
    "3-3", "3-19", "3-31", "3-49",
    "4-24",
    "5-8",
]
LOOKUP_FORMS = [
    "No. {no} の主担当府省庁はどこですか。",
    "No. {no} の施策の具体的な目標と担当府省庁を教えてください。",
    "施策 No.{no} について、主担当と目標を教えて",
    "[No. {no}] はどこの府省庁の担当？目標も知りたい。",
]

FULLWIDTH_SAMPLE = ["1-42", "1-53", "2-31", "3-16", "3-62", "4-9", "4-23", "5-9"]
FULLWIDTH_FORMS = [
    "ＮＯ．{fw}の主担当府省庁は？",
    "Ｎｏ．{fw}　の担当府省庁と目標を教えてください",
]

NONEXISTENT = [
    ("9-99", "No. 9-99 の施策の主担当はどこですか"),
    ("1-500", "No. 1-500 の具体的な目標を教えて"),
    ("6-1", "No. 6-1 はどんな施策ですか？"),
    ("1-110", "No. 1-110 の担当府省庁は？"),
    ("2-52", "No. 2-52 の目標を教えてください"),
    ("3-122", "施策 No.3-122 について説明して"),
    ("4-34", "No. 4-34 の主担当府省庁を教えてください"),
    ("5-13", "No. 5-13 の施策の中身は？"),
    ("0-1", "No. 0-1 の施策は何ですか"),
    ("7-12", "No. 7-12 の工程表を見せて"),
]

_TARGET_RE = re.compile(r"具体的な目標\s*[：:]\s*(?:\*\*)?\s*([^\n]+)")


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else ("－" if c == "-" else c) for c in s)


# A second fact for the questions that also ask for the target: a figure or key phrase of the
# measure's 具体的な目標, chosen by reading each target (automatic extraction picked survey years).
TARGET_FACT = {
    "1-13": "9,000PV", "1-21": "郵便局", "1-28": "30件程度", "1-63": "50%以上", "1-74": "2026年度中",
    "1-83": "10%", "1-100": "2025年度中", "2-5": "2025年度末", "2-15": "3割", "2-35": "2026年度",
    "3-3": "50社", "3-19": "四半期に一度以上", "3-49": "35回以上", "4-24": "総合運用監視", "5-8": "30%増",
    "1-53": "オンライン・デジタル化", "3-16": "指定調査機関", "4-9": "被害防止対策", "5-9": "50%以上",
}


def _target_figure(no: str) -> list[str]:
    return [TARGET_FACT[no]] if no in TARGET_FACT else []


_LEAD_RE = re.compile(r"(?:主)?担当当?府省庁\s*[：:][^\n]*")


def _target_line(body: str) -> str:
    """Evidence for a template item: 具体的な目標 … 主担当府省庁 when short, else the target line."""
    m = _TARGET_RE.search(body)
    if not m:
        raise ValueError("no 具体的な目標 line")
    lead = _LEAD_RE.search(body, m.end())
    if lead:
        span = body[m.start() : lead.end()].strip()
        if len(span) <= 300 and "**" not in span and "<sup" not in span:
            return span
    line = m.group(1).replace("**", "").strip()
    return line[:300]


def generate() -> list[dict]:
    measures = parse_measures(load_raw("plan2025"))
    out: list[dict] = []
    for i, no in enumerate(LOOKUP_SAMPLE):
        m = measures[no]
        ev = _target_line(m.body)
        if len(ev) < 20 or not m.lead:
            raise ValueError(f"template sample {no} lacks a usable target line or lead ministry")
        q = LOOKUP_FORMS[i % len(LOOKUP_FORMS)].format(no=no)
        facts = [m.lead[0]] + (_target_figure(no) if "目標" in q else [])
        out.append(Q("lookup", q, [no], facts=facts, ev=ev, source="template", fast=i in (0, 10)))
    for i, no in enumerate(FULLWIDTH_SAMPLE):
        m = measures[no]
        ev = _target_line(m.body)
        q = FULLWIDTH_FORMS[i % len(FULLWIDTH_FORMS)].format(fw=_fullwidth(no))
        assert unicodedata.normalize("NFKC", q).count(no) == 1
        facts = [m.lead[0]] + (_target_figure(no) if "目標" in q else [])
        out.append(Q("robustness", q, [no], facts=facts, ev=ev, source="template", fast=i == 0))
    for i, (no, q) in enumerate(NONEXISTENT):
        assert no not in measures
        out.append(OOS(q, source="template", fast=i in (0, 2)))
    return out
