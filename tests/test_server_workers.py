"""``serve --workers 2``, ``serve`` without an index, the loopback rule, the one flag→Settings
mapping and the import graph of the surfaces."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import ROOT, LiveServer

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def servers(built_index, tmp_path_factory) -> Iterator[tuple[LiveServer, LiveServer, Path]]:
    """Both started at once (loading overlaps), then waited for."""
    empty = tmp_path_factory.mktemp("no-index")
    pooled = LiveServer("--workers", "2")
    bare = LiveServer("--index-dir", str(empty))
    try:
        yield pooled.wait(), bare.wait(), empty
    finally:
        pooled.stop()
        bare.stop()


def test_two_workers_answer_like_the_in_process_assistant(servers, assistant):
    pooled, _, _ = servers
    with pooled.client() as http:
        assert http.get("/api/health").json()["workers"] == 2
        for q in ("No. 1-57 の主担当府省庁は？", "ガバメントクラウドへの移行の目標は？", "防災に関する施策は？"):
            got = http.post("/api/answer", json={"question": q}).json()
            want = assistant.answer(q).to_dict()
            assert got["text"] == want["text"]
            assert [c["measure_no"] for c in got["citations"]] == [c["measure_no"] for c in want["citations"]]
        # Streaming and the OpenAI endpoint go through the workers too.
        with http.stream("POST", "/api/answer/stream", json={"question": "No. 1-57 の主担当は？"}) as r:
            assert "event: answer" in r.read().decode()
        reply = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "No. 1-57 の主担当は？"}]})
        assert "[No. 1-57]" in reply.json()["choices"][0]["message"]["content"]
    # The page answers through the workers as well.
    from gradio_client import Client

    _box, _chat, sources = Client(pooled.url + "/", verbose=False).predict(
        "No. 1-57 の主担当は？", [], "", "", "", api_name="/chat")
    assert "警察庁" in sources


def test_worker_errors_keep_their_type_and_japanese_message(servers):
    pooled, _, _ = servers
    with pooled.client() as http:
        r = http.post("/api/answer", json={"question": "あ" * 5000})
        assert r.status_code == 422 and r.json()["error"] == "invalid_question" and r.json()["limit"] == 2000
        r = http.post("/api/answer", json={"question": "AI", "filters": {"doc_id": "nope"}})
        assert r.status_code == 422 and r.json()["error"] == "invalid_filter" and JAPANESE.search(r.json()["message"])


def test_without_an_index_answers_are_503_naming_the_command(servers):
    _, bare, empty = servers
    with bare.client() as http:
        health = http.get("/api/health")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        assert str(empty) in health.json()["message"]  # --index-dir reached the server
        for path, body in (("/api/answer", {"question": "No. 1-57 の主担当は？"}),
                           ("/api/answer/stream", {"question": "No. 1-57 の主担当は？"})):
            r = http.post(path, json=body)
            assert r.status_code == 503 and r.json()["error"] == "index_unavailable"
            assert "python -m assistant index" in r.json()["message"]
        r = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "No. 1-57 は？"}]})
        assert r.status_code == 503 and "python -m assistant index" in r.json()["error"]["message"]
        # The catalog needs no index: measure cards still work.
        assert http.get("/api/measures/1-57").json()["lead_ministries"] == ["警察庁"]
        # So does the page, in its missing-index state.
        assert http.get("/").status_code == 200


def test_ui_command_uses_the_index_dir_flag(tmp_path):
    """`python -m assistant ui --index-dir X` opens X: the page's missing-index banner names it."""
    import time

    import httpx
    from live_server import free_port

    port = free_port()
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "ui", "--index-dir", str(tmp_path),
                                 "--port", str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while "起動しました" not in log.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.3)
        config = httpx.get(f"http://127.0.0.1:{port}/config", timeout=30).text
        assert str(tmp_path) in config  # the banner of the missing index names the directory
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_non_loopback_without_token_and_login_is_refused():
    r = subprocess.run([sys.executable, "-m", "assistant", "serve", "--host", "0.0.0.0", "--port", "9"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    assert r.returncode == 2
    assert "ASSISTANT_API_TOKEN" in r.stderr and "ASSISTANT_UI_AUTH" in r.stderr


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("192.168.1.10", False), ("::", False), ("example.org", False),
])
def test_is_loopback(host, loopback):
    from assistant.server import is_loopback

    assert is_loopback(host) is loopback


def test_check_access(settings):
    from assistant.server import ServeRefused, check_access

    check_access(settings.replace(ui_host="127.0.0.1", api_token="", ui_auth=""))
    check_access(settings.replace(ui_host="0.0.0.0", api_token="t", ui_auth="u:p"))
    for token, login in (("", "u:p"), ("t", ""), ("", "")):
        with pytest.raises(ServeRefused):
            check_access(settings.replace(ui_host="0.0.0.0", api_token=token, ui_auth=login))
    with pytest.raises(ServeRefused, match="user:password"):
        check_access(settings.replace(ui_auth="nopassword"))


@pytest.mark.parametrize("command", [
    ["ui"], ["serve"], ["bench"], ["index"], ["catalog"], ["measure", "1-57"], ["ask", "質問"], ["chat"], ["eval"],
])
def test_one_flag_mapping_for_every_command(command, tmp_path):
    from assistant.cli import build_parser, settings_from_args

    flags = ["--index-dir", str(tmp_path / "i"), "--corpus-dir", str(tmp_path / "c"), "--embedder", "st:/m",
             "--chroma-url", "http://127.0.0.1:1", "--llm", "openai:m"]
    s = settings_from_args(build_parser().parse_args([*command, *flags]))
    assert (s.index_dir, s.corpus_dir, s.embedder, s.chroma_url, s.llm) == (
        tmp_path / "i", tmp_path / "c", "st:/m", "http://127.0.0.1:1", "openai:m")
    if command[0] in ("ui", "serve"):
        s = settings_from_args(build_parser().parse_args([*command, "--host", "::1", "--port", "8123"]))
        assert (s.ui_host, s.ui_port) == ("::1", 8123)


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_no_import_cycle_among_cli_ui_server():
    pkg = ROOT / "assistant"
    ui, server, pipeline = (_imported_modules(pkg / f"{m}.py") for m in ("ui", "server", "pipeline"))
    assert not {"assistant.cli", "assistant.server"} & ui
    assert "assistant.cli" not in server
    assert not {"assistant.cli", "assistant.ui", "assistant.server"} & pipeline
    assert "assistant.pipeline" in ui and "assistant.pipeline" in _imported_modules(pkg / "cli.py")


def test_zero_workers_is_refused():
    r = subprocess.run([sys.executable, "-m", "assistant", "serve", "--workers", "0", "--port", "9"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--workers" in r.stderr
