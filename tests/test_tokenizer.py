"""Tokenizer and synonym expansion, on the real fugashi/unidic-lite and the real plan text."""

from __future__ import annotations

import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.tokenizer import (
    DEFAULT_SYNONYMS_PATH,
    STOP_WORDS,
    JapaneseTokenizer,
    expand_query,
    load_synonyms,
    synonyms_version,
    tokenizer_version,
)

PLAN = Path(__file__).resolve().parent.parent / "corpus" / "plan-2025-full.md"


@pytest.fixture(scope="module")
def tok() -> JapaneseTokenizer:
    return JapaneseTokenizer()


@pytest.fixture(scope="module")
def unigram_tok() -> JapaneseTokenizer:
    return JapaneseTokenizer(bigrams=False)


@pytest.fixture(scope="module")
def synonyms() -> dict[str, list[str]]:
    return load_synonyms()


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# -- tokenizer ----------------------------------------------------------------------------------


def test_latin_words_kept_whole_and_lower_cased(unigram_tok):
    tokens = unigram_tok.tokenize("生成AIとDXとAPIの活用")
    assert tokens == ["生成", "ai", "dx", "api", "活用"]


def test_split_latin_pieces_are_merged(unigram_tok):
    tokens = unigram_tok.tokenize("e-GovとChatGPTと5GとGIGAスクール、地方創生2.0")
    assert "e-gov" in tokens
    assert "chatgpt" in tokens
    assert "5g" in tokens
    assert "giga" in tokens
    assert "2.0" in tokens
    # Latin words separated by spaces stay separate words.
    assert unigram_tok.tokenize("My Number Card") == ["my", "number", "card"]


def test_full_width_is_nfkc_normalised(unigram_tok):
    assert unigram_tok.tokenize("ＡＩとＤＸ") == unigram_tok.tokenize("AIとDX") == ["ai", "dx"]
    assert unigram_tok.tokenize("２０２５年度") == unigram_tok.tokenize("2025年度")


def test_particles_auxiliaries_symbols_and_stop_words_dropped(unigram_tok):
    tokens = unigram_tok.tokenize("マイナンバーカードの利用を推進するため、これらのことがある。")
    for dropped in ("の", "を", "、", "。", "する", "ため", "これ", "こと", "ある"):
        assert dropped not in tokens
    assert "推進" in tokens
    assert "利用" in tokens
    assert not STOP_WORDS & set(tokens)


def test_numbers_kept(unigram_tok):
    tokens = unigram_tok.tokenize("令和7年度までに1,000件、3.5%を目指す")
    assert "7" in tokens
    assert "1000" in tokens
    assert "3.5" in tokens
    assert "年度" in tokens


def test_base_forms_without_loanword_glosses(unigram_tok):
    tokens = unigram_tok.tokenize("カードを進めていた")
    assert tokens[0] == "カード"  # unidic's lemma would be カード-card
    assert "進める" in tokens
    assert not any("-" in t and not t.isascii() for t in tokens)


def test_compound_bigrams(tok, unigram_tok):
    tokens = tok.tokenize("マイナンバーカードの健康保険証利用")
    for compound in ("マイナンバー", "ナンバーカード", "健康保険", "保険証"):
        assert compound in tokens
    # The unigrams are all still there, in order.
    assert [t for t in tokens if t in unigram_tok.tokenize("マイナンバーカードの健康保険証利用")] == (
        unigram_tok.tokenize("マイナンバーカードの健康保険証利用")
    )
    # No bigram across a particle.
    assert "カード健康" not in tokens
    assert "保険証" not in unigram_tok.tokenize("健康保険証")


def test_bigrams_join_query_and_plan_wording(tok):
    # The plan writes both 生成AI and 生成 AI (PDF spacing); both give the same compound.
    assert "生成ai" in tok.tokenize("生成AI")
    assert "生成ai" in tok.tokenize("生成 AI")
    assert "自治体" in tok.tokenize("自治体システム")  # unidic: 自治|体


def test_empty_and_symbol_only_input(tok):
    assert tok.tokenize("") == []
    assert tok.tokenize("、。・（）\n\n  ") == []


