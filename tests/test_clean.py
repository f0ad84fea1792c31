"""Each cleaning rule, on the real examples of the corpus and on small synthetic inputs."""

from collections import Counter
from functools import cache

import pytest

from rag.ingest.clean import clean
from rag.ingest.hyphens import should_join, vocabulary
from tests.conftest import CORPUS


@cache
def cleaned(doc: str) -> str:
    return "\n\n".join(block.text.text for block in clean((CORPUS / doc).read_text("utf-8")))


def cleaned_text(raw: str) -> str:
    return "\n\n".join(block.text.text for block in clean(raw))


C000, C001, C002, C003, C004 = (
    "000_c198081f43e7425d.txt", "001_bda3b9d9c2b1379f.txt", "002_653e190e66ad8d7b.txt",
    "003_cbd64bb5cc7f4072.txt", "004_aa492b75a69e056e.txt")


@pytest.mark.parametrize(("doc", "broken", "expected"), [
    (C000, "his views re-\nceived", "his views received"),
    (C000, "investments, con-\ncerns over", "investments, concerns over"),
    (C001, "global decision-\nmaking.", "global decision-making."),
    (C001, "sovereignty and non-\nintervention", "sovereignty and non-intervention"),
    (C004, "the■Post-\nSoviet■Space", "in the Post-Soviet Space"),
])
def test_line_break_hyphenation_in_the_corpus(doc: str, broken: str, expected: str) -> None:
    assert broken in (CORPUS / doc).read_text("utf-8")
    assert expected in cleaned(doc)


def test_hyphenation_decisions() -> None:
    vocab = Counter({"decision": 3, "making": 2, "intervention": 1, "non-intervention": 2})
    assert should_join("re", "ceived", vocab)  # a syllable break
    assert should_join("regula", "tions", vocab)
    assert not should_join("decision", "making", vocab)  # both halves are words
    assert not should_join("non", "intervention", vocab)  # the document spells it so
    assert not should_join("Post", "Soviet", vocab)  # capitalised second half
    assert not should_join("1996", "1998", vocab)
    assert should_join("decision", "making", Counter({"decisionmaking": 1}))


def test_vocabulary_ignores_the_broken_words_themselves() -> None:
    vocab = vocabulary("his views re-\nceived a shot; well-known")
    assert vocab["re"] == 0 and vocab["ceived"] == 0
    assert vocab["well-known"] == 1 and vocab["known"] == 1


def test_black_squares_become_spaces() -> None:
    assert "Russia’s■Approach■to" in (CORPUS / C004).read_text("utf-8")
    assert "Russia’s Approach to Multilateral Cooperation" in cleaned(C004)
    assert "■" not in cleaned(C004)


def test_mojibake_is_repaired() -> None:
    assert "PÃ©kin" in (CORPUS / C003).read_text("utf-8")
    assert "un embarras pour Pékin" in cleaned(C003)
    assert "Ã" not in cleaned(C003)


def test_running_footer_is_removed_and_the_sentence_rejoined() -> None:
    assert "CARNEGIE ENDOWMENT FOR INTERNATIONAL PEACE  |  7" in (CORPUS / C000).read_text("utf-8")
    assert "CARNEGIE ENDOWMENT" not in cleaned(C000)
    assert "negotiations with the European Union in 2013 is a clear example" in cleaned(C000)


def test_repeated_running_header_is_removed() -> None:
    page = "Some prose that goes on.\n\nRUSSIAN ANALYTICAL DIGEST {n}\n\nMore prose here."
    raw = "\n\n".join(page.format(n=n) for n in (12, 13, 14))
    assert "DIGEST" not in cleaned_text(raw)


def test_horizontal_rule_inside_a_sentence_is_closed() -> None:
    assert "because of its familiarity with Russian equipment" in cleaned(C003)
    assert "---" not in cleaned(C003)


@pytest.mark.parametrize(("raw", "expected"), [
    ("## Russian Engagement in the SCO", "Russian Engagement in the SCO"),
    ("**ABSTRACT:** In recent years", "ABSTRACT: In recent years"),
    ("Guliev<sup>1</sup>, Karpova<sup>2</sup>", "Guliev, Karpova"),
    ("At the 22<sup>nd</sup> summit", "At the 22nd summit"),
    ("*Politique étrangére*, vol. 87", "Politique étrangére, vol. 87"),
    ("Retrieved from [https://carnegie.ru](https://carnegie.ru/x) today",
     "Retrieved from https://carnegie.ru today"),
    ("the withdrawal of US troops [14]. Nevertheless", "the withdrawal of US troops. Nevertheless"),
    ("Benjamin HARDING\\*", "Benjamin HARDING*"),
])
def test_markdown_debris_is_removed(raw: str, expected: str) -> None:
    assert cleaned_text(raw) == expected


def test_markdown_debris_is_gone_from_web_documents() -> None:
    for doc in (C002, C003):
        text = cleaned(doc)
        assert "<sup>" not in text and "**" not in text and "\n#" not in text


def test_footnote_numbers_glued_to_prose_are_removed() -> None:
    assert "multipolarity.6 Moscow" in (CORPUS / C000).read_text("utf-8")
    assert "promoting multipolarity. Moscow is in the driver’s seat" in cleaned(C000)
    assert cleaned_text("in 2014. It grew 1.5 times") == "in 2014. It grew 1.5 times"


def test_lines_are_unwrapped_into_paragraphs_and_headings_kept_apart() -> None:
    text = cleaned(C004)
    assert "\nThe Slow-Death of the CIS\n" in text
    assert "\nCollective Security Treaty Organization (CSTO)\n" in text
    assert "The CSTO has developed against the background of Ukrainian and Georgian" in text


def test_tables_stay_whole_with_their_captions() -> None:
    blocks = clean((CORPUS / C000).read_text("utf-8"))
    tables = [b.text.text for b in blocks if b.kind == "table"]
    assert len(tables) == 2
    assert tables[0].startswith("TABLE 1\nThe Eurasian Economic Union’s Free Trade Agreements")
    assert "\nVietnam May 29, 2015 October 5, 2016\n" in tables[0]
    assert tables[0].endswith("Source: EAEU Legal Portal, https://docs.eaeunion.org/.")
    assert tables[1].startswith("TABLE 2\nOverview of Major SCO Agreements")
    assert "Ufa Declaration July 9, 2015 Admission of India and Pakistan" in tables[1]
    table_004 = [b.text.text for b in clean((CORPUS / C004).read_text("utf-8"))
                 if b.kind == "table"]
    assert table_004[0].startswith("Table\nMembership of Russian-Influenced Regional")
    assert "\nKazakhstan X X X X\n" in table_004[0]
    assert table_004[0].endswith("Compiled by Stephen Aris")


def test_windows_line_endings_and_empty_input() -> None:
    assert cleaned_text("one line\r\nwrapped here.\r\n\r\nNext one.") == \
        "one line wrapped here.\n\nNext one."
    assert clean("") == []
    assert clean("   \n\n  ") == []
