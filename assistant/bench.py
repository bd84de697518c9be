"""Speed and memory benchmark: ``python -m assistant bench [--json] [--queries N]``.

Prints a table (and JSON) of: index build time split into embedding vs everything else on a
sample, the embedding floor (the embedder alone on the same texts), the no-change reindex time,
cold start to first answer in a fresh process, warm latency p50/p95 of BM25, dense, hybrid
retrieval and of the extractive answer, and the peak RSS of a query process.

The timings that tests used to assert (and that flaked on a shared machine) are reported here
instead: tokenizing the whole plan and a query, loading the corpus and locating sentences,
the freshness check at load, odd and maximum-length questions, and many threads on one
Assistant. Tests keep only the time-outs that bound a hang.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_ROOT, Settings

ITEMS = PROJECT_ROOT / "evals" / "items.jsonl"
BUILD_SAMPLE = 60


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 2), "p95": round(p95, 2), "n": len(ordered)}


def _questions(n: int) -> list[str]:
    qs = [json.loads(line)["question"] for line in ITEMS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return (qs * (n // max(1, len(qs)) + 1))[:n]


def _timed(fn, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - t0) * 1000


def bench_build(settings: Settings) -> dict[str, Any]:
    """Build a fresh index of a sample of real chunks and compare with the embedder alone."""
    from assistant.embeddings import make_embeddings
    from assistant.index import build_index
    from assistant.pipeline import chunk_documents, load_catalog
    from assistant.tokenizer import JapaneseTokenizer

    docs, catalog = load_catalog(settings)
    chunks = chunk_documents(settings, docs, catalog)
    sample = chunks[:: max(1, len(chunks) // BUILD_SAMPLE)][:BUILD_SAMPLE]
    texts = [c.embed_text for c in sample]
    floor_emb = make_embeddings(settings.embedder)  # no cache: the true cost of embedding
    floor_emb.embed_query("warm-up")
    t0 = time.perf_counter()
    floor_emb.embed_documents(texts)
    floor_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        s = settings.replace(index_dir=Path(tmp), chroma_url="")
        emb = make_embeddings(settings.embedder, Path(tmp) / "cache")
        t0 = time.perf_counter()
        report = build_index(s, sample, {"sample": "x"}, emb, JapaneseTokenizer(), progress=False)
        build_s = time.perf_counter() - t0
    vocabulary_s = getattr(report, "vocabulary_embed_s", 0.0)
    code_s = build_s - getattr(report, "embed_s", 0.0) - vocabulary_s
    return {
        "vocabulary_embed_s": round(vocabulary_s, 2),
        # the build's own code (tokenizing, BM25, Chroma writes, files) against the chunk embedding
        "code_overhead_pct": round(100 * code_s / floor_s, 1) if floor_s else None,
        "sample_chunks": len(sample),
        "all_chunks": len(chunks),
        "embedding_floor_s": round(floor_s, 2),
        "build_s": round(build_s, 2),
        "build_embed_s": round(getattr(report, "embed_s", 0.0), 2),
        "build_other_s": round(build_s - getattr(report, "embed_s", 0.0), 2),
        "overhead_vs_floor_pct": round(100 * (build_s - floor_s) / floor_s, 1) if floor_s else None,
    }


def bench_noop_reindex(settings: Settings) -> float:
    """Seconds for `python -m assistant index` when nothing changed (a fresh process, as users run it)."""
    from assistant.http_bench import settings_env

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "assistant", "index", "--quiet"], check=True, capture_output=True,
                   env={**os.environ, **settings_env(settings)})
    return round(time.perf_counter() - t0, 2)


_COLD = """
import resource, sys, time, json
t0 = time.perf_counter()
from assistant.api import Assistant
a = Assistant()
t1 = time.perf_counter()
ans = a.answer("マイナンバーカードと運転免許証の一体化の主担当は？")
t2 = time.perf_counter()
for q in json.loads(sys.argv[1]):
    a.answer(q)
