"""The data pipeline in one place: corpus → catalog → chunks → index.

Every surface that builds or reads these (the CLI's ``index`` command, the page's build button,
``serve`` and the benchmark) calls these functions, so the stages cannot be wired differently
in two places. Imports are local: ``python -m assistant catalog`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from assistant.config import Settings

if TYPE_CHECKING:
    from assistant.catalog import Catalog
    from assistant.chunking import Chunk
    from assistant.corpus import Document
    from assistant.index import BuildReport
    from assistant.tokenizer import JapaneseTokenizer

ProgressCallback = Callable[[float, str], None]


def load_documents(settings: Settings) -> list[Document]:
    """The documents of ``settings.corpus_dir``, hashes checked (raises ``CorpusError``)."""
    from assistant.corpus import load_corpus

    return list(load_corpus(settings.corpus_dir))


def load_catalog(settings: Settings) -> tuple[list[Document], Catalog]:
    """The documents and the measure catalog parsed from them."""
    from assistant.catalog import build_catalog

    docs = load_documents(settings)
    return docs, build_catalog(docs)


def chunk_documents(settings: Settings, docs: Sequence[Document], catalog: Catalog,
                    tokenizer: JapaneseTokenizer | None = None, *,
                    known_tokens: Mapping[str, Sequence[str]] | None = None) -> list[Chunk]:
    """The chunks the index holds, sized in fugashi tokens (``settings.chunk_tokens``), each with
    its quotable sentences tokenised by ``tokenizer`` (a default ``JapaneseTokenizer`` if None):
    pass the one the index is built with, whose version the manifest records.

    ``known_tokens`` (sentence → tokens by that same tokenizer, e.g. from
    :func:`assistant.index.stored_sentence_tokens`) are taken instead of tokenising again.
    """
    from assistant.chunking import chunk_corpus, fugashi_token_counter
    from assistant.tokenizer import JapaneseTokenizer

    tok = tokenizer or JapaneseTokenizer()
    known = known_tokens or {}

    def tokenize(text: str) -> Sequence[str]:
        found = known.get(text)
        return found if found is not None else tok.tokenize(text)

    return chunk_corpus(list(docs), catalog, fugashi_token_counter(), settings.chunk_tokens, tokenize=tokenize)


def build_index_from_settings(
    settings: Settings, *, rebuild: bool = False, progress: bool = True,
    progress_callback: ProgressCallback | None = None,
) -> BuildReport:
    """Load the corpus, chunk it and build (or incrementally update) the index.

    ``progress`` shows tqdm bars on the terminal; ``progress_callback(fraction, message)`` reports
    the stage to a page (its messages are Japanese because staff read them).
    """
    from assistant.embeddings import make_embeddings
    from assistant.index import build_index, stored_sentence_tokens
    from assistant.tokenizer import JapaneseTokenizer

    def report(fraction: float, message: str) -> None:
        if progress_callback:
            progress_callback(fraction, message)

    report(0.05, "文書を読み込んでいます")
    docs, catalog = load_catalog(settings)
    report(0.15, "チャンクに分割しています")
    # One tokenizer for the chunks' sentence tokens and for BM25: the manifest records its version.
    # Sentences the current build already holds keep their tokens; --rebuild tokenises them all anew.
    tokenizer = JapaneseTokenizer()
    known = {} if rebuild else stored_sentence_tokens(settings, tokenizer.version)
    chunks = chunk_documents(settings, docs, catalog, tokenizer, known_tokens=known)
    hashes = {d.info.doc_id: d.info.sha256 for d in docs}
    embeddings = make_embeddings(settings.embedder, settings.index_dir / "cache")
    report(0.25, "埋め込みを計算しています")
    return build_index(settings, chunks, hashes, embeddings, tokenizer, rebuild=rebuild, progress=progress)


__all__ = ["build_index_from_settings", "chunk_documents", "load_catalog", "load_documents"]
