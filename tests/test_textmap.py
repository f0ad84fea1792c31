import re

import pytest

from rag.text.textmap import MappedText


def test_identity_maps_each_character_to_itself() -> None:
    mt = MappedText.of("abc")
    assert mt.span(0, 3) == (0, 3)
    assert mt.span(1, 2) == (1, 2)


def test_same_length_replacement_maps_character_to_character() -> None:
    original = "Russia’s■Approach■to"
    mt = MappedText.of(original).sub(re.compile("■"), " ")
    assert mt.text == "Russia’s Approach to"
    start = mt.text.index("Approach")
    assert original[slice(*mt.span(start, start + 8))] == "Approach"


def test_deletion_keeps_following_offsets() -> None:
    original = "a **bold** word"
    mt = MappedText.of(original).sub(re.compile(r"\*\*"), "")
    assert mt.text == "a bold word"
    start = mt.text.index("word")
    assert original[slice(*mt.span(start, start + 4))] == "word"
    s, e = mt.span(mt.text.index("bold"), mt.text.index("bold") + 4)
    assert original[s:e] == "bold"


def test_shorter_replacement_maps_to_the_whole_replaced_span() -> None:
    original = "re-\nceived"
    mt = MappedText.of(original).sub(re.compile(r"-\n"), "")
    assert mt.text == "received"
    assert mt.span(0, len(mt)) == (0, len(original))


def test_keep_group_removes_markup_around_text() -> None:
    original = "see [the site](http://x.org) now"
    mt = MappedText.of(original).keep_group(re.compile(r"\[([^\]]*)\]\([^)]*\)"))
    assert mt.text == "see the site now"
    start = mt.text.index("the site")
    assert original[slice(*mt.span(start, start + 8))] == "the site"


def test_replace_by_diff_aligns_changed_characters() -> None:
    original = "pour PÃ©kin, vol"
    mt = MappedText.of(original)
    mt = mt.edit(mt.replace_by_diff(0, len(original), "pour Pékin, vol"))
    assert mt.text == "pour Pékin, vol"
    start = mt.text.index("vol")
    assert original[slice(*mt.span(start, start + 3))] == "vol"
    assert original[slice(*mt.span(5, 10))] == "PÃ©kin"


def test_chained_edits_compose() -> None:
    original = "x\n\nCARNEGIE | 7\n\ny■z"
    mt = MappedText.of(original).sub(re.compile(r"\n\nCARNEGIE \| 7\n\n"), " ")
    mt = mt.sub(re.compile("■"), " ")
    assert mt.text == "x y z"
    assert original[slice(*mt.span(4, 5))] == "z"


def test_bad_spans_and_overlapping_edits_are_rejected() -> None:
    mt = MappedText.of("abcdef")
    with pytest.raises(ValueError):
        mt.span(3, 3)
    with pytest.raises(ValueError):
        mt.edit([(2, 4, "x"), (3, 5, "y")])
