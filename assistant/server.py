"""One HTTP server for every network surface: ``python -m assistant serve [--workers N]``.

    /api/answer, /api/answer/stream (SSE)   Answer.to_dict() as JSON
    /api/measures, /api/measures/{no}        the catalog: search and measure cards
    /api/health                              the loaded index (build id, embedder, documents)
    /v1/chat/completions, /v1/models         the OpenAI chat-completions protocol
    /mcp/                                    MCP (streamable HTTP): answer, get_measure, search_measures
    /docs                                    OpenAPI documentation
    /                                        the staff chat page (Gradio)

Errors are JSON with a Japanese ``message`` (OpenAI's ``{"error": {...}}`` shape under /v1).
``ASSISTANT_API_TOKEN`` guards /api, /v1 and /mcp with a bearer token and
``ASSISTANT_UI_AUTH`` the page; both may be left unset only on a loopback address.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.config import Settings

log = logging.getLogger(__name__)

MODEL_ID = "jplan-assistant"
MAX_BODY_BYTES = 64 * 1024
GUARDED_PREFIXES = ("/api", "/v1", "/mcp")
BUILD_CMD = "python -m assistant index"
# A missing index is looked for again at most this often, so a terminal build is picked up
# without a restart but a flood of requests does not reload the corpus each time.
RELOAD_INTERVAL_S = 5.0


class ServeRefused(Exception):
    """The server will not start with these settings (``str(exc)`` is Japanese)."""


# --- request bodies ----------------------------------------------------------------------------


class Filters(BaseModel):
    """Restrict retrieval; every key is optional and may be a list."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str | list[str] | None = Field(None, description="文書ID / document id (plan2025, plan2024-summary, …)")
    edition: int | list[int] | None = Field(None, description="版（年） / edition year")
    chapter: int | list[int] | None = Field(None, description="重点政策の分野 1–5 / policy area 1–5")
    ministry: str | list[str] | None = Field(None, description="主担当府省庁 / lead ministry (例: デジタル庁)")
    measure_no: str | list[str] | None = Field(None, description="施策番号 / measure number (1-57)")
    kind: str | list[str] | None = Field(None, description="measure | roadmap | procedure | section")


class Message(BaseModel):
    """One conversation turn (OpenAI/Gradio format; content may be a list of text parts)."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class AnswerRequest(BaseModel):
    """POST /api/answer and /api/answer/stream."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"question": "No. 1-57 の主担当府省庁は？"},
                     {"question": "その施策の目標は？", "history": [
                         {"role": "user", "content": "No. 1-57 の主担当は？"},
                         {"role": "assistant", "content": "No. 1-57「運転免許証との一体化」の主担当府省庁は警察庁です [No. 1-57]。"}]},
                     {"question": "AIの活用", "filters": {"chapter": 1, "ministry": "デジタル庁"}}]})

    question: str = Field(description="質問（日本語） / the question")
    history: list[Message] | None = Field(None, description="それまでの会話 / earlier turns, oldest first")
    filters: Filters | None = None


class ChatRequest(BaseModel):
    """POST /v1/chat/completions (OpenAI format). Unknown OpenAI parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[Message]
    stream: bool = False
    filters: Filters | None = Field(None, description="拡張: 絞り込み条件 / extension: retrieval filters")


# --- errors ----------------------------------------------------------------------------------


class ApiError(Exception):
    """An error with an HTTP status, a code and a Japanese message."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _api_error(exc: BaseException) -> ApiError:
    """Map the assistant's exceptions (which carry Japanese messages) onto HTTP errors."""
    from assistant.corpus import CorpusError
    from assistant.index import IndexUnavailable
    from assistant.questions import InvalidQuestion
    from assistant.retrieval import InvalidFilter
    from assistant.workers import WorkersUnavailable

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidQuestion):
        return ApiError(422, "invalid_question", str(exc), reason=getattr(exc, "reason", None),
                        limit=getattr(exc, "limit", None))
    if isinstance(exc, InvalidFilter):
        return ApiError(422, "invalid_filter", f"絞り込み条件を確認してください: {exc}")
    if isinstance(exc, IndexUnavailable):
        return ApiError(503, "index_unavailable", str(exc), command=BUILD_CMD)
    if isinstance(exc, CorpusError):
        return ApiError(503, "corpus_unavailable", f"文書を読み込めません: {exc}")
    if isinstance(exc, WorkersUnavailable):
        return ApiError(503, "workers_unavailable", str(exc))
    log.error("unexpected error", exc_info=exc)
    return ApiError(500, "internal_error", "回答の作成中にエラーが発生しました。時間をおいてもう一度お試しください。")


