"""A stale index is never served: what the API, the CLI and the page say, and how each recovers.

Every case works on copies of the real corpus and of the real index (built from that corpus):
a document changed with its manifest sha256 updated, a document added, a document removed,
an index made by another tokenizer version. The index then no longer matches what
``load_corpus`` returns, so answering from it would quote text the corpus no longer holds.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.api import Assistant
from assistant.index import BUILD_CMD, IndexStale, check_fresh
from assistant.tokenizer import tokenizer_version

from .helpers import PROBE, current_build, free_port, run_cli

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NEW_TEXT = "令和8年度に試験用の追記を行う。"


# -- ways to make the index stale: each edits the corpus copy or the index copy ------------------


def _blocks(manifest: str) -> list[str]:
    head, *docs = manifest.split("[[documents]]")
    return [head, *docs]


def _set_sha(corpus: Path, doc_id: str, sha: str) -> None:
    path = corpus / "manifest.toml"
    parts = _blocks(path.read_text(encoding="utf-8"))
    for i, block in enumerate(parts):
        if f'doc_id = "{doc_id}"' in block:
            parts[i] = re.sub(r'sha256 = "[0-9a-f]{64}"', f'sha256 = "{sha}"', block)
    path.write_text("[[documents]]".join(parts), encoding="utf-8")


def change_document(corpus: Path, index: Path) -> str:
    """Edit a document and, as a maintainer would, update its sha256 in the manifest."""
    path = corpus / "plan-2021-outline.txt"
    path.write_text(path.read_text(encoding="utf-8").rstrip() + f"\n{NEW_TEXT}\n", encoding="utf-8")
    _set_sha(corpus, "plan2021-outline", hashlib.sha256(path.read_bytes()).hexdigest())
    return "文書が変更されています（plan2021-outline）"


def add_document(corpus: Path, index: Path) -> str:
    """A new edition put into corpus/ with its [[documents]] entry, but not indexed."""
    text = "デジタル社会の実現に向けた重点計画（試験用の追加文書）\n\n1. 概要\n" + NEW_TEXT + "\n"
    (corpus / "plan-2026-test.txt").write_text(text, encoding="utf-8")
    entry = (f'\n[[documents]]\ndoc_id = "plan2026-test"\ntitle = "試験用の追加文書（2026年）"\n'
             f'publisher = "デジタル庁"\ndate = "2026"\nedition = 2026\nformat = "pdf-text"\n'
             f'license = "政府標準利用規約（第2.0版）（CC BY 4.0 互換）"\nfilename = "plan-2026-test.txt"\n'
             f'sha256 = "{hashlib.sha256(text.encode()).hexdigest()}"\n')
    with open(corpus / "manifest.toml", "a", encoding="utf-8") as f:
        f.write(entry)
    return "文書が追加されています（plan2026-test）"


def remove_document(corpus: Path, index: Path) -> str:
    """A document and its entry taken out of the corpus."""
    path = corpus / "manifest.toml"
    parts = [b for b in _blocks(path.read_text(encoding="utf-8")) if 'doc_id = "cio-forum-2021"' not in b]
    path.write_text("[[documents]]".join(parts).rstrip() + "\n", encoding="utf-8")
    (corpus / "cio-forum-2021-deck.txt").unlink()
    return "文書が削除されています（cio-forum-2021）"


def other_tokenizer(corpus: Path, index: Path) -> str:
    """An index whose BM25 tokens came from another tokenizer version."""
    path = current_build(index) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["tokenizer_version"] = "ja-0+bigrams+stop-00000000"
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return "トークナイザーのバージョンが異なります（インデックス: ja-0+bigrams+stop-00000000"


CASES: dict[str, Callable[[Path, Path], str]] = {
    "changed-document": change_document, "added-document": add_document,
    "removed-document": remove_document, "other-tokenizer": other_tokenizer,
}


@pytest.fixture(params=list(CASES))
def stale(request, settings, index_copy: Path, tmp_path: Path) -> tuple[Any, str]:
    """Settings on a corpus copy and an index copy made stale in one way; and the change to report."""
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    named = CASES[request.param](corpus, index_copy)
    return settings.replace(index_dir=index_copy, corpus_dir=corpus), named


def _assert_message(message: str, named: str) -> None:
    assert message.startswith("インデックスが古くなっています: "), message
    assert named in message and f"`{BUILD_CMD}` を実行して更新してください" in message, message


# -- API and CLI ---------------------------------------------------------------------------------


def test_stale_index_is_refused_by_api_and_cli(stale):
    s, named = stale
    with pytest.raises(IndexStale) as exc_info:
        Assistant(s)
    _assert_message(str(exc_info.value), named)
    with pytest.raises(IndexStale):
        check_fresh(s)  # what a health check reads: the same verdict without loading anything

    r = run_cli(["ask", PROBE], ASSISTANT_INDEX_DIR=s.index_dir, ASSISTANT_CORPUS_DIR=s.corpus_dir)
    assert r.returncode == 3, (r.returncode, r.stderr[-2000:])
    assert r.stdout == "" and "Traceback" not in r.stderr
    _assert_message(r.stderr.strip().removeprefix("エラー: "), named)


def test_the_named_command_makes_it_fresh(settings, index_copy, tmp_path):
    """The command the message names fixes it: the changed text is then found, the old is gone."""
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    change_document(corpus, index_copy)
    env = {"ASSISTANT_INDEX_DIR": index_copy, "ASSISTANT_CORPUS_DIR": corpus}
    r = run_cli(["index", "--quiet", "--json"], **env)  # = BUILD_CMD with the copies' settings
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout)
    assert report["built"] and report["n_embedded"] >= 1  # only the changed chunk(s) were embedded
    a = Assistant(settings.replace(index_dir=index_copy, corpus_dir=corpus))
    try:
        assert any(NEW_TEXT in c.text for c in a.index.chunks if c.doc_id == "plan2021-outline")
        assert "1-57" in a.answer(PROBE).measure_nos
    finally:
        a.index.close()


def test_auto_reindex_updates_instead_of_refusing(settings, index_copy, tmp_path, capfd):
    """ASSISTANT_AUTO_REINDEX=1: the stale index is updated at start-up, with progress bars."""
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    other_tokenizer(corpus, index_copy)
    old_build = current_build(index_copy).name
    a = Assistant(settings.replace(index_dir=index_copy, corpus_dir=corpus, auto_reindex=True))
    try:
        assert a.index.manifest["tokenizer_version"] == tokenizer_version()
        assert a.index.manifest["build_id"] != old_build and a.index.manifest["n_embedded"] == 0
        assert "1-57" in a.answer(PROBE).measure_nos
    finally:
        a.index.close()
    err = capfd.readouterr().err
    assert "ASSISTANT_AUTO_REINDEX=1 のため、インデックスを更新します" in err and "トークン化" in err


def test_auto_reindex_from_the_environment(settings, index_copy, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    add_document(corpus, index_copy)
    r = run_cli(["ask", PROBE], ASSISTANT_INDEX_DIR=index_copy, ASSISTANT_CORPUS_DIR=corpus,
                ASSISTANT_AUTO_REINDEX="1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "No. 1-57" in r.stdout and "文書が追加されています（plan2026-test）" in r.stderr
    manifest = json.loads((current_build(index_copy) / "manifest.json").read_text(encoding="utf-8"))
    assert "plan2026-test" in manifest["corpus_hashes"]


# -- the page ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def _launch(demo: Any) -> str:
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/"


@pytest.mark.browser
def test_page_shows_stale_index_with_its_build_button(stale, page):
    from assistant.ui import create_app

    s, named = stale
    demo = create_app(s)
    try:
        page.goto(_launch(demo), wait_until="domcontentloaded")
        banner = page.locator("#jp-banner")
        banner.wait_for()
        text = banner.inner_text()
        assert "インデックスが古くなっています" in text and named in text and BUILD_CMD in text, text
        assert "「インデックスを作成」ボタンで更新できます" in text
        assert page.get_by_role("button", name="インデックスを作成").is_visible()
    finally:
        demo.close()


@pytest.mark.browser
def test_build_button_updates_a_stale_index(settings, index_copy, tmp_path, page):
    """The button rebuilds (incrementally, from the cache), the banner goes and questions work."""
    from assistant.ui import create_app

    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    named = remove_document(corpus, index_copy)
    demo = create_app(settings.replace(index_dir=index_copy, corpus_dir=corpus,
                                       feedback_path=tmp_path / "fb.jsonl"))
    try:
        page.goto(_launch(demo), wait_until="domcontentloaded")
        page.locator("#jp-banner").wait_for()
        assert named in page.locator("#jp-banner").inner_text()
        page.get_by_role("button", name="インデックスを作成").click()
        page.get_by_text("インデックスを作成しました。質問できます。").wait_for(timeout=300_000)
        page.wait_for_function("() => !document.querySelector('#jp-banner')?.offsetParent")
        box = page.locator("#jp-input textarea")
        box.fill(PROBE)
        box.press("Enter")
        page.locator("#jp-chat [data-testid=bot]").first.wait_for()
        page.wait_for_function(
            "() => document.querySelector('#jp-chat [data-testid=status-tracker]').classList.contains('hide')")
        assert "No. 1-57" in page.locator("#jp-chat [data-testid=bot]").first.inner_text()
    finally:
        demo.close()


# -- the swap after a rebuild --------------------------------------------------------------------


def test_rebuild_swaps_everything_served_at_once(settings, index_copy, tmp_path):
    """While the page rebuilds, questions see the old snapshot; afterwards the new one, whole:
    never a new catalog or document list beside an old (or no) Assistant."""
    from assistant.ui import Runtime

    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    add_document(corpus, index_copy)
    rt = Runtime(settings.replace(index_dir=index_copy, corpus_dir=corpus))
    before = rt.served
    assert before.assistant is None and isinstance(before.error, IndexStale)
    assert "plan2026-test" in [d.info.doc_id for d in before.documents]

    seen: list[Any] = []
    stop = threading.Event()

    def watch() -> None:  # what concurrent requests observe, as often as they can
        while not stop.is_set():
            current = rt.served
            if not seen or seen[-1] is not current:
                seen.append(current)

    watcher = threading.Thread(target=watch)
    watcher.start()
    during: list[Any] = []
    try:
        message = rt.build(lambda frac, desc="": during.append(rt.served))
    finally:
        stop.set()
        watcher.join(timeout=30)
    after = rt.served
    assert message == "インデックスを作成しました。質問できます。", message
    assert during and all(s is before for s in during)  # the old snapshot is served until the end
    assert after is not before and after.error is None
    assert after.catalog is after.assistant.catalog and list(after.documents) == list(after.assistant.documents)
    assert "plan2026-test" in {c.doc_id for c in after.assistant.index.chunks}
    assert {id(s) for s in seen} <= {id(before), id(after)}  # no third, half-updated state
    after.assistant.index.close()