def test_version_reflects_options():
    assert JapaneseTokenizer().version != JapaneseTokenizer(bigrams=False).version
    # What an index load compares with, computed without a tagger:
    assert tokenizer_version() == JapaneseTokenizer().version
    assert tokenizer_version(bigrams=False) == JapaneseTokenizer(bigrams=False).version


def test_thread_safe(tok):
    texts = ["マイナンバーカードの普及", "ガバメントクラウドへの移行", "生成AIの利活用"] * 20
    expected = [tok.tokenize(t) for t in texts]

    def work(offset: int) -> list[tuple[int, list[str]]]:
        return [(i, tok.tokenize(texts[i])) for i in range(offset, len(texts), 4)]

    with ThreadPoolExecutor(4) as pool:  # result() re-raises a worker's exception
        outs = [f.result(timeout=120) for f in [pool.submit(work, n) for n in range(4)]]
    got = dict(pair for out in outs for pair in out)
    assert [got[i] for i in range(len(texts))] == expected


def test_whole_plan_and_repeated_query(tok):
    """The whole plan in one call, and a query tokenised the same every time.
    (How fast: `python -m assistant bench`, "tokenize".)"""
    tokens = tok.tokenize(PLAN.read_text(encoding="utf-8"))
    assert len(tokens) > 100_000
    query = "マイナ保険証はいつから使えますか？"
    first = tok.tokenize(query)
    assert first and all(tok.tokenize(query) == first for _ in range(20))


# -- synonyms -------------------------------------------------------------------------------------


def test_synonyms_file_loads_with_enough_entries(synonyms):
    lines = [
        line
        for line in DEFAULT_SYNONYMS_PATH.read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip()
    ]
    assert len(lines) >= 60
    assert all("\t" in line for line in lines)
    assert synonyms["マイナカード"] == ["マイナンバーカード"]
    assert "地方公共団体" in synonyms["自治体"]
    # Keys are normalised: ASCII terms are looked up case-folded.
    assert "ガバメントソリューションサービス" in synonyms["gss"]
    assert len(synonyms_version()) == 12


def test_every_expansion_is_the_plans_own_wording(synonyms):
    plan = _compact(PLAN.read_text(encoding="utf-8"))
    missing = sorted({e for exps in synonyms.values() for e in exps if _compact(e) not in plan})
    assert not missing, f"expansions not found in {PLAN.name}: {missing}"


def test_expand_query_adds_plan_wording(synonyms):
    assert "マイナンバーカード" in expand_query("マイナカードの申請方法", synonyms)
    assert "地方公共団体" in expand_query("自治体の取組", synonyms)
    assert "ガバメントクラウド" in expand_query("ガバクラ移行", synonyms)
    assert "デジタル庁" in expand_query("What is the Digital Agency?", synonyms)
    assert "地方公共団体" in expand_query("support for local governments", synonyms)
    # Full-width input matches too.
    assert "ガバメントソリューションサービス" in expand_query("ＧＳＳとは", synonyms)


def test_expand_query_keeps_text_and_skips_what_is_already_there(synonyms):
    query = "マイナ保険証が使える医療機関"
    expanded = expand_query(query, synonyms)
    assert expanded.startswith(query)
    assert expanded.count("医療機関") == 1
    assert expand_query(expanded, synonyms) == expanded  # idempotent
    assert expand_query("関係のない文", synonyms) == "関係のない文"


def test_expand_query_longest_match_and_word_boundaries(synonyms):
    expanded = expand_query("マイナ保険証", synonyms)
    assert "オンライン資格確認" in expanded  # from マイナ保険証 itself
    # ASCII terms only match whole words: "gss" inside another word does not fire.
    assert expand_query("gssx", synonyms) == "gssx"


def test_load_synonyms_format(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("# comment\nＡ|b\tX|Y  # trailing comment\n\nc\tZ\n", encoding="utf-8")
    assert load_synonyms(path) == {"a": ["X", "Y"], "b": ["X", "Y"], "c": ["Z"]}
    path.write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=":1:"):
        load_synonyms(path)
