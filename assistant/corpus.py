"""Stage 1: the source documents. Manifest, hash check, cleaning and sections.

Raw files in ``corpus/`` are never modified. Cleaning happens here, and every section keeps
character offsets into the raw file so that a quote can always be found again in the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CorpusError(Exception):
    """A corpus file is missing, changed (hash mismatch) or the manifest is invalid."""


@dataclass(frozen=True)
class DocumentInfo:
    """One manifest entry (``corpus/manifest.toml``)."""

    doc_id: str
    title: str
    publisher: str
    date: str  # ISO date the document was decided/published
    edition: int  # 2025, 2024, 2021
    format: str
    license: str
    filename: str
    sha256: str


@dataclass(frozen=True)
class Section:
    """A contiguous part of a document under one heading path.

    ``text`` is the cleaned text; ``raw[start:end]`` is the slice of the raw file it came from.
    """

    doc_id: str
    path: tuple[str, ...]  # e.g. ("第1 …", "4. 取組の方向性…", "(1) …") or ("スライド 5",)
    text: str
    start: int
    end: int
    # "body" for content; "toc" for tables of contents, "nav" for boilerplate: never indexed.
    kind: str = "body"


@dataclass
class Document:
    info: DocumentInfo
    raw: str
    sections: list[Section]
