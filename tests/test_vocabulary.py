"""The corpus's vocabulary: abbreviations learned from its texts, its vocabulary.toml, and the
Vocabulary the live index's Searcher holds (offline; the ingest of a second corpus is slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import UsageError
from rag.text.abbreviations import learn, pairs
from rag.text.names import named_in
from rag.text.tokens import tokenize
from rag.text.vocab import NO_VOCABULARY, Vocabulary, coverage, load_vocabulary

# A second corpus, of another field: each document defines its abbreviations in its own way.
HEALTH = {
    "who.txt": (
        "The World Health Organization (WHO) was founded in 1948 and is based in Geneva. "
        "Its governing body, the World Health Assembly, meets every May.\n"),
    "imf.txt": (
        "List of abbreviations\nIMF – International Monetary Fund\n"
        "SDRs – special drawing rights\n\n"
        "The IMF (International Monetary Fund) lends to member countries in crisis. Loans "
        "are often paid in special drawing rights (SDRs), a reserve asset created in 1969.\n"),
    "unesco.txt": (
        "The United Nations Educational, Scientific and Cultural Organization (UNESCO) keeps "
        "the World Heritage List. In 2011 the United States stopped its payments to UNESCO "
        "(see above) after a vote in 2011 (2011).\n"),
    "ebola.txt": (
        "During the Ebola outbreak in West Africa, the World Health Organization declared a "
        "public health emergency of international concern on 8 August 2014. More than 11,000 "
        "people died in Guinea, Liberia and Sierra Leone.\n"),
}


def test_the_long_form_before_its_abbreviation_is_learned() -> None:
    assert pairs("Moscow values the Shanghai Cooperation Organization (SCO) highly.") == [
        ("SCO", "Shanghai Cooperation Organization")]
    # the words before the long form ("the", "Moscow values") are not part of it
    assert pairs("and the Collective Security Treaty Organisation (CSTO), an alliance") == [
        ("CSTO", "Collective Security Treaty Organisation")]


def test_the_reverse_order_and_list_lines_are_learned() -> None:
    assert pairs("Russia chairs the SCO (Shanghai Cooperation Organisation) in 2024.") == [
        ("SCO", "Shanghai Cooperation Organisation")]
    assert pairs("bodies such as BRICS (Brazil-Russia-India-China-South Africa), where") == [
        ("BRICS", "Brazil-Russia-India-China-South Africa")]
    listed = "List of abbreviations:\nCIS – Commonwealth of Independent States \n\nEU - " \
             "European Union\nG20 – Group of twenty\n"
    assert pairs(listed) == [("CIS", "Commonwealth of Independent States"),
                             ("EU", "European Union")]  # G20's letters are not in its words


def test_mixed_case_plural_and_extraction_debris() -> None:
    assert pairs("the Eurasian Economic Community (EurAsEC), formed in 2000") == [
        ("EurAsEC", "Eurasian Economic Community")]
    assert pairs("EaEU – Eurasian Economic Union") == [("EaEU", "Eurasian Economic Union")]
    assert pairs("they signed free trade agreements (FTAs) with Vietnam") == [
        ("FTA", "free trade agreement")]
    # a PDF's word separators and a word broken at a line end
    assert pairs("Collective■Security■Treaty■Organization■\n(CSTO)") == [
        ("CSTO", "Collective Security Treaty Organization")]
    assert pairs("the Regional Anti-\nTerrorism Struc-\nture (RATS), based in") == [
        ("RATS", "Regional Anti-Terrorism Structure")]
    assert pairs("the NATO-\nRussia Council (NRC).") == [("NRC", "NATO-Russia Council")]


def test_brackets_that_define_nothing_yield_nothing() -> None:
    for text in ["The SCO was founded in Shanghai (2001).", "the members (see above) met",
                 "Several states (Malaysia) joined.", "the procedure (PRC) was followed",
                 "written in English (English) and French", "the UN (and its agencies) met"]:
        assert pairs(text) == [], text


def test_learning_keeps_every_long_form_in_a_fixed_order() -> None:
    texts = ["the Shanghai Cooperation Organization (SCO) met",
             "SCO – Shanghai Cooperation Organisation",
             "the shanghai cooperation organization (SCO) again"]
    learned = learn(texts)
    assert learned == {"SCO": ("Shanghai Cooperation Organisation",
                               "Shanghai Cooperation Organization")}
    assert learn(reversed(texts)) == learned


def test_a_second_corpus_teaches_its_own_abbreviations() -> None:
    learned = learn(HEALTH.values())
    assert learned == {
        "IMF": ("International Monetary Fund",),
        "SDR": ("special drawing right",),
        "UNESCO": ("United Nations Educational, Scientific and Cultural Organization",),
        "WHO": ("World Health Organization",),
    }


def test_the_vocabulary_expands_questions_and_matches_other_names() -> None:
    vocabulary = Vocabulary.learned(HEALTH.values()).merged(
        Vocabulary(aliases={"Switzerland": ("Geneva", "Bern")}))
    assert vocabulary.expand_query("When was the WHO founded?") == (
        "When was the WHO founded? (World Health Organization)")
    assert vocabulary.expand_query("What does the world health organization do?").endswith(
        "(WHO)")
    assert vocabulary.organisations_in("Loans of the International Monetary Fund") == ["IMF"]
    assert named_in("WHO", "the World Health Organization declared", vocabulary)
    assert not named_in("WHO", "the World Health Organization declared")  # no vocabulary
    assert named_in("Geneva", "based in Switzerland", vocabulary)
    asked = tokenize("Whom does the IMF lend to?")
    said = set(tokenize("the International Monetary Fund lends to members"))
    assert coverage(asked, said, vocabulary) == 1.0 > coverage(asked, said)
    assert NO_VOCABULARY.expand_query("What is the WHO?") == "What is the WHO?"


def test_a_two_letter_abbreviation_is_matched_as_written() -> None:
    vocabulary = Vocabulary({"US": ("United States",), "UNESCO": ("United Nations Educational, "
                                                                  "Scientific and Cultural "
                                                                  "Organization",)})
    assert vocabulary.expand_query("Did they tell us?") == "Did they tell us?"
    assert "United States" in vocabulary.expand_query("Why did the US leave?")
    assert "United Nations Educational" in vocabulary.expand_query("what does unesco keep?")


def test_the_vocabulary_file_adds_abbreviations_and_aliases(tmp_path: Path) -> None:
    assert load_vocabulary(tmp_path, "vocabulary.toml") is NO_VOCABULARY
    (tmp_path / "vocabulary.toml").write_text(
        '[abbreviations]\nSCO = ["Shanghai Cooperation Organization"]\n\n'
        '[aliases]\nRussia = ["Moscow", "Kremlin"]\n', encoding="utf-8")
    own = load_vocabulary(tmp_path, "vocabulary.toml")
    assert own.abbreviations == {"SCO": ("Shanghai Cooperation Organization",)}
    assert own.aliases == {"Russia": ("Kremlin", "Moscow")}
    both = Vocabulary({"SCO": ("Shanghai Cooperation Organisation",)}).merged(own)
    assert both.abbreviations["SCO"] == ("Shanghai Cooperation Organisation",
                                         "Shanghai Cooperation Organization")
    assert named_in("Moscow", "Russia decided", both)
    assert named_in("Russia", "the Kremlin decided", both)


@pytest.mark.parametrize(("content", "said"), [
    ('[abbreviations]\nSCO = "Shanghai Cooperation Organization"\n', "at line 2"),
    ('[abbreviations]\nSCO = ["a"]\n\n[aliases]\nRussia = [1]\n', "at line 5"),
    ('# mine\n[abbreviation]\nSCO = ["a"]\n', "at line 2"),
    ("[abbreviations]\nSCO = [a]\n", "at line 2"),  # TOML's own message names the line
])
def test_an_invalid_vocabulary_file_is_one_line_naming_its_line(tmp_path: Path, content: str,
                                                                said: str) -> None:
    (tmp_path / "vocabulary.toml").write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        load_vocabulary(tmp_path, "vocabulary.toml")
    message = str(raised.value)
    assert "\n" not in message and said in message and "vocabulary.toml" in message, message


def test_the_seed_corpus_file_is_valid_and_holds_only_what_cannot_be_learned() -> None:
    from tests.conftest import CORPUS

    own = load_vocabulary(CORPUS, "vocabulary.toml")
    assert own.aliases["Russia"] == ("Kremlin", "Moscow")
    learned = learn(p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt")))
    for short, forms in own.abbreviations.items():
        assert not set(forms) & set(learned.get(short, ())), short


@pytest.mark.slow
def test_a_second_corpus_answers_by_the_abbreviation_its_text_spells_out(
        tmp_path: Path) -> None:
    """The question says "WHO"; the sentence that answers it only "World Health Organization"
    (the definition is in another document): learned at load, the answer cites it."""
    from rag.answering.pipeline import answer
    from rag.config import get_settings
    from rag.index.build import ingest
    from rag.retrieval.searcher import get_searcher

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in HEALTH.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = get_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    ingest(settings, progress=False)
    searcher = get_searcher(settings)
    assert searcher.vocabulary_terms.abbreviations["WHO"] == ("World Health Organization",)
    got = answer("When did the WHO declare a public health emergency over Ebola?",
                 settings=settings, backend="extractive")
    assert not got.abstained, got.notes
    assert any(c.doc == "ebola.txt" and "World Health Organization" in c.quote
               for c in got.citations)
    assert "8 August 2014" in got.answer


def test_ingest_stops_on_an_invalid_vocabulary_file_before_reading_documents(
        tmp_path: Path) -> None:
    from rag.config import get_settings
    from rag.errors import UsageError
    from rag.index.build import ingest

    (tmp_path / "a.txt").write_text("The World Health Organization (WHO) was founded in 1948.\n")
    (tmp_path / "vocabulary.toml").write_text("[abbreviations]\nWHO = 3\n")
    settings = get_settings(corpus_dir=tmp_path, index_dir=tmp_path / "idx")
    with pytest.raises(UsageError, match=r"vocabulary\.toml"):
        ingest(settings, progress=False)
    assert not (tmp_path / "idx").exists() or not any((tmp_path / "idx").iterdir())