def _error_body(path: str, err: ApiError) -> dict[str, Any]:
    if path.startswith("/v1"):  # OpenAI clients read {"error": {"message", "type", "code"}}
        kind = "invalid_request_error" if err.status < 500 else "server_error"
        return {"error": {"message": err.message, "type": kind, "code": err.code, "param": None, **err.extra}}
    return {"error": err.code, "message": err.message, **err.extra}


def _error_response(path: str, err: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(_error_body(path, err), status_code=err.status, headers=headers)


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


# --- ASGI guards -------------------------------------------------------------------------------


def _guarded(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith(GUARDED_PREFIXES)


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413 before the app parses them.

    The body is read up front (up to the limit) and replayed, so chunked uploads without a
    Content-Length are limited as well.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _guarded(scope) or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_large = ApiError(413, "request_too_large",
                             f"リクエストが大きすぎます（上限 {self.limit // 1024} KiB）。質問と会話履歴を短くしてください。")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.limit:
            await _send_json(send, 413, _error_body(scope["path"], too_large), {"connection": "close"})
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _send_json(send, 413, _error_body(scope["path"], too_large), {"connection": "close"})
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # later calls wait for the disconnect, as the server's would

        await self.app(scope, replay, send)


class BearerToken:
    """Require ``Authorization: Bearer <token>`` on /api, /v1 and /mcp when a token is set."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token and _guarded(scope) and scope["method"] != "OPTIONS":
            header = dict(scope["headers"]).get(b"authorization", b"")
            scheme, _, given = header.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self.token):
                err = ApiError(401, "unauthorized", "API トークンが正しくありません。"
                               "Authorization: Bearer <ASSISTANT_API_TOKEN> を付けてください。")
                await _send_json(send, 401, _error_body(scope["path"], err), {"www-authenticate": "Bearer"})
                return
        await self.app(scope, receive, send)


# --- the loaded assistant ------------------------------------------------------------------------


class ServerState:
    """The corpus, catalog and answering backend of one server, or why they are unavailable.

    With ``workers == 1`` answers come from an in-process Assistant (LLM answers stream live);
    with more, from a :class:`~assistant.workers.WorkerAssistant`.
    """

    def __init__(self, settings: Settings, workers: int = 1) -> None:
        self.settings = settings
        self.workers = workers
        self.documents: list[Any] = []
        self.catalog: Any = None
        self.assistant: Any = None
        self.manifest: dict[str, Any] = {}
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._last_try = 0.0
        self.load()

    def load(self) -> bool:
        """(Re)load documents, catalog and the assistant; on failure keep the error."""
        from assistant.pipeline import load_catalog

        self._last_try = time.monotonic()
        try:
            if self.catalog is None:
                self.documents, self.catalog = load_catalog(self.settings)
            if self.workers > 1:
                from assistant.index import check_fresh
                from assistant.workers import WorkerAssistant

                # Milliseconds: a missing or stale index is reported without spawning N processes.
                check_fresh(self.settings, {d.info.doc_id: d.info.sha256 for d in self.documents})

                backend = WorkerAssistant(self.settings, self.workers, documents=self.documents, catalog=self.catalog)
                self.manifest = backend.manifest
            else:
                from assistant.api import Assistant

                backend = Assistant(self.settings, documents=self.documents)
                self.manifest = dict(backend.index.manifest)
            self.assistant, self.error = backend, None
            return True
        except Exception as exc:
            log.warning("assistant unavailable: %s", exc)
            self.error = exc
            return False

    def require(self) -> Any:
        """The answering backend; raises the load error (mapped to 503) when there is none."""
        if self.assistant is None:
            with self._lock:
                if self.assistant is None and time.monotonic() - self._last_try >= RELOAD_INTERVAL_S:
                    self.load()
        if self.assistant is None:
            raise self.error or RuntimeError("assistant not loaded")
        return self.assistant

    def require_catalog(self) -> Any:
        """The catalog (available without an index); raises the corpus error when missing."""
        if self.catalog is None:
            self.require()
        return self.catalog

    def close(self) -> None:
        """Stop worker processes, release the index."""
        backend, self.assistant = self.assistant, None
        if backend is None:
            return
        with contextlib.suppress(Exception):
            if hasattr(backend, "close"):
                backend.close()
            elif getattr(backend, "index", None) is not None:
                backend.index.close()


# --- shared operations (HTTP and MCP) -----------------------------------------------------------


def _filters(filters: Filters | dict[str, Any] | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    data = filters.model_dump(exclude_none=True) if isinstance(filters, BaseModel) else dict(filters)
    return data or None


def _history(messages: list[Message] | list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if not messages:
        return None
    return [m.model_dump(exclude_none=True) if isinstance(m, BaseModel) else dict(m) for m in messages]


def measure_summary(m: Any) -> dict[str, Any]:
    """One row of a measure search: number, title, area and lead ministries."""
    return {"measure_no": m.measure_no, "title": m.title, "chapter": m.chapter, "chapter_title": m.chapter_title,
            "lead_ministries": list(m.lead_ministries)}


def get_measure(state: ServerState, number: str) -> dict[str, Any]:
    """The card of one measure; ``ApiError(404)`` naming the nearest numbers when unknown."""
    from assistant.catalog import parse_measure_no

    catalog = state.require_catalog()
    no = parse_measure_no(number)
    m = catalog.get(number) if no else None
    if m is None:
        near = catalog.nearest(no or number)
        shown = f"No. {no}" if no else repr(number)
        raise ApiError(404, "unknown_measure", f"{shown} という施策はありません。近い番号: "
                       + "、".join(f"No. {n}" for n in near), nearest=near)
    return m.to_dict()


def search_measures(state: ServerState, query: str = "", chapter: int | None = None,
                    ministry: str | None = None, limit: int = 50) -> dict[str, Any]:
    """Measures matching a free-text query, an area and a lead ministry (plan order)."""
    found = state.require_catalog().search(query, chapter=chapter, ministry=ministry or None)
    return {"count": len(found), "measures": [measure_summary(m) for m in found[:limit]]}


def _split_chat(messages: list[Message]) -> tuple[str, list[dict[str, Any]]]:
    """OpenAI messages → (the last user message, the turns before it); system turns dropped."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ApiError(422, "invalid_question", "messages の最後には利用者の質問（role: user）を入れてください。")
    last = turns[-1].content
    question = last if isinstance(last, str) else "".join(
        p.get("text", "") for p in last or [] if isinstance(p, dict) and p.get("type", "text") == "text")
    return question, [m.model_dump(exclude_none=True) for m in turns[:-1]]


def _chat_content(answer: Any) -> str:
    """The reply text with its inline [No. X-Y] citations, plus notices on their own lines."""
    return answer.text + "".join(f"\n※ {n}" for n in answer.notices)


def _citations(answer: Any) -> list[dict[str, Any]]:
    return answer.to_dict()["citations"]


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


# --- the app -------------------------------------------------------------------------------------


def _mcp_server(state: ServerState, host: str) -> Any:
    """The MCP tools over the same state (FastMCP, streamable HTTP, no sessions kept)."""
    from anyio import to_thread
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP(
        "jplan-assistant", stateless_http=True, streamable_http_path="/", host=host,
        instructions=("「デジタル社会の実現に向けた重点計画」について、施策番号付きの出典で回答します。"
                      " Answers questions about Japan's Digital Society Priority Plan, citing measure numbers [No. X-Y]."),
    )

    def fail(exc: BaseException) -> ValueError:  # MCP reports a raised error's text to the caller
        return ValueError(_api_error(exc).message)

    @mcp.tool(name="answer", description=(
        "重点計画について日本語の質問に回答します。回答文には [No. X-Y] 形式の出典が付き、citations に施策番号・文書・節・引用・主担当府省庁が入ります。"
        " Answer a (Japanese) question about Japan's Digital Society Priority Plan; the text cites"
        " [No. X-Y] and `citations` lists measure number, document, section, quote and lead ministries."
        " history: earlier turns [{role, content}]; filters: {doc_id, edition, chapter, ministry, measure_no, kind}."))
    async def answer_tool(question: str, history: list[dict[str, Any]] | None = None,
                          filters: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            backend = state.require()
            result = await to_thread.run_sync(lambda: backend.answer(question, history=history, filters=filters))
        except Exception as exc:
            raise fail(exc) from exc
        return result.to_dict()

    @mcp.tool(name="get_measure", description=(
        "施策番号（例: 1-57、No. 1-57）の施策カード（施策名・取組・具体的な目標・主担当/関係府省庁・工程表）を返します。"
        " Return the card of one measure by number (e.g. 1-57): title, actions, targets, lead and related"
        " ministries, roadmap rows. Unknown numbers fail with the nearest existing ones."))
    def get_measure_tool(measure_no: str) -> dict[str, Any]:
        try:
            return get_measure(state, measure_no)
        except Exception as exc:
            raise fail(exc) from exc

    @mcp.tool(name="search_measures", description=(
        "キーワード・分野（1〜5）・主担当府省庁で施策を検索します（すべての語を含むもの、計画の順）。"
        " Search the plan's 326 measures by keywords (all must match), policy area (1-5) and lead ministry."))
    def search_measures_tool(query: str = "", chapter: int | None = None, ministry: str | None = None,
                             limit: int = 20) -> dict[str, Any]:
        try:
            return search_measures(state, query, chapter, ministry, max(1, min(limit, 326)))
        except Exception as exc:
            raise fail(exc) from exc

    return mcp


def create_app(settings: Settings, *, workers: int = 1, state: ServerState | None = None,
               page: bool = True) -> FastAPI:
    """The ASGI app. ``state`` may be passed in (already loaded); ``page=False`` leaves out the
    Gradio page (it is mounted last, at ``/``, so every other route wins over it)."""
    state = state or ServerState(settings, workers)
    mcp = _mcp_server(state, settings.ui_host)
    mcp_app = mcp.streamable_http_app()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():  # without it MCP requests hang
            try:
                yield
            finally:
                state.close()

    app = FastAPI(
        title="重点計画アシスタント API (jplan-assistant)",
        description=("「デジタル社会の実現に向けた重点計画」への質問に、施策番号・文書・節・引用付きで回答します。"
                     " Cited answers about Japan's Digital Society Priority Plan. Errors are JSON with a Japanese"
                     " `message`. With ASSISTANT_API_TOKEN set, send `Authorization: Bearer <token>`."),
        version="0.1.0", lifespan=lifespan, redoc_url=None,
    )
    app.state.assistant_state = state

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(request.url.path, exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()[:5])
        err = ApiError(422, "invalid_request", f"リクエストの形式が正しくありません（{problems}）。/docs を参照してください。",
                       detail=json.loads(json.dumps(exc.errors(), default=str))[:5])
        return _error_response(request.url.path, err)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "このURLはありません。/docs を参照してください。", 405: "このURLではそのメソッドは使えません。"}
        err = ApiError(exc.status_code, "http_error", messages.get(exc.status_code, str(exc.detail)))
        return _error_response(request.url.path, err)

    async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await run_in_threadpool(fn, *args, **kwargs)
        except Exception as exc:
            raise _api_error(exc) from exc

    async def answer(backend: Any, question: str, history: Any, filters: Any) -> Any:
        native = getattr(backend, "answer_async", None)  # worker processes: no thread to block
        if native is None:
            return await call(backend.answer, question, history=history, filters=filters)
        try:
            return await native(question, history=history, filters=filters)
        except Exception as exc:
            raise _api_error(exc) from exc

    # -- /api ---------------------------------------------------------------------------------

    @app.post("/api/answer", tags=["api"], summary="質問に回答 / answer a question")
    async def api_answer(body: AnswerRequest) -> JSONResponse:
        """`Answer.to_dict()`: text with [No. X-Y] citations, structured citations, abstained, mode, timings."""
        backend = await call(state.require)
        result = await answer(backend, body.question, _history(body.history), _filters(body.filters))
        return JSONResponse(result.to_dict())

    @app.post("/api/answer/stream", tags=["api"], summary="回答をストリーミング / stream an answer (SSE)",
              response_class=StreamingResponse)
    async def api_answer_stream(body: AnswerRequest) -> StreamingResponse:
        """Server-sent events: `piece` events ({"text"}) as the answer grows, then one `answer`
        event with `Answer.to_dict()` (or one `error` event)."""
        backend = await call(state.require)
        pieces = backend.stream(body.question, history=_history(body.history), filters=_filters(body.filters))
        first = await call(next, pieces, None)  # input and index errors become HTTP errors here

        async def events() -> AsyncIterator[str]:
            item = first
            rest = iterate_in_threadpool(pieces)
            while item is not None:
                yield _sse("piece", {"text": item}) if isinstance(item, str) else _sse("answer", item.to_dict())
                try:
                    item = await rest.__anext__()
                except StopAsyncIteration:
                    item = None
                except Exception as exc:
                    yield _sse("error", _error_body("/api", _api_error(exc)))
                    return

        return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-cache"})

    @app.get("/api/measures", tags=["api"], summary="施策を検索 / search measures")
    async def api_measures(
        q: Annotated[str, Query(max_length=200, description="キーワード（すべて含む）/ keywords")] = "",
        chapter: Annotated[int | None, Query(ge=1, le=5, description="分野 1–5")] = None,
        ministry: Annotated[str | None, Query(max_length=50, description="主担当府省庁")] = None,
        limit: Annotated[int, Query(ge=1, le=326)] = 50,
    ) -> JSONResponse:
        """`{count, measures: [{measure_no, title, chapter, chapter_title, lead_ministries}]}`."""
        return JSONResponse(await call(search_measures, state, q, chapter, ministry, limit))

    @app.get("/api/measures/{no}", tags=["api"], summary="施策カード / a measure card")
    async def api_measure(no: Annotated[str, Path(max_length=40, description="施策番号（1-57）")]) -> JSONResponse:
        """The measure card; 404 with `nearest` numbers when it does not exist."""
        return JSONResponse(await call(get_measure, state, no))

    @app.get("/api/health", tags=["api"], summary="状態 / health")
    async def api_health() -> JSONResponse:
        """The loaded index (build id, embedder, chunks) and document hashes; 503 when unavailable."""
        try:
            await call(state.require)
        except ApiError as err:
            return JSONResponse({**_error_body("/api", err), "status": "unavailable"}, status_code=err.status)
        m = state.manifest
        return JSONResponse({
            "status": "ok", "build_id": m.get("build_id"), "embedder": m.get("embedder_spec"),
            "embedder_id": m.get("embedder_id"), "n_chunks": m.get("n_chunks"), "built_at": m.get("built_at"),
            "chroma": "server" if m.get("chroma", {}).get("url") else "embedded", "workers": state.workers,
            "llm": state.settings.llm or None,
            "documents": {d.info.doc_id: d.info.sha256 for d in state.documents},
        })

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def api_unknown(rest: str) -> JSONResponse:  # else the page's catch-all mount answers with HTML
        raise ApiError(404, "not_found", "このURLはありません。/docs を参照してください。")

    # -- /v1 (OpenAI) ---------------------------------------------------------------------------

    @app.get("/v1/models", tags=["openai"], summary="モデル一覧 / list models")
    async def v1_models() -> JSONResponse:
        return JSONResponse({"object": "list", "data": [
            {"id": MODEL_ID, "object": "model", "created": 1749772800, "owned_by": "jplan-assistant"}]})

    @app.post("/v1/chat/completions", tags=["openai"], summary="OpenAI 互換チャット / OpenAI chat completions")
    async def v1_chat(body: ChatRequest) -> Any:
        """The last user message is the question, earlier user/assistant messages the history.
        The reply's content cites [No. X-Y]; `citations` carries the structured citations."""
        question, history = _split_chat(body.messages)
        backend = await call(state.require)
        cid, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
        if not body.stream:
            result = await answer(backend, question, history, _filters(body.filters))
            return JSONResponse({
                "id": cid, "object": "chat.completion", "created": created, "model": MODEL_ID,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": _chat_content(result)},
                             "finish_reason": "stop", "logprobs": None}],
                "citations": _citations(result),
            })
        pieces = backend.stream(question, history=history, filters=_filters(body.filters))
        first = await call(next, pieces, None)

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        async def events() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            item, rest = first, iterate_in_threadpool(pieces)
            while item is not None:
                if isinstance(item, str):
                    yield chunk({"content": item})
                else:  # the final Answer: its notices, then the structured citations
                    notices = "".join(f"\n※ {n}" for n in item.notices)
                    if notices:
                        yield chunk({"content": notices})
                    yield chunk({}, "stop", citations=_citations(item))
                try:
                    item = await rest.__anext__()
                except StopAsyncIteration:
                    item = None
                except Exception as exc:
                    yield f"data: {json.dumps(_error_body('/v1', _api_error(exc)), ensure_ascii=False)}\n\n"
                    break
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-cache"})

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def v1_unknown(rest: str) -> JSONResponse:
        raise ApiError(404, "not_found", "このURLはありません。/v1/chat/completions と /v1/models が使えます。")

    # -- /mcp, the page -------------------------------------------------------------------------

    @app.api_route("/mcp", methods=["GET", "POST", "DELETE"], include_in_schema=False)
    async def mcp_slash() -> RedirectResponse:  # the mount below only matches /mcp/…
        return RedirectResponse("/mcp/", status_code=307)

    app.mount("/mcp", mcp_app)
    app.add_middleware(BearerToken, token=settings.api_token)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)  # added last = runs first

    if page:
        import gradio as gr

        from assistant.ui import LOGIN_MESSAGE, login_pair
        from assistant.ui import create_app as create_page

        auth = login_pair(settings)
        demo = create_page(settings, state.assistant)  # None: the page shows its missing-index state
        app = gr.mount_gradio_app(app, demo, path="/", auth=auth, auth_message=LOGIN_MESSAGE if auth else None,
                                  show_error=False, footer_links=["api", "settings"])
    return app


