"""Chroma server mode at system level: a real ``chroma run`` killed, frozen and restarted under a
live Assistant, the CLI and the Gradio page."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from assistant.api import Assistant
from assistant.index import ChromaUnavailable

from .helpers import CHROMA_BIN, PROBE, ChromaServer, copy_index, free_port, run_cli, wait_until

pytestmark = [pytest.mark.server,
              pytest.mark.skipif(not CHROMA_BIN.exists(), reason=f"{CHROMA_BIN} not installed")]

TIMEOUT_S = 3.0


@pytest.fixture(scope="module")
def server_index(tmp_path_factory, built_index, settings):
    """A Chroma server on a free loopback port, and an index built into it via the CLI."""
    root = tmp_path_factory.mktemp("chroma-system")
    server = ChromaServer(root / "chroma-data", free_port(), root / "chroma.log")
    server.start()
    index_dir = copy_index(built_index, root / "index", with_build=False)  # the embedding cache only
    try:
        r = run_cli(["index", "--quiet", "--json"], ASSISTANT_INDEX_DIR=index_dir, ASSISTANT_CHROMA_URL=server.url)
        assert r.returncode == 0, r.stderr[-3000:]
        assert json.loads(r.stdout)["n_embedded"] == 0  # vectors from the cache, stored in the server
        yield server, settings.replace(index_dir=index_dir, chroma_url=server.url, chroma_timeout_s=TIMEOUT_S)
    finally:
        server.kill()


def _ensure_up(server: ChromaServer) -> None:
    if not server.running:
        server.start()


def test_server_mode_fails_clearly_and_recovers(server_index, documents):
    server, s = server_index
    _ensure_up(server)
    a = Assistant(s, documents=documents)
    try:
        first = a.answer(PROBE)
        assert "1-57" in first.measure_nos
        assert a.index._client.get_settings().anonymized_telemetry is False

        server.kill()
        for _ in range(2):  # the first call loses the connection, the second fails to reconnect
            t0 = time.perf_counter()
            with pytest.raises(ChromaUnavailable) as exc_info:
                a.answer("マイナンバーカードの普及に関する施策は？")
            assert time.perf_counter() - t0 < TIMEOUT_S + 2
            assert server.url in str(exc_info.value) and "chroma run" in str(exc_info.value)

        # Down at start: the CLI and a new Assistant say so and name the URL.
        t0 = time.perf_counter()
        with pytest.raises(ChromaUnavailable) as exc_info:
            Assistant(s, documents=documents)
        assert time.perf_counter() - t0 < TIMEOUT_S + 5 and server.url in str(exc_info.value)
        r = run_cli(["ask", PROBE], ASSISTANT_INDEX_DIR=s.index_dir, ASSISTANT_CHROMA_URL=server.url,
                    ASSISTANT_CHROMA_TIMEOUT_S=TIMEOUT_S)
        assert r.returncode == 3, r.stderr[-2000:]
        assert server.url in r.stderr and "Traceback" not in r.stderr

        # Back on the same port and path: the same Assistant answers again, identically.
        server.start()
        assert a.answer(PROBE).text == first.text
    finally:
        a.index.close()


def test_frozen_server_times_out_within_the_setting(server_index, documents):
    server, s = server_index
    _ensure_up(server)
    a = Assistant(s, documents=documents)
    try:
        a.answer(PROBE)
        server.proc.send_signal(signal.SIGSTOP)  # accepts connections, never answers
        try:
            t0 = time.perf_counter()
            with pytest.raises(ChromaUnavailable):
                a.answer("ガバメントクラウドの目標は？")
            elapsed = time.perf_counter() - t0
            assert elapsed < TIMEOUT_S * 2 + 2, f"{elapsed:.1f} s for chroma_timeout_s={TIMEOUT_S}"
        finally:
            server.proc.send_signal(signal.SIGCONT)
        assert wait_until(lambda: _answers(a), 15, 0.5)
    finally:
        a.index.close()


def _answers(a: Assistant) -> bool:
    try:
        return "1-57" in a.answer(PROBE).measure_nos
    except ChromaUnavailable:
        return False


def _bot_text(chatbot: list) -> str:
    for m in reversed(chatbot or []):
        if isinstance(m, dict) and m.get("role") == "assistant":
            c = m.get("content")
            return "".join(p.get("text", "") for p in c if isinstance(p, dict)) if isinstance(c, list) else str(c)
    return ""


def test_ui_stays_up_through_a_chroma_outage(server_index, documents, tmp_path: Path):
    ui = pytest.importorskip("assistant.ui")
    from gradio_client import Client

    server, s = server_index
    _ensure_up(server)
    a = Assistant(s, documents=documents)
    demo = ui.create_app(s.replace(feedback_path=tmp_path / "fb.jsonl"), a)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        client = Client(url, verbose=False)

        def ask(q: str) -> tuple[str, float]:
            t0 = time.perf_counter()
            out = client.submit(q, [], "", "", "", api_name="/chat").result(timeout=60)
            return ui.to_plain(_bot_text(out[1])), time.perf_counter() - t0  # as displayed, unescaped

        text, _ = ask(PROBE)
        assert "1-57" in text and not text.startswith("⚠️")

        server.kill()
        text, elapsed = ask("マイナンバーカードの普及に関する施策は？")
        assert text.startswith("⚠️") and "Chroma サーバー" in text and "接続できません" in text, text
        assert elapsed < TIMEOUT_S + 5
        assert httpx.get(url, timeout=10).status_code == 200  # the page itself is still served

        server.start()
        text, _ = ask(PROBE)
        assert "1-57" in text and not text.startswith("⚠️")
    finally:
        demo.close()
        a.index.close()
