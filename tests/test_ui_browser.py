"""The staff web page, driven in a real chromium against the real Assistant and index.

Run: ``.venv/bin/pytest -m browser tests/test_ui_browser.py -s`` (``-s`` shows first_token_ms).
Needs Debian's chromium at /usr/bin/chromium (``apt-get install -y chromium fonts-noto-cjk``).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
XSS = "<img src=x onerror=alert(1)>"
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]

# Records, in the page, when Enter is pressed in the question box and when the next bot bubble
# first shows text: measured in the browser so Python-side polling adds nothing.
FIRST_TOKEN_JS = """() => {
  window.__t0 = null; window.__ft = null;
  const box = document.querySelector('#jp-input textarea');
  box.addEventListener('keydown', (e) => { if (e.key === 'Enter' && window.__t0 === null) window.__t0 = performance.now(); },
                       {capture: true});
  const chat = document.querySelector('#jp-chat');
  const n0 = chat.querySelectorAll('[data-testid=bot]').length;
  new MutationObserver((_, obs) => {
    const bots = chat.querySelectorAll('[data-testid=bot]');
    if (bots.length > n0 && bots[bots.length - 1].innerText.trim()) { window.__ft = performance.now(); obs.disconnect(); }
  }).observe(chat, {childList: true, subtree: true, characterData: true});
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(demo: Any) -> str:
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def ui_settings(settings: Any, built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The session's temporary index with a fresh feedback file (see tests/conftest.py)."""
    return settings.replace(index_dir=built_index, feedback_path=tmp_path_factory.mktemp("feedback") / "feedback.jsonl")


@pytest.fixture(scope="module")
def app_url(ui_settings: Any) -> Iterator[str]:
    """The real app with the real Assistant, in-process on a free loopback port."""
    from assistant.api import Assistant
    from assistant.ui import create_app

    demo = create_app(ui_settings, Assistant(ui_settings))
    try:
        yield _launch(demo)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records every JavaScript dialog (none may ever open)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.set_default_timeout(TIMEOUT_MS)
    yield pg
    context.close()


def _open(page: Any, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.locator("#jp-input textarea").wait_for()


def _ask(page: Any, question: str) -> str:
    """Type a question, press Enter, wait for the complete answer; return the bot bubble's text."""
    n = page.locator("#jp-chat [data-testid=bot]").count()
    box = page.locator("#jp-input textarea")
    box.fill(question)
    box.press("Enter")
    bubble = page.locator("#jp-chat [data-testid=bot]").nth(n)
    bubble.wait_for()
    # The run is over when the chat's status tracker is hidden again.
    page.wait_for_function(
        "() => document.querySelector('#jp-chat [data-testid=status-tracker]').classList.contains('hide')"
    )
    return bubble.inner_text()


def _new_conversation(page: Any) -> None:
    page.get_by_role("button", name="新しい会話").click()
    page.wait_for_function("() => !document.querySelector('#jp-chat [data-testid=bot]')")


def test_chat_answers_with_sources_and_follow_up(page: Any, app_url: str, ui_settings: Any) -> None:
    _open(page, app_url)
    page.evaluate(FIRST_TOKEN_JS)
    text = _ask(page, "No. 1-57 の主担当府省庁は？")
    first_ms = page.evaluate("() => window.__ft - window.__t0")
    assert "No. 1-57" in text and "警察庁" in text, text
    cite = page.locator("#jp-sources .jp-cite").first
    cite.wait_for()
    assert "No. 1-57" in cite.inner_text() and "文書" in cite.inner_text()

    # Main-view screenshot after an answer (checked by eye in review).
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-main.png"), full_page=True)

    # One click on the measure number opens its full card.
    card = page.locator("#jp-sources #measure-1-57")
    assert card.get_attribute("open") is None
    page.locator('#jp-sources a[href="#measure-1-57"]').first.click()
    page.wait_for_function("() => document.querySelector('#jp-sources #measure-1-57').open")
    assert "具体的な目標" in card.inner_text() and "工程表" in card.inner_text()
    # …and so does the [No. 1-57] citation in the answer text.
    page.evaluate("() => { document.querySelector('#jp-sources #measure-1-57').open = false; }")
    page.locator('#jp-chat a[href="#measure-1-57"]').first.click()
    page.wait_for_function("() => document.querySelector('#jp-sources #measure-1-57').open")

    # A follow-up that only makes sense with the history.
    page.evaluate(FIRST_TOKEN_JS)
    follow = _ask(page, "その施策の目標は？")
    warm_ms = page.evaluate("() => window.__ft - window.__t0")
    assert "No. 1-57" in follow and "目標" in follow, follow
    print(f"\nfirst_token_ms={first_ms:.0f} (first question on a new page); follow-up first_token_ms={warm_ms:.0f}")

    # 👍 on the answer appends exactly one JSON line with exactly the agreed fields.
    page.locator("#jp-chat button[aria-label=いいね]").last.click()  # ja-JP locale: Gradio translates the labels
    path = ui_settings.feedback_path
    deadline = time.time() + 10
    while time.time() < deadline and not (path.exists() and path.read_text(encoding="utf-8").strip()):
        time.sleep(0.1)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert set(record) == {"question", "answer", "citations", "rating", "timestamp"}
    assert record["question"] == "その施策の目標は？" and record["rating"] == "up"
    assert record["citations"] and record["citations"][0]["measure_no"] == "1-57"
    assert page.dialogs == []


def test_example_button_and_new_conversation(page: Any, app_url: str) -> None:
    _open(page, app_url)
    page.get_by_role("button", name="マイナンバーカードの普及に関する施策は？").click()
    bubble = page.locator("#jp-chat [data-testid=bot]").first
    bubble.wait_for()
    page.locator("#jp-sources .jp-cite").first.wait_for()
    assert "No. " in bubble.inner_text()
    _new_conversation(page)
    assert page.locator("#jp-sources .jp-cite").count() == 0


def test_document_filter_changes_the_sources(page: Any, app_url: str, ui_settings: Any) -> None:
    from assistant.corpus import load_corpus

    titles = {d.info.doc_id: d.info.title for d in load_corpus(ui_settings.corpus_dir)}
    question = "マイナンバーカードの普及に関する施策は？"
    _open(page, app_url)
    _ask(page, question)
    before = page.locator("#jp-sources .jp-cite").first.inner_text()
    assert f"文書: {titles['plan2025']}" in before, before

    _new_conversation(page)
    page.get_by_text("絞り込み", exact=True).click()
    page.get_by_label("文書・版").click()
    page.get_by_role("option", name="重点計画 2024（ウェブ要約）").click()
    _ask(page, question)
    after = page.locator("#jp-sources .jp-cite").first.inner_text()
    assert f"文書: {titles['plan2024-summary']}" in after, after
    assert "No. " not in after  # the 2024 summary has no measure numbers


def test_measure_list_search_and_card(page: Any, app_url: str) -> None:
    _open(page, app_url)
    page.get_by_role("tab", name="施策一覧").click()
    page.get_by_label("検索（番号・施策名・府省庁・キーワード）").fill("ガバメントクラウド")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#jp-table [role=gridcell]')].some(c => c.innerText.includes('ガバメントクラウド'))"
    )
    # Sort by lead ministry (header menu, labels in Japanese); selection must follow the sorted rows.
    header = page.locator("#jp-table [data-testid=header-3]")
    header.hover()
    header.locator("button").click()
    page.get_by_role("menuitem", name="降順に並べ替え").click()
    cells = page.locator("#jp-table [role=gridcell]")
    page.wait_for_function(
        "() => { const c = [...document.querySelectorAll('#jp-table [role=gridcell]')].filter((_, i) => i % 4 === 3)"
        ".map(e => e.innerText); return c.length > 1 && c.every((v, i) => i === 0 || c[i - 1] >= v); }"
    )
    number = cells.nth(0).inner_text().strip()
    cells.nth(1).click()
    card = page.locator("#jp-list-card .jp-listcard")
    card.wait_for()
    assert f"No. {number}" in card.inner_text() and "取組の内容" in card.inner_text()


def test_html_in_question_is_shown_as_text(page: Any, app_url: str) -> None:
    _open(page, app_url)
    _ask(page, f"{XSS} マイナンバーカードとは？")
    user = page.locator("#jp-chat [data-testid=user]").first.inner_text()
    assert XSS in user, user
    page.wait_for_timeout(500)  # give a rogue onerror the chance to fire
    assert page.dialogs == []
    assert page.locator("#jp-chat img[src=x]").count() == 0
    assert page.locator("img[src=x]").count() == 0


def test_missing_index_shows_banner(page: Any, ui_settings: Any, tmp_path: Path) -> None:
    from assistant.ui import create_app

    demo = create_app(ui_settings.replace(index_dir=tmp_path / "empty-index"))
    try:
        _open(page, _launch(demo))
        banner = page.locator("#jp-banner")
        banner.wait_for()
        assert "インデックスがありません" in banner.inner_text()
        assert page.get_by_role("button", name="インデックスを作成").is_visible()
        # An empty question does nothing; a real one gets a Japanese message, and the page lives on.
        page.locator("#jp-input textarea").press("Enter")
        page.wait_for_timeout(500)
        assert page.locator("#jp-chat [data-testid=user]").count() == 0
        text = _ask(page, "No. 1-57 の主担当は？")
        assert "インデックスがありません" in text
        page.get_by_role("tab", name="施策一覧").click()
        page.locator("#jp-table [role=gridcell]").first.wait_for()  # the catalog needs no index
    finally:
        demo.close()


def test_citation_opens_the_passage_in_its_context(page: Any, app_url: str, ui_settings: Any) -> None:
    """A click on a quoted citation opens, in place, the passage in its section with the quote
    marked, the document title, section path and printed page; Enter on it closes it again."""
    from assistant.corpus import load_corpus, search_key

    plan_title = next(d.info.title for d in load_corpus(ui_settings.corpus_dir) if d.info.doc_id == "plan2025")
    _open(page, app_url)
    _ask(page, "No. 1-57 の主担当府省庁は？")
    card = page.locator("#jp-sources .jp-cite", has=page.locator("#measure-1-57"))
    source = card.locator(".jp-src").first
    summary = source.locator("summary")
    summary.wait_for()
    assert "p.52" in summary.inner_text()  # No. 1-57 is on page 52 of the plan (its TOC says so)
    viewer = source.locator(".jp-viewer")
    assert not viewer.is_visible()
    url = page.url
    summary.click()
    viewer.wait_for(state="visible")
    hit = viewer.locator("mark.jp-hit")
    assert hit.count() == 1 and hit.is_visible()
    quote = summary.locator(".jp-qtext").inner_text()
    assert search_key(hit.inner_text()) == search_key(quote) and "警察庁" in hit.inner_text()
    text = viewer.inner_text()
    assert plan_title in text and "節: 第2 重点政策一覧" in text and "ページ: p.52" in text
    context = viewer.locator(".jp-context").inner_text()
    assert "運転免許証との一体化" in context and len(context) > len(hit.inner_text()) + 20  # the passage around it
    assert page.url == url  # nothing navigated away
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-source-viewer.png"), full_page=True)
    summary.focus()
    summary.press("Enter")  # native <details>: the keyboard works as the mouse does
    viewer.wait_for(state="hidden")
    assert page.dialogs == []
