"""Stage 2: the plan catalog. The 2025 plan read as structured data.

The plan is not prose: 第2 is a list of 326 numbered measures (``○[No. 1-57] title`` + bullets,
具体的な目標, 主担当府省庁, 関係府省庁), 第3 is a roadmap keyed by the same numbers, and 第4 lists
administrative procedures with their 取組内容 and KPI. Reading that structure lets the assistant
answer 「No. 3-40 の主担当は？」 exactly and cite every claim by measure number.

Every record keeps raw character offsets into the source file so quotes can be found again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from assistant.corpus import Document

DATA_DIR = Path(__file__).parent / "data"

# The five policy areas of 第1 4.(1)–(5); measures No. N-x belong to area N.
CHAPTER_TITLES: dict[int, str] = {
    1: "AI・デジタル技術等のテクノロジーの徹底活用による社会全体のデジタル化の推進",
    2: "AI・フレンドリーな環境の整備（制度、データ、インフラ）",
    3: "競争・成長のための協調",
    4: "安全・安心なデジタル社会の形成に向けた取組",
    5: "我が国の DX 推進力の強化（デジタル人材の確保・育成と体制整備）",
}

NONE_MARKS = {"—", "－", "ー", "-", "―", "‐", "なし", ""}


@dataclass(frozen=True)
class RoadmapRow:
    """One row of 第3 工程表. The Gantt bars were lost in conversion: only labels remain."""

    measure_no: str
    measure_title: str
    heading: str  # 取組内容の見出し
    lead_ministries: tuple[str, ...]
    related_ministries: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Measure:
    """One numbered measure of 第2 重点政策一覧."""

    measure_no: str  # "1-57"
    chapter: int
    chapter_title: str
    title: str
    bullets: tuple[str, ...]
    targets: tuple[str, ...]  # 具体的な目標 (may be several, may be empty)
    lead_ministries: tuple[str, ...]
    related_ministries: tuple[str, ...]
    start: int  # raw offsets of the whole measure body in the plan file
    end: int
    lead_source: str = "body"  # "body", "roadmap" or "missing"
    roadmap: tuple[RoadmapRow, ...] = ()

    @property
    def section_path(self) -> tuple[str, ...]:
        return ("第2 重点政策一覧", f"({self.chapter}) {self.chapter_title}", f"No. {self.measure_no}")

    @property
    def sort_key(self) -> tuple[int, int]:
        return measure_sort_key(self.measure_no)

    def to_dict(self) -> dict[str, Any]:
        """The measure card as JSON-ready data (CLI ``measure --json``, HTTP and MCP)."""
        return {
            "measure_no": self.measure_no, "chapter": self.chapter, "chapter_title": self.chapter_title,
            "title": self.title, "bullets": list(self.bullets), "targets": list(self.targets),
            "lead_ministries": list(self.lead_ministries), "related_ministries": list(self.related_ministries),
            "lead_source": self.lead_source,
            "roadmap": [
                {"heading": r.heading, "lead_ministries": list(r.lead_ministries),
                 "related_ministries": list(r.related_ministries)}
                for r in self.roadmap
            ],
        }


@dataclass(frozen=True)
class Procedure:
    """One item of 第4: an administrative procedure group to move online."""

    number: int
    title: str
    lead_ministries: tuple[str, ...]  # marked ◎ in the plan
    related_ministries: tuple[str, ...]
    procedures: tuple[str, ...]  # names from the （１） table
    actions: str  # （２）取組内容
    kpi: str  # （３）KPI
    part: str  # the Ⅱ–Ⅴ part heading it sits under
    start: int
    end: int


@dataclass
class Catalog:
    """All structured records of the plan, with lookups."""

    doc_id: str
    measures: dict[str, Measure]
    roadmap: list[RoadmapRow]
    procedures: list[Procedure]
    gaps: list[str] = field(default_factory=list)  # measures without a lead ministry

    @cached_property
    def lead_ministries(self) -> frozenset[str]:
        """Every ministry that leads at least one measure (canonical names)."""
        return frozenset(mi for m in self.measures.values() for mi in m.lead_ministries)

    @cached_property
    def ministries(self) -> frozenset[str]:
        """Every ministry a measure names, as lead or as related (canonical names)."""
        return self.lead_ministries | frozenset(mi for m in self.measures.values() for mi in m.related_ministries)

    def get(self, measure_no: str) -> Measure | None:
        """The measure for a number in any accepted spelling (``No. 1-57``, ``１－５７``), or None."""
        no = parse_measure_no(measure_no)
        return self.measures.get(no) if no else None

    def nearest(self, measure_no: str, n: int = 3) -> list[str]:
        """Existing measure numbers closest to a (possibly nonexistent) number."""
        no = parse_measure_no(measure_no) or measure_no
        m = re.match(r"(\d+)-(\d+)", no)
        if not m:
            return sorted(self.measures, key=measure_sort_key)[:n]
        ch, num = int(m.group(1)), int(m.group(2))
        same = [k for k in self.measures if measure_sort_key(k)[0] == ch]
        pool = same or list(self.measures)

        def dist(k: str) -> tuple[int, int]:
            c, x = measure_sort_key(k)
            return (abs(c - ch), abs(x - num))

        return sorted(sorted(pool, key=dist)[:n], key=measure_sort_key)

    def in_order(self) -> list[Measure]:
        return sorted(self.measures.values(), key=lambda m: m.sort_key)

    def by_chapter(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for m in self.measures.values():
            counts[m.chapter] = counts.get(m.chapter, 0) + 1
        return dict(sorted(counts.items()))

    def search(self, query: str = "", *, chapter: int | None = None, ministry: str | None = None) -> list[Measure]:
        """Measures in plan order matching every word of ``query`` (number, title, ministries,
        bullets, targets; NFKC, case-insensitive), in ``chapter`` and led by ``ministry``."""
        q = unicodedata.normalize("NFKC", query or "").strip().casefold()
        wanted = set(find_measure_nos(q)) if q else set()
        lead = canonical_ministry(ministry) if ministry else None
        out = []
        for m in self.in_order():
            if chapter is not None and m.chapter != chapter:
                continue
            if lead is not None and lead not in m.lead_ministries:
                continue
            if q and m.measure_no not in wanted:
                hay = " ".join([m.title, m.chapter_title, *m.lead_ministries, *m.related_ministries, *m.bullets, *m.targets])
                if not all(w in unicodedata.normalize("NFKC", hay).casefold() for w in q.split()):
                    continue
            out.append(m)
        return out


# --- measure numbers -------------------------------------------------------------------------

_NO_RE = re.compile(r"(?:No\.?|NO\.?|no\.?|施策|番号)?\s*[\[［(（]?\s*(\d{1,2})\s*[-‐−–―ー－の]\s*(\d{1,3})(?!\d)")


def parse_measure_no(text: str) -> str | None:
    """Normalise one measure-number spelling to ``"1-57"`` (``No. 1-57``, ``１－５７``, ``施策1-57``)."""
    found = find_measure_nos(text)
    return found[0] if found else None


def find_measure_nos(text: str) -> list[str]:
    """All measure-number-like strings in a text, normalised, in order of appearance."""
    norm = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    for m in _NO_RE.finditer(norm):
        # Dates such as 2025-06 are not measure numbers: chapters are one or two digits.
        prefix = norm[max(0, m.start() - 1) : m.start()]
        if prefix.isdigit():
            continue
        no = f"{int(m.group(1))}-{int(m.group(2))}"
        if no not in out:
            out.append(no)
    return out


def measure_sort_key(measure_no: str) -> tuple[int, int]:
    a, _, b = measure_no.partition("-")
    return (int(a), int(b)) if a.isdigit() and b.isdigit() else (99, 999)


# --- ministries ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def ministry_table() -> dict[str, str]:
    """Variant spelling → canonical ministry name, from ``data/ministries.tsv``."""
    table: dict[str, str] = {}
    for line in (DATA_DIR / "ministries.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        canonical, _, variants = line.partition("\t")
        canonical = canonical.strip()
        table[unicodedata.normalize("NFKC", canonical)] = canonical
        for v in variants.split("|"):
            if v.strip():
                table[unicodedata.normalize("NFKC", v.strip())] = canonical
    return table


def canonical_ministry(name: str) -> str:
    key = unicodedata.normalize("NFKC", name).strip(" *　")
    return ministry_table().get(key, key)


_MINISTRY_SUFFIX = re.compile(r"(省|庁|府|院|委員会|官房|本部|事務局|局|センター)(\(.+\)|（.+）)?$")


def split_ministries(text: str) -> tuple[str, ...]:
    """``"デジタル庁、総務省"`` → canonical names; ``—`` means none.

    Roadmap cells also hold Gantt marks (■) and stray text; only names that look like an
    organisation are kept.
    """
    text = re.sub(r"\*\*", "", text).strip()
    out: list[str] = []
    for part in re.split(r"[、,，/／]", text):
        part = re.sub(r"\s+", "", part.strip(" \t*　"))
        if part in NONE_MARKS or not part:
            continue
        names = [part] if canonical_ministry(part) != part or _MINISTRY_SUFFIX.search(part) else []
        if not names and "・" in part:
            names = [p for p in part.split("・") if _MINISTRY_SUFFIX.search(p)]
        for n in names:
            if len(n) > 25:
                continue
            name = canonical_ministry(n)
            if name not in out:
                out.append(name)
    return tuple(out)


# --- parsing helpers -------------------------------------------------------------------------


def _lines_with_offsets(raw: str, start: int = 0, end: int | None = None) -> list[tuple[int, str]]:
    end = len(raw) if end is None else end
    out = []
    pos = start
    while pos < end:
        nl = raw.find("\n", pos, end)
        if nl == -1:
            nl = end
        out.append((pos, raw[pos:nl]))
        pos = nl + 1
    return out


def _strip_md(line: str) -> str:
    line = re.sub(r"<[^>]+>", "", line)
    line = line.replace("**", "")
    line = re.sub(r"^#+\s*", "", line.strip())
    return line.strip()


_HEADING_RE = re.compile(r"^[#*\s]*○\s*\[\s*No\.\s*(\d+)\s*[-－]\s*(\d+)\s*\]\s*(.*)$")
_FIELD_RE = re.compile(r"^[#*\s]*(具体的な目標|主担当府省庁|担当当府省庁|担当府省庁|関係府省庁)\s*[：:]\s*(?:\*\*)?(.*)$")
_BULLET_START = ("・", "- ", "-・", "○", "①", "②", "③", "④", "⑤", "⑥", "⑦", "⑧", "⑨", "<", "＜", "【", "※", "（", "(", "#")


def _clean_bullet(text: str) -> str:
    text = _strip_md(text)
    text = re.sub(r"^-\s*", "", text)
    text = re.sub(r"^・\s*", "", text)
    return text.strip()


def _is_page_noise(line: str) -> bool:
    s = line.strip()
    return bool(re.fullmatch(r"\d{1,3}", s)) or s in {"デジタル社会の実現に向けた重点計画"}


def _join_wrapped(lines: list[str]) -> list[str]:
    """Rejoin target lines that the PDF wrapped mid-sentence (a full-width line not ending a clause)."""
    out: list[str] = []
    for line in lines:
        if (
            out
            and len(out[-1]) >= 38
            and not out[-1].endswith(("。", "）", ")", "】", "＞", ">"))
            and not line.startswith(_BULLET_START)
        ):
            out[-1] += line
        else:
            out.append(line)
    return out


def _find_plan(docs: Document | Sequence[Document]) -> Document:
    if isinstance(docs, Document):
        return docs
    candidates = [d for d in docs if "○[No. 1-1]" in d.raw]
    if not candidates:
        raise ValueError("no document with numbered measures (○[No. X-Y]) in the corpus")
    return max(candidates, key=lambda d: d.info.edition)


# --- the parser ------------------------------------------------------------------------------


def build_catalog(docs: Document | Sequence[Document]) -> Catalog:
    """Parse the plan (the newest document with numbered measures) into a :class:`Catalog`."""
    plan = _find_plan(docs)
    raw = plan.raw
    part3 = _part_offset(raw, "第3", "工程表")
    part4 = _part_offset(raw, "第4", "オンライン化を実施する行政手続の一覧等", last=True)
    part5 = _part_offset(raw, "第5", "データ利活用制度の在り方に関する基本方針")
    measures = _parse_measures(raw, 0, part3)
    roadmap = _parse_roadmap(raw, part3, _part_offset(raw, "第4", "オンライン化を実施する行政手続の一覧等"))
    procedures = _parse_procedures(raw, part4, part5)
    rows_by_no: dict[str, list[RoadmapRow]] = {}
    for row in roadmap:
        rows_by_no.setdefault(row.measure_no, []).append(row)
    gaps: list[str] = []
    final: dict[str, Measure] = {}
    for no, m in measures.items():
        rows = tuple(rows_by_no.get(no, ()))
        lead, source = m.lead_ministries, "body"
        related = m.related_ministries
        if not lead:
            lead = _first_nonempty(r.lead_ministries for r in rows)
            source = "roadmap" if lead else "missing"
            if not related:
                related = _first_nonempty(r.related_ministries for r in rows)
        if not lead:
            gaps.append(no)
        final[no] = Measure(
            measure_no=m.measure_no, chapter=m.chapter, chapter_title=m.chapter_title, title=m.title,
            bullets=m.bullets, targets=m.targets, lead_ministries=lead, related_ministries=related,
            start=m.start, end=m.end, lead_source=source, roadmap=rows,
        )
    final = dict(sorted(final.items(), key=lambda kv: measure_sort_key(kv[0])))
    return Catalog(doc_id=plan.info.doc_id, measures=final, roadmap=roadmap, procedures=procedures, gaps=gaps)


def _first_nonempty(values: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    for v in values:
        if v:
            return v
    return ()


def _part_offset(raw: str, part: str, title: str, last: bool = False) -> int:
    """Offset of the heading line of a part (第3 工程表 …), skipping the table of contents."""
    pat = re.compile(rf"^#+\s*{part}\s+{re.escape(title)}\s*$", re.M)
    found = list(pat.finditer(raw))
    if not found:
        raise ValueError(f"heading {part} {title} not found in the plan")
    return (found[-1] if last else found[0]).start()


def _parse_measures(raw: str, start: int, end: int) -> dict[str, Measure]:
    lines = _lines_with_offsets(raw, start, end)
    heads = []
    for i, (off, line) in enumerate(lines):
        m = _HEADING_RE.match(line)
        # Table-of-contents lines carry tab-separated page numbers; bodies do not.
        if m and "\t" not in line:
            heads.append((i, off, f"{int(m.group(1))}-{int(m.group(2))}", m.group(3)))
    measures: dict[str, Measure] = {}
    for h, (i, off, no, title) in enumerate(heads):
        j_end = heads[h + 1][0] if h + 1 < len(heads) else len(lines)
        body = lines[i + 1 : j_end]
        # The part-3 boundary page header ("## デジタル社会の実現に向けた重点計画") is not measure text.
        end_off = heads[h + 1][1] if h + 1 < len(heads) else end
        measures[no] = _parse_measure_body(no, _strip_md(title), off, end_off, body, measures)
    return measures


def _parse_measure_body(
    no: str, title: str, start: int, end: int, body: list[tuple[int, str]], seen: dict[str, Measure]
) -> Measure:
    bullets: list[str] = []
    targets: list[str] = []
    lead: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    mode = "title"
    for _off, line in body:
        s = line.strip()
        if not s or _is_page_noise(_strip_md(s)):
            continue
        if s.startswith("#") and "重点計画" in s and "第" not in s:
            continue
        fm = _FIELD_RE.match(s)
        if fm:
            name, value = fm.group(1), _strip_md(fm.group(2))
            if name == "具体的な目標":
                mode = "targets"
                if value and value not in NONE_MARKS:
                    targets.append(value)
            elif name == "関係府省庁":
                if mode != "done":
                    related = split_ministries(value)
                mode = "after_lead" if mode == "lead" else mode
                if lead:
                    mode = "done"
            else:
                # A second 主担当 block inside one body is a stray block of another measure
                # (e.g. after No. 5-10): keep the first, ignore the rest.
                if not lead:
                    lead = split_ministries(value)
                    mode = "lead"
                else:
                    mode = "done"
            continue
        if mode == "done":
            continue
        text = _strip_md(s)
        if mode == "title":
            if not s.startswith(("-", "・", "<", "＜", "【", "○")) and not bullets and len(title) >= 30:
                # The heading wrapped onto the next line (e.g. No. 1-13 「…優良」「事例の展開」).
                title = title + text
                mode = "bullets"
                continue
            mode = "bullets"
        if mode == "bullets":
            if s.startswith(("-", "・")) or not bullets:
                bullets.append(_clean_bullet(s))
            else:
                bullets[-1] = bullets[-1] + text
        elif mode == "targets":
            targets.append(_clean_bullet(s))
    chapter = int(no.split("-")[0])
    return Measure(
        measure_no=no, chapter=chapter, chapter_title=CHAPTER_TITLES.get(chapter, ""), title=title,
        bullets=tuple(b for b in bullets if b), targets=tuple(_join_wrapped([t for t in targets if t])),
        lead_ministries=lead, related_ministries=related, start=start, end=end,
    )


def _parse_roadmap(raw: str, start: int, end: int) -> list[RoadmapRow]:
    rows: list[RoadmapRow] = []
    current_no, current_title = "", ""
    for off, line in _lines_with_offsets(raw, start, end):
        cells = [c.strip() for c in line.split("\t")]
        filled = [c for c in cells if c and set(c) - set("■□◆◇●○→ ")]
        if len(filled) < 2 or filled[0].startswith(("施策管理", "※")) or re.fullmatch(r"\d{4}年度|\dQ", filled[0]):
            continue
        if re.fullmatch(r"\d+-\d+", filled[0]):
            current_no = filled[0]
            current_title = _strip_md(filled[1])
            rest = filled[2:]
        elif current_no:
            rest = filled
        else:
            continue
        if not rest:
            continue
        heading = _strip_md(rest[0])
        lead = split_ministries(rest[1]) if len(rest) > 1 else ()
        related = split_ministries(rest[2]) if len(rest) > 2 else ()
        rows.append(RoadmapRow(current_no, current_title, heading, lead, related, off, off + len(line)))
    return rows


_PROC_RE = re.compile(r"^[#*\s]*(\d{1,3})\s*[.．]\s*(.+?)\s*[（(][◎@](.+?)[）)]\s*$")
_PART_RE = re.compile(r"^[#*\s]*(Ⅱ|Ⅲ|Ⅳ|Ⅴ|IV|V)\s+(.+)$")
# Group headers that end a procedure's KPI block ("2. 戸籍謄本等の添付省略", "-----").
_PROC_STOP_RE = re.compile(r"^(-{3,}|\d+\s*[.．]\s*.*(手続|添付省略|共通基盤|その他))$")
_SUB_RE = re.compile(r"^[#*\s]*[（(]\s*([1-3１-３])\s*[)）]\s*(.*)$")


def _parse_procedures(raw: str, start: int, end: int) -> list[Procedure]:
    procs: list[Procedure] = []
    part = ""
    cur: dict | None = None

    def close(end_off: int) -> None:
        if cur is not None:
            procs.append(
                Procedure(
                    number=cur["number"], title=cur["title"], lead_ministries=cur["lead"],
                    related_ministries=cur["related"], procedures=tuple(cur["procs"]),
                    actions="".join(cur["actions"]).strip(), kpi="\n".join(cur["kpi"]).strip(),
                    part=cur["part"], start=cur["start"], end=end_off,
                )
            )

    for off, line in _lines_with_offsets(raw, start, end):
        s = line.strip()
        if not s:
            continue
        pm = _PART_RE.match(s)
        if pm and "\t" not in s:
            part = f"{pm.group(1)} {_strip_md(pm.group(2))}"
            continue
        m = _PROC_RE.match(s)
        if m and "\t" not in s:
            close(off)
            ministries = split_ministries(m.group(3))
            cur = {
                "number": int(m.group(1)), "title": _strip_md(m.group(2)), "lead": ministries[:1],
                "related": ministries[1:], "procs": [], "actions": [], "kpi": [], "part": part,
                "start": off, "mode": "",
            }
            continue
        if cur is None:
            continue
        if _PROC_STOP_RE.match(s):
            cur["mode"] = ""
            continue
        sm = _SUB_RE.match(s)
        if sm and len(s) < 40:
            num = unicodedata.normalize("NFKC", sm.group(1))
            cur["mode"] = {"1": "procs", "2": "actions", "3": "kpi"}[num]
            continue
        if cur["mode"] == "procs":
            cells = [c.strip() for c in s.split("\t")]
            if cells[0] and cells[0] != "手続名" and len(cells) >= 3:
                cur["procs"].append(cells[0])
        elif cur["mode"] == "actions":
            cur["actions"].append(_strip_md(s))
        elif cur["mode"] == "kpi" and not _is_page_noise(s):
            cur["kpi"].append(_strip_md(s))
    close(end)
    return procs