# --- running it ----------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_access(settings: Settings) -> None:
    """Raise :class:`ServeRefused` unless both guards are set or the address is loopback."""
    from assistant.ui import login_pair

    try:
        login_pair(settings)
    except ValueError as exc:
        raise ServeRefused(str(exc)) from exc
    if is_loopback(settings.ui_host):
        return
    missing = [name for name, value in (("ASSISTANT_API_TOKEN", settings.api_token),
                                        ("ASSISTANT_UI_AUTH", settings.ui_auth)) if not value]
    if missing:
        raise ServeRefused(f"{settings.ui_host} で待ち受けるには {' と '.join(missing)} を設定してください"
                           "（認証なしで公開できるのは 127.0.0.1 などのループバックアドレスだけです）。")


def serve(settings: Settings, *, workers: int = 1) -> None:
    """Load, then serve until Ctrl+C (``python -m assistant serve``)."""
    import uvicorn

    if workers < 1:
        raise ServeRefused("--workers には 1 以上を指定してください。")
    check_access(settings)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(settings, workers=workers)
    state: ServerState = app.state.assistant_state
    url = f"http://{settings.ui_host}:{settings.ui_port}"

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:  # the socket is bound: the URL works from now on
                extra = "" if state.assistant else f"（インデックスがありません: 画面から作成するか `{BUILD_CMD}` を実行してください）"
                print(f"重点計画アシスタントを起動しました: {url}/ （API: {url}/docs、OpenAI 互換: {url}/v1、"
                      f"MCP: {url}/mcp/、ワーカー {workers}）{extra}", flush=True)

    config = uvicorn.Config(app, host=settings.ui_host, port=settings.ui_port, access_log=False,
                            log_level="warning", timeout_graceful_shutdown=5)
    Server(config).run()


__all__ = ["ApiError", "ServeRefused", "ServerState", "check_access", "create_app", "is_loopback", "serve"]

