"""Property-based fuzzing of the API with random unicode (needs ``hypothesis``; skipped without it)."""

from __future__ import annotations

import pytest

from assistant.answering import Answer
from assistant.questions import InvalidQuestion
from assistant.retrieval import InvalidFilter

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hsettings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_any_char = st.characters(exclude_categories=())  # every code point, surrogates included
_fuzz = hsettings(max_examples=20, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@_fuzz
@given(text=st.one_of(
    st.text(_any_char, max_size=80),
    st.text(st.sampled_from("No.1-57０１２３４５６７８９－ー主担当目標工程表はの？?　 \t\n\x00<>&'\";"), max_size=60),
))
def test_fuzz_question_never_raises_anything_but_invalid_question(assistant, text):
    try:
        answer = assistant.answer(text)
    except InvalidQuestion as exc:
        assert exc.reason in ("empty", "too_long")
        return
    assert isinstance(answer, Answer) and answer.text


_turn = st.fixed_dictionaries({
    "role": st.sampled_from(["user", "assistant", "system", "tool", ""]),
    "content": st.one_of(st.text(_any_char, max_size=80), st.none(), st.integers(),
                         st.lists(st.fixed_dictionaries({"type": st.just("text"),
                                                         "text": st.one_of(st.text(max_size=30), st.integers(), st.none())}),
                                  max_size=3)),
})


@_fuzz
@given(text=st.text(_any_char, min_size=1, max_size=40), history=st.lists(_turn, max_size=6),
       filters=st.one_of(st.none(), st.dictionaries(
           st.sampled_from(["doc_id", "chapter", "ministry", "edition", "measure_no", "bogus"]),
           st.one_of(st.text(max_size=20), st.integers(-3, 3000), st.none()), max_size=2)))
def test_fuzz_history_and_filters(assistant, text, history, filters):
    try:
        answer = assistant.answer(text, history=history, filters=filters)
    except (InvalidQuestion, InvalidFilter):
        return
    assert isinstance(answer, Answer)
