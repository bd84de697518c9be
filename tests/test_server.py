"""``python -m assistant serve`` driven by real clients: httpx, the ``openai`` client (stream and
not), the ``mcp`` client and ``gradio_client``. One server process (token and page login on)
is shared by the whole module."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import openai
import pytest
from live_server import LiveServer

TOKEN = "test-token-4f1c"
LOGIN = ("staff", "s3cret-pass")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
Q_LEAD = "No. 1-57 の主担当府省庁は？"


@pytest.fixture(scope="module")
def server(built_index) -> Iterator[LiveServer]:
    srv = LiveServer(token=TOKEN, env={"ASSISTANT_UI_AUTH": ":".join(LOGIN)}).wait()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def measure_nos(data: dict) -> list[str]:
    return [c["measure_no"] for c in data["citations"] if c["measure_no"]]


def assert_japanese_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"] == code and JAPANESE.search(body["message"]), body
    return body


# --- /api ---------------------------------------------------------------------------------------


def test_answer_returns_the_answer_with_structured_citations(http):
    r = http.post("/api/answer", json={"question": Q_LEAD})
    assert r.status_code == 200
    data = r.json()
    assert "警察庁" in data["text"] and "[No. 1-57]" in data["text"]
    assert data["abstained"] is False
    cite = next(c for c in data["citations"] if c["measure_no"] == "1-57")
    assert cite["doc_id"] == "plan2025" and cite["lead_ministries"] == ["警察庁"] and cite["quote"]
    assert cite["section"].endswith("No. 1-57")


def test_answer_follows_the_conversation(http):
    history = [{"role": "user", "content": Q_LEAD},
               {"role": "assistant", "content": http.post("/api/answer", json={"question": Q_LEAD}).json()["text"]}]
    data = http.post("/api/answer", json={"question": "その施策の目標は？", "history": history}).json()
    assert "1-57" in measure_nos(data)


def test_answer_applies_filters(http):
    data = http.post("/api/answer", json={"question": "AIの活用に関する施策は？", "filters": {"chapter": 4}}).json()
    assert measure_nos(data) and all(n.startswith("4-") for n in measure_nos(data))


def test_stream_sends_pieces_then_the_final_answer(http):
    events = []
    with http.stream("POST", "/api/answer/stream", json={"question": Q_LEAD}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[6:])))
    kinds = [e for e, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"piece"} and len(kinds) >= 2
    final = events[-1][1]
    assert "".join(d["text"] for e, d in events[:-1]) == final["text"]
    assert "1-57" in measure_nos(final)


@pytest.mark.parametrize(("body", "code"), [
    ({"question": ""}, "invalid_question"),
    ({"question": "   \n\t"}, "invalid_question"),
    ({"question": "あ" * 2001}, "invalid_question"),
    ({"question": "AI", "filters": {"chapter": 9}}, "invalid_filter"),
    ({"question": "AI", "filters": {"ministry": "存在しない省"}}, "invalid_filter"),
    ({"question": "AI", "filters": {"colour": "red"}}, "invalid_request"),
    ({"question": 42}, "invalid_request"),
    ({"history": []}, "invalid_request"),
    ({"question": "AI", "history": "not a list"}, "invalid_request"),
])
def test_bad_questions_and_bodies_are_422_with_a_japanese_message(http, body, code):
    for path in ("/api/answer", "/api/answer/stream"):
        assert_japanese_error(http.post(path, json=body), 422, code)


def test_long_question_error_names_the_limit(http):
    body = assert_japanese_error(http.post("/api/answer", json={"question": "あ" * 2001}), 422, "invalid_question")
    assert body["limit"] == 2000


def test_malformed_json_is_422(http):
    r = http.post("/api/answer", content=b'{"question": "No. 1-57', headers={"content-type": "application/json"})
    assert_japanese_error(r, 422, "invalid_request")


def test_bodies_over_64_kib_are_413(http):
    big = {"question": "AI", "history": [{"role": "user", "content": "あ" * 30000}]}  # ~90 KB of UTF-8
    assert_japanese_error(http.post("/api/answer", json=big), 413, "request_too_large")

    def chunked():  # no Content-Length: the limit still holds while reading
        for _ in range(70):
            yield b" " * 1024

    r = http.post("/api/answer", content=chunked(), headers={"content-type": "application/json"})
    assert_japanese_error(r, 413, "request_too_large")
    # Just under the limit is parsed normally (and refused only for the question's length).
    near = {"question": "あ" * 2001, "pad": " " * (50 * 1024)}
    assert_japanese_error(http.post("/api/answer", json=near), 422, "invalid_request")


def test_measure_search(http):
    data = http.get("/api/measures", params={"q": "マイナンバーカード", "chapter": 1}).json()
    assert data["count"] >= 5 and all(m["chapter"] == 1 for m in data["measures"])
    assert all("マイナンバーカード" in m["title"] or m["measure_no"] for m in data["measures"])
    led = http.get("/api/measures", params={"ministry": "警察庁", "limit": 326}).json()
    assert "1-57" in [m["measure_no"] for m in led["measures"]]
    assert all("警察庁" in m["lead_ministries"] for m in led["measures"])
    assert http.get("/api/measures", params={"q": "存在しないキーワードxyz"}).json() == {"count": 0, "measures": []}
    assert_japanese_error(http.get("/api/measures", params={"chapter": 7}), 422, "invalid_request")


def test_measure_card_and_unknown_number(http):
    card = http.get("/api/measures/1-57").json()
    assert card["title"] == "運転免許証との一体化" and card["lead_ministries"] == ["警察庁"]
    assert http.get("/api/measures/No. 1-57").json() == card  # any accepted spelling
    body = assert_japanese_error(http.get("/api/measures/9-99"), 404, "unknown_measure")
    assert body["nearest"] and all(re.fullmatch(r"\d+-\d+", n) for n in body["nearest"])
    assert "No. 9-99" in body["message"]


def test_health_names_the_loaded_build_and_documents(http, settings, documents):
    data = http.get("/api/health").json()
    assert data["status"] == "ok" and data["embedder"] == settings.embedder and data["workers"] == 1
    assert data["build_id"] == (settings.index_dir / "CURRENT").read_text().strip()
    assert data["documents"] == {d.info.doc_id: d.info.sha256 for d in documents}


def test_unknown_api_paths_are_json_404(http):
    assert_japanese_error(http.get("/api/nothing-here"), 404, "not_found")


# --- access control ----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/answer"), ("GET", "/api/health"), ("GET", "/api/measures/1-57"),
    ("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("POST", "/mcp/"),
])
@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x"])
def test_api_v1_and_mcp_need_the_token(server, method, path, auth):
    headers = {"authorization": auth} if auth else {}
    r = httpx.request(method, server.url + path, headers=headers, json={"question": Q_LEAD}, timeout=30)
    assert r.status_code == 401 and r.headers.get("www-authenticate") == "Bearer"
    assert JAPANESE.search(r.text)


def test_docs_are_public(server):
    assert httpx.get(server.url + "/docs", timeout=30).status_code == 200
    paths = httpx.get(server.url + "/openapi.json", timeout=30).json()["paths"]
    assert {"/api/answer", "/api/answer/stream", "/api/measures", "/api/measures/{no}", "/api/health",
            "/v1/chat/completions", "/v1/models"} <= set(paths)


# --- OpenAI-compatible ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oai(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=TOKEN, max_retries=0, timeout=120)


def test_openai_client_chat_completion(oai):
    reply = oai.chat.completions.create(model="jplan-assistant", messages=[
        {"role": "system", "content": "You are helpful."}, {"role": "user", "content": Q_LEAD}])
    content = reply.choices[0].message.content
    assert "[No. 1-57]" in content and "警察庁" in content
    assert reply.choices[0].finish_reason == "stop" and reply.model == "jplan-assistant"
    citations = reply.model_extra["citations"]
    assert any(c["measure_no"] == "1-57" and c["lead_ministries"] == ["警察庁"] for c in citations)


def test_openai_client_streams(oai):
    chunks = list(oai.chat.completions.create(model="jplan-assistant", stream=True,
                                              messages=[{"role": "user", "content": Q_LEAD}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "[No. 1-57]" in text and len(chunks) >= 3
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert any(c["measure_no"] == "1-57" for c in chunks[-1].model_extra["citations"])


def test_openai_client_history_and_content_parts(oai):
    reply = oai.chat.completions.create(model="anything", messages=[
        {"role": "user", "content": Q_LEAD},
        {"role": "assistant", "content": "No. 1-57「運転免許証との一体化」の主担当府省庁は警察庁です [No. 1-57]。"},
        {"role": "user", "content": [{"type": "text", "text": "その施策の目標は？"}]}])
    assert "1-57" in [c["measure_no"] for c in reply.model_extra["citations"]]


def test_openai_models(oai):
    assert [m.id for m in oai.models.list()] == ["jplan-assistant"]


def test_openai_errors_are_openai_shaped_and_japanese(oai, server):
    with pytest.raises(openai.UnprocessableEntityError) as info:
        oai.chat.completions.create(model="jplan-assistant", messages=[{"role": "user", "content": " "}])
    assert info.value.body["code"] == "invalid_question" and JAPANESE.search(info.value.body["message"])
    with pytest.raises(openai.UnprocessableEntityError):
        oai.chat.completions.create(model="jplan-assistant", messages=[{"role": "assistant", "content": "x"}])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0).models.list()


# --- MCP --------------------------------------------------------------------------------------------


async def test_mcp_client_lists_tools_and_calls_answer(server):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx.AsyncClient(headers=server.headers, timeout=120) as http_client,
        streamable_http_client(server.url + "/mcp/", http_client=http_client) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"answer", "get_measure", "search_measures"}
        for tool in tools.values():  # described in Japanese and in English
            assert JAPANESE.search(tool.description) and re.search(r"[A-Za-z]{4,} [a-z]{3,}", tool.description)
        result = await session.call_tool("answer", {"question": Q_LEAD})
        assert not result.isError
        data = result.structuredContent
        assert "[No. 1-57]" in data["text"] and "1-57" in measure_nos(data)
        card = await session.call_tool("get_measure", {"measure_no": "1-57"})
        assert card.structuredContent["lead_ministries"] == ["警察庁"]
        missing = await session.call_tool("get_measure", {"measure_no": "9-99"})
        assert missing.isError and "近い番号" in missing.content[0].text
        found = await session.call_tool("search_measures", {"query": "運転免許証"})
        assert "1-57" in [m["measure_no"] for m in found.structuredContent["measures"]]
        empty = await session.call_tool("answer", {"question": ""})
        assert empty.isError and JAPANESE.search(empty.content[0].text)


# --- the page ---------------------------------------------------------------------------------------


def test_gradio_client_uses_the_page_with_login(server):
    from gradio_client import Client

    client = Client(server.url + "/", auth=LOGIN, verbose=False)
    _box, chat, sources = client.predict(Q_LEAD, [], "", "", "", api_name="/chat")
    reply = chat[-1]["content"]
    text = reply if isinstance(reply, str) else "".join(p.get("text", "") for p in reply)
    assert "警察庁" in text and "1-57" in sources
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a plain ValueError/HTTP error
        Client(server.url + "/", verbose=False)
    with pytest.raises(Exception):  # noqa: B017
        Client(server.url + "/", auth=("staff", "wrong"), verbose=False)