print(json.dumps({"load_s": t1 - t0, "first_answer_s": t2 - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_cold_start(settings: Settings, questions: list[str]) -> dict[str, float]:
    """A fresh process: import + load to first answer, and its peak RSS after more queries."""
    from assistant.http_bench import settings_env

    r = subprocess.run(
        [sys.executable, "-c", _COLD, json.dumps(questions)], check=True, capture_output=True, text=True,
        env={**os.environ, **settings_env(settings)},
    )
    data = json.loads(r.stdout.strip().splitlines()[-1])
    return {k: round(v, 2) for k, v in data.items()}


def bench_queries(settings: Settings, questions: list[str]) -> dict[str, Any]:
    """Warm latencies in this process."""
    from assistant.api import Assistant

    a = Assistant(settings)
    r = a.retriever
    out: dict[str, Any] = {}
    # Query vectors are cached per text. A first pass of answers embeds every text an answer
    # embeds (the resolved retrieval query, not the question as typed), so the "cached" answer
    # figures below time everything but the embedder; the first pass itself is the uncached figure.
    out["answer_uncached_ms"] = _percentiles([_timed(a.answer, q) for q in questions])
    out["query_embedding_ms"] = _percentiles([_timed(a.embeddings.embed_query, f"{q} {i}") for i, q in enumerate(questions)])
    out["bm25_ms"] = _percentiles([_timed(r.bm25, q, 50) for q in questions])
    out["dense_ms"] = _percentiles([_timed(r.dense, q, 50) for q in questions])  # includes embedding
    out["dense_cached_ms"] = _percentiles([_timed(r.dense, q, 50) for q in questions])
    out["hybrid_cached_ms"] = _percentiles([_timed(r.retrieve, q, k=10) for q in questions])
    out["answer_cached_ms"] = _percentiles([_timed(a.answer, q) for q in questions])
    out["n_chunks"] = len(a.index.chunks)
    return out


def _best_of(n: int, fn, *args) -> float:
    """Fastest of ``n`` runs in ms: the figure least disturbed by other jobs on the machine."""
    return round(min(_timed(fn, *args) for _ in range(n)), 2)


# Hostile or odd inputs (tests/reliability/test_inputs.py has the full list and their checks).
ODD_QUESTIONS = [
    "マイナンバー\x00カード\x07の\x1b[31m普及\x7fは？", '<script>alert("x")</script> 主担当は？', "😀🎌🗾✨🙏",
    "'; DROP TABLE measures; --", "Which ministry is responsible for measure No. 1-57?",
    "Ｎｏ．１－５７ の主担当ﾌﾞｼｮは？", "No. 9-99 の主担当は？", "{0.__class__} %s %n {settings} ${HOME}",
]


def bench_stages(settings: Settings) -> dict[str, Any]:
    """Stage costs outside a question: tokenizer, corpus loading and locating, index freshness."""
    import re

    from assistant.corpus import get_document, load_corpus
    from assistant.index import check_fresh
    from assistant.tokenizer import JapaneseTokenizer

    tok = JapaneseTokenizer()
    plan = next(settings.corpus_dir.glob("plan-2025-full.md"), None)
    out: dict[str, Any] = {}
    if plan is not None:
        text = plan.read_text(encoding="utf-8")
        out["tokenize_plan_s"] = round(_best_of(2, tok.tokenize, text) / 1000, 2)
    tok.tokenize("マイナ保険証はいつから使えますか？")
    out["tokenize_query_ms"] = _percentiles([_timed(tok.tokenize, "マイナ保険証はいつから使えますか？") for _ in range(200)])
    out["load_corpus_s"] = round(_best_of(3, load_corpus, settings.corpus_dir) / 1000, 2)
    docs = load_corpus(settings.corpus_dir)
    doc = get_document(docs, "plan2025")
    sentences = [x for sec in doc.sections for x in re.split(r"(?<=。)", sec.text) if len(x) > 10][:2000]
    t0 = time.perf_counter()
    found = sum(doc.locate(x) is not None for x in sentences)
    out["locate_sentences"] = {"n": len(sentences), "found": found, "s": round(time.perf_counter() - t0, 2)}
    out["freshness_check_ms"] = _best_of(20, check_fresh, settings)
    return out


def bench_robustness(settings: Settings, questions: list[str], threads: int = 8) -> dict[str, Any]:
    """Odd inputs and a question at the character limit (warm), and ``threads`` threads answering
    different questions on one Assistant (wall time for all, and how many failed)."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant.api import Assistant

    a = Assistant(settings)
    a.answer("No. 1-57 の主担当は？")  # warm
    longest = ("デジタル庁の施策について教えて" * settings.max_question_chars)[: settings.max_question_chars]
    out: dict[str, Any] = {
        "odd_question_ms": _percentiles([_timed(a.answer, q) for q in ODD_QUESTIONS]),
        "longest_question_ms": _best_of(3, a.answer, longest),
    }
    per_thread = max(1, len(questions) // threads)

    def work(k: int) -> int:
        for q in questions[k * per_thread : (k + 1) * per_thread]:
            a.answer(q)
        return per_thread

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(work, k) for k in range(threads)]
        errors = sum(1 for f in futures if f.exception() is not None)
    out["threads"] = {"threads": threads, "questions": threads * per_thread, "errors": errors,
                      "wall_s": round(time.perf_counter() - t0, 2)}
    a.index.close()
    return out


def run(settings: Settings, n_queries: int) -> dict[str, Any]:
    qs = _questions(n_queries)
    results: dict[str, Any] = {"embedder": settings.embedder, "max_question_chars": settings.max_question_chars}
    results["noop_reindex_s"] = bench_noop_reindex(settings)
    results["queries"] = bench_queries(settings, qs)
    results["cold_start"] = bench_cold_start(settings, qs[:50])
    results["build"] = bench_build(settings)
    results["stages"] = bench_stages(settings)
    results["robustness"] = bench_robustness(settings, qs[:80])
    return results


def settings_chars(r: dict[str, Any]) -> str:
    return f"{r.get('max_question_chars', Settings().max_question_chars):,}"


def print_table(r: dict[str, Any]) -> None:
    q = r["queries"]
    def pp(name: str) -> str:
        return f"{q[name]['p50']} / {q[name]['p95']}"

    rows = [
        ("query embedding, new text p50 / p95 (ms)", pp("query_embedding_ms"), ""),
        ("BM25 alone p50 / p95 (ms)", pp("bm25_ms"), ""),
        ("dense alone, with embedding p50 / p95 (ms)", pp("dense_ms"), ""),
        ("dense alone, vector cached p50 / p95 (ms)", pp("dense_cached_ms"), ""),
        ("hybrid retrieval, vector cached p50 / p95 (ms)", pp("hybrid_cached_ms"), "≤ 20 / ≤ 60 + embedding"),
        ("extractive answer, first time p50 / p95 (ms)", pp("answer_uncached_ms"), ""),
        ("extractive answer, vector cached p50 / p95 (ms)", pp("answer_cached_ms"), "≤ 30 / ≤ 100 + embedding"),
        ("cold start to first answer (s)", f"{r['cold_start']['first_answer_s']}", "≤ 5"),
        ("peak RSS of a query process (MB)", f"{r['cold_start']['peak_rss_mb']:.0f}", "≤ 600"),
        ("no-change reindex (s)", f"{r['noop_reindex_s']}", "≤ 3"),
        (f"build of {r['build']['sample_chunks']} chunks (s)", f"{r['build']['build_s']} (embedding {r['build']['build_embed_s']}, other {r['build']['build_other_s']})", ""),
        ("embedding floor, same chunks (s)", f"{r['build']['embedding_floor_s']}", ""),
        ("build overhead over the floor, all", f"{r['build']['overhead_vs_floor_pct']} %", ""),
        ("  of it: vocabulary embedding (s)", f"{r['build'].get('vocabulary_embed_s')}", ""),
        ("  of it: the build's own code", f"{r['build'].get('code_overhead_pct')} %", "≤ 15 %"),
    ]
    st, rb = r.get("stages"), r.get("robustness")
    if st:
        loc = st["locate_sentences"]
        rows += [
            ("tokenize the whole 2025 plan (s)", f"{st.get('tokenize_plan_s', '—')}", "≤ 6"),
            ("tokenize a question p50 / p95 (ms)", f"{st['tokenize_query_ms']['p50']} / {st['tokenize_query_ms']['p95']}", "≤ 2"),
            ("load and check the corpus, best of 3 (s)", f"{st['load_corpus_s']}", "≤ 1"),
            (f"locate {loc['n']} cleaned sentences in the raw plan (s)", f"{loc['s']} ({loc['found']} found)", "≤ 2"),
            ("index freshness check at load (ms)", f"{st['freshness_check_ms']}", ""),
        ]
    if rb:
        th = rb["threads"]
        rows += [
            ("odd / hostile questions p50 / p95 (ms)", f"{rb['odd_question_ms']['p50']} / {rb['odd_question_ms']['p95']}", "≤ 1000"),
            (f"question at the {settings_chars(r)}-character limit (ms)", f"{rb['longest_question_ms']}", "≤ 1000"),
            (f"{th['threads']} threads × {th['questions'] // th['threads']} questions, one Assistant (s)",
             f"{th['wall_s']} ({th['errors']} errors)", ""),
        ]
    width = max(len(a) for a, _, _ in rows)
    print(f"{'measure'.ljust(width)}  value  (target)")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value}" + (f"  ({target})" if target else ""))


def main(args: argparse.Namespace, settings: Settings | None = None) -> int:
    """CLI entry: run every benchmark and print the table (or JSON).

    ``settings`` come from the CLI's flag mapping; ``--http`` runs the HTTP throughput benchmark.
    """
    settings = settings or Settings.from_env()
    if getattr(args, "http", False):
        from assistant.http_bench import main as http_main

        return http_main(args, settings)
    return emit(run(settings, getattr(args, "queries", 200)), print_table, as_json=getattr(args, "json", False))


def emit(results: dict[str, Any], table: Callable[[dict[str, Any]], None], *, as_json: bool) -> int:
    """Print benchmark results: indented JSON, or the table followed by one line of JSON."""
    if as_json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        table(results)
        print(json.dumps(results, ensure_ascii=False))
    return 0
