"""The plan catalog against the real 2025 plan: counts, fields checked by hand, roadmap, procedures, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.catalog import find_measure_nos, parse_measure_no, split_ministries
from assistant.corpus import search_key

# Hand-checked against corpus/plan-2025-full.md: (measure_no, title, lead ministries, a target fragment).
EXPECTED = [
    ("1-1", "AI イノベーション促進とリスク対応の両立", ("内閣府",), "AI関連技術の研究開発を行う能力を保持"),
    ("1-13", "デジタル地方創生サービスカタログの改定及び自治体の調達支援を通じた優良事例の展開", ("デジタル庁",), "9,000PV"),
    ("1-42", "マイナンバーカードの円滑な取得支援", ("総務省",), "更新需要が増加する見込み"),
    ("1-57", "運転免許証との一体化", ("警察庁",), "運転免許証とマイナンバーカードの一体化"),
    ("2-6", "研究データの活用・流通・管理を促進する次世代学術研究プラットフォーム(SINET)", ("文部科学省",), "欧州回線の回線稼働率：99%"),
    ("2-47", "公共分野の情報システムにおけるデータ拠点の立地分散", ("総務省",), "ワット・ビット連携官民協議会"),
    ("3-1", "災害リスク情報のオープンデータ化", ("国土交通省",), "約17,000に拡充予定"),
    ("3-40", "消防防災分野における DX の推進", ("総務省",), "緊急消防援助隊のDX推進"),
    ("3-73", "自動運転の審査に必要な手続の透明性・公平性を確保するための方策の取りまとめ", ("警察庁", "国土交通省"), "自動運転事業"),
    ("3-80", "国・地方公共団体等のガバメントクラウド移行", ("デジタル庁",), "基盤経費削減額"),
    ("3-121", "半導体戦略の具体化", ("経済産業省",), "15兆円超"),
    ("4-14", "日 ASEAN サイバーセキュリティ能力構築センター(AJCCBC) プロジェクト及び大洋州島嶼国におけるサイバーセキュリティ能力構築支援", ("総務省",), "2025年度に100人程度"),
    ("4-33", "地方公共団体のサイバーセキュリティ対策の向上", ("総務省",), "自治体情報セキュリティクラウド"),
    ("5-1", "企業DX推進に資するデジタル人材育成", ("経済産業省",), "230万"),
    ("5-10", "都道府県と市町村が連携した推進体制の構築と地方公共団体におけるデジタル人材の確保・育成の促進", ("総務省",), "全ての都道府県で市町村と連携"),
    ("1-109", "簡易な送金決済インフラの構築と国際的な実証", ("デジタル庁",), "実証の具体化"),
    ("3-56", "子育て支援施策など必要な情報をプッシュ型配信するための仕組みの構築", ("内閣官房",), "子育て支援制度レジストリ"),
]


def test_counts_per_chapter(catalog):
    assert len(catalog.measures) == 326
    assert catalog.by_chapter() == {1: 109, 2: 51, 3: 121, 4: 33, 5: 12}


@pytest.mark.parametrize("no,title,lead,target", EXPECTED, ids=[e[0] for e in EXPECTED])
def test_measure_fields(catalog, plan_doc, no, title, lead, target):
    m = catalog.measures[no]
    assert m.title == title
    assert m.lead_ministries == lead
    assert any(target in t for t in m.targets), m.targets
    assert m.chapter == int(no.split("-")[0])
    # The measure's raw span really is this measure, and holds its target.
    span = plan_doc.raw[m.start : m.end]
    assert f"[No. {no}]" in span
    assert search_key(target) in search_key(span)


def test_chapters_cover_all_five(catalog):
    chapters = {no.split("-")[0] for no, *_ in EXPECTED}
    assert chapters == {"1", "2", "3", "4", "5"}


def test_related_ministries_and_none_mark(catalog):
    assert catalog.measures["1-57"].related_ministries == ("デジタル庁",)
    # 関係府省庁：— means none
    assert catalog.measures["1-1"].related_ministries == ()
    assert catalog.measures["3-56"].related_ministries == ("こども家庭庁", "デジタル庁", "法務省", "文部科学省", "厚生労働省")


def test_typo_heading_and_wrapped_titles(catalog):
    # 「担当当府省庁：」 (a typo in the plan) is read as the lead ministry.
    typo = [m for m in catalog.measures.values() if "担当当府省庁" in catalog_raw_span(catalog, m)]
    assert typo and all(m.lead_ministries for m in typo)
    # Titles that wrapped onto the next line are joined.
    assert catalog.measures["3-73"].title.endswith("取りまとめ")
    assert catalog.measures["2-6"].title.endswith("(SINET)")


def catalog_raw_span(catalog, m):
    return _RAW[0][m.start : m.end]


_RAW: list[str] = []


@pytest.fixture(autouse=True)
def _raw(plan_doc):
    if not _RAW:
        _RAW.append(plan_doc.raw)


def test_lead_ministries_and_known_gaps(catalog):
    with_lead = [m for m in catalog.measures.values() if m.lead_ministries]
    assert len(with_lead) >= 320
    # Known gaps: measures whose body and roadmap rows both lack a lead ministry. None today;
    # a parser change that loses one shows up here by number.
    assert catalog.gaps == []
    from_roadmap = sorted(m.measure_no for m in catalog.measures.values() if m.lead_source == "roadmap")
    assert "5-12" in from_roadmap and "2-20" in from_roadmap
    assert catalog.measures["5-12"].lead_ministries == ("デジタル庁", "内閣官房")


def test_roadmap_rows_linked(catalog):
    assert len(catalog.roadmap) > 1000
    assert all(r.measure_no in catalog.measures for r in catalog.roadmap)
    rows = catalog.measures["1-1"].roadmap
    assert [r.heading for r in rows][:3] == ["AI戦略本部の設置", "AI基本計画の策定", "ガバナンスの実現"]
    assert all(r.lead_ministries == ("内閣府",) for r in rows)
    # Gantt marks (■) never become ministries.
    assert not any("■" in x for r in catalog.roadmap for x in r.lead_ministries + r.related_ministries)


def test_procedures(catalog):
    procs = {p.number: p for p in catalog.procedures}
    assert len(procs) >= 75
    p = procs[28]
    assert p.title == "航空法に基づく申請等"
    assert p.lead_ministries == ("国土交通省",)
    assert "70％" in p.kpi
    assert "13 手続" in p.actions
    assert "修理改造検査申請" in p.procedures


def test_measure_number_spellings():
    assert parse_measure_no("No. 1-57") == "1-57"
    assert parse_measure_no("１－５７の主担当は") == "1-57"
    assert parse_measure_no("施策1-57") == "1-57"
    assert parse_measure_no("[No.3-40]") == "3-40"
    assert find_measure_nos("No. 1-57 と No. 2-3 を比べて") == ["1-57", "2-3"]
    assert parse_measure_no("2025-06-13に決定") is None
    assert parse_measure_no("特に番号なし") is None


def test_ministry_normalisation():
    assert split_ministries("デジタル 庁、経済産業 省") == ("デジタル庁", "経済産業省")
    assert split_ministries("—") == ()
    assert split_ministries("厚労省") == ("厚生労働省",)


def test_nearest_numbers(catalog):
    assert catalog.nearest("1-500") == ["1-107", "1-108", "1-109"]
    assert all(n.startswith("5-") for n in catalog.nearest("5-99"))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, timeout=120)


def test_cli_catalog_json():
    r = _cli("catalog", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["counts"]["measures"] == 326
    assert data["counts"]["by_chapter"] == {"1": 109, "2": 51, "3": 121, "4": 33, "5": 12}
    assert len(data["documents"]) == 5
    assert sum(1 for m in data["measures"] if m["lead_ministries"]) >= 320


def test_cli_measure_card_and_unknown_numbers():
    r = _cli("measure", "１－５７", "--json")
    assert r.returncode == 0, r.stderr
    card = json.loads(r.stdout)
    assert card["measure_no"] == "1-57" and card["lead_ministries"] == ["警察庁"]
    r = _cli("measure", "No.", "1-57")
    assert r.returncode == 0 and "運転免許証との一体化" in r.stdout
    for bad in ("9-99", "1-500"):
        r = _cli("measure", bad)
        assert r.returncode == 2
        assert "という施策はありません" in r.stderr and "近い番号" in r.stderr
