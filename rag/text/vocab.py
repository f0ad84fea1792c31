"""The corpus's vocabulary: abbreviations and their long forms, names that stand for each
other, British and American spellings, near-synonymous verbs.

A question in one form must find text written in the other. What is particular to a corpus
(its abbreviations, a capital standing for its state) is the corpus's: a `Vocabulary` learned
from its texts (rag/text/abbreviations.py) joined with its own vocabulary.toml, held by the
live index's Searcher and passed to whoever matches names. What is general English (spellings,
verb groups, question words) stays here.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from rag.errors import UsageError
from rag.text import abbreviations
from rag.text.tokens import tokenize

Names = Mapping[str, tuple[str, ...]]


def _phrase(text: str) -> re.Pattern[str]:
    """`text` as a whole phrase, any whitespace between its words; case-insensitive, except a
    two-letter abbreviation ("US" is not "us")."""
    flags = 0 if len(text) <= 2 and text.isupper() else re.IGNORECASE
    return re.compile(r"(?<![\w-])" + re.escape(text).replace(r"\ ", r"\s+") + r"(?![\w-])",
                      flags)


def _union(*parts: Names) -> dict[str, tuple[str, ...]]:
    """Key -> its values in all `parts`, sorted, each once (keys sorted)."""
    found: dict[str, set[str]] = {}
    for part in parts:
        for key, values in part.items():
            found.setdefault(key, set()).update(values)
    return {k: tuple(sorted(found[k], key=lambda v: (v.casefold(), v))) for k in sorted(found)}


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """A corpus's abbreviations (short form -> long forms) and aliases (a name -> the names
    that stand for it: Russia -> Moscow, Kremlin). Both directions count everywhere."""

    abbreviations: Names = field(default_factory=dict)
    aliases: Names = field(default_factory=dict)

    @classmethod
    def learned(cls, texts: Iterable[str]) -> Vocabulary:
        """The abbreviations `texts` define ("the Shanghai Cooperation Organization (SCO)")."""
        return cls(abbreviations=abbreviations.learn(texts))

    def merged(self, other: Vocabulary) -> Vocabulary:
        return Vocabulary(_union(self.abbreviations, other.abbreviations),
                          _union(self.aliases, other.aliases))

    @functools.cached_property
    def _phrases(self) -> dict[str, re.Pattern[str]]:
        """Each short and long form as a phrase pattern, compiled once."""
        names = {n for a, forms in self.abbreviations.items() for n in (a, *forms)}
        return {n: _phrase(n) for n in sorted(names)}

    @functools.cached_property
    def _patterns(self) -> tuple[list[tuple[re.Pattern[str], tuple[str, ...]]],
                                 list[tuple[re.Pattern[str], str]]]:
        forward = [(self._phrases[a], forms) for a, forms in self.abbreviations.items()]
        backward = [(self._phrases[form], a) for a, forms in self.abbreviations.items()
                    for form in forms]
        return forward, backward

    @functools.cached_property
    def _organisations(self) -> dict[str, list[str]]:
        return {}  # text -> organisations_in(text): the same few titles, for every citation

    def expand_query(self, question: str) -> str:
        """The question plus the other forms of each abbreviation or long form it contains."""
        forward, backward = self._patterns
        extra: list[str] = []
        for pattern, forms in forward:
            if pattern.search(question):
                extra += [f for f in forms if f not in extra]
        for pattern, abbreviation in backward:
            if pattern.search(question) and abbreviation not in extra:
                extra.append(abbreviation)
        extra = [e for e in extra if not self._phrases[e].search(question)]
        return question if not extra else f"{question} ({'; '.join(extra)})"

    def organisations_in(self, text: str) -> list[str]:
        """The abbreviations of the organisations `text` names, by abbreviation or long form."""
        if text not in self._organisations:
            if len(self._organisations) >= 1024:
                self._organisations.clear()
            self._organisations[text] = [
                a for a, forms in self.abbreviations.items()
                if any(self._phrases[f].search(text) for f in (a, *forms))]
        return self._organisations[text]

    @functools.cached_property
    def abbreviation_sets(self) -> list[tuple[frozenset[str], list[frozenset[str]]]]:
        """(token set of one form, token sets of all forms) of each abbreviation, short forms
        that differ only in case (EAEU, EaEU) together."""
        groups: dict[str, set[str]] = {}
        for abbreviation, forms in self.abbreviations.items():
            groups.setdefault(abbreviation.upper(), set()).update([abbreviation, *forms])
        found = []
        for names in (groups[k] for k in sorted(groups)):
            token_sets = [frozenset(tokenize(n)) for n in sorted(names) if tokenize(n)]
            found += [(t, token_sets) for t in token_sets]
        return found

    @functools.cached_property
    def name_aliases(self) -> dict[str, list[frozenset[str]]]:
        """Token -> the token sets of every other way of naming the same thing (abbreviation
        and long forms, a state and its capital), as `tokenize` gives them."""
        groups = [[a, *forms] for a, forms in self.abbreviations.items()]
        groups += [[name, *others] for name, others in self.aliases.items()]
        found: dict[str, list[frozenset[str]]] = {}
        for group in groups:
            sets = [frozenset(tokenize(name)) for name in group if tokenize(name)]
            for own in sets:  # a one-word name (SCO, Moscow) may stand for the others
                if len(own) == 1:
                    found.setdefault(next(iter(own)), []).extend(s for s in sets if s != own)
        return found

    def other_names(self, token: str) -> list[frozenset[str]]:
        """The token sets of the other names of the one-word name `token` (none: [])."""
        return self.name_aliases.get(token, [])


NO_VOCABULARY = Vocabulary()  # nothing particular to a corpus: no abbreviations, no aliases


class _VocabularyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    abbreviations: dict[str, list[str]] = {}
    aliases: dict[str, list[str]] = {}


def load_vocabulary(corpus_dir: Path, filename: str) -> Vocabulary:
    """The corpus's own vocabulary file; empty when there is none. A file that is there but
    cannot be read, parsed or validated is a UsageError of one line naming its line (as
    metadata.toml's: `rag ingest` checks it, so the mistake is found before `rag ask`)."""
    path = corpus_dir / filename
    if not path.exists() and not path.is_symlink():
        return NO_VOCABULARY
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
        parsed = _VocabularyFile.model_validate(raw)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        problem = err.strerror if isinstance(err, OSError) else err
        raise UsageError(f"cannot read {path}: {problem}. Fix the file or remove it.") from err
    except ValidationError as err:
        raise UsageError(f"cannot read {path}: {_invalid(text, err)}. Fix the file or remove "
                         "it.") from err
    return Vocabulary(_union({k: tuple(v) for k, v in parsed.abbreviations.items()}),
                      _union({k: tuple(v) for k, v in parsed.aliases.items()}))


def _invalid(text: str, err: ValidationError) -> str:
    """One line on the first mistake, with its line in the file."""
    first = err.errors()[0]
    loc = [str(part) for part in first["loc"]]
    where = ".".join(loc) or "the file"
    line = _line_of(text, loc)
    at = "" if line is None else f" at line {line}"
    if first["type"] == "extra_forbidden":
        return (f"[{loc[0]}]{at} is not a section of a vocabulary file (only [abbreviations] "
                "and [aliases])")
    found = repr(first["input"])
    found = found if len(found) <= 60 else f"{found[:57]}..."
    return (f"{where}: {first['msg']} (found {found}){at}; each entry is a name = [\"other "
            'name", ...]')


def _line_of(text: str, loc: list[str]) -> int | None:
    """The line that opens section loc[0], or (after it) the first that sets loc[1]."""
    lines, after = text.splitlines(), 0
    for depth, key in enumerate(loc[:2]):
        pattern = (rf"\s*\[\s*[\"']?{re.escape(key)}[\"']?\s*\]" if depth == 0
                   else rf"""\s*(["']?){re.escape(key)}\1\s*=""")
        hit = next((n for n, line in enumerate(lines[after:], start=after + 1)
                    if re.match(pattern, line)), None)
        if hit is None:
            return after or None
        after = hit
    return after or None


# Verbs (as `tokenize` stems them) that ask for the same fact in other words: "When was the SCO
# founded?" is answered by "Since its creation in 2001, ..."; "When did Armenia join?" by
# "Armenia acceded in 2015". A question's verb matches any form of its group.
VERB_GROUPS: tuple[frozenset[str], ...] = tuple(frozenset(g) for g in (
    ("found", "foundat", "creat", "creation", "establish", "launch", "form", "format", "incept",
     "set", "born", "birth"),
    ("join", "acced", "access", "admit", "admiss", "enlarg", "expand", "expans"),
    ("lead", "leader", "head", "chair", "presid", "helm"),
    ("base", "headquart", "seat", "locat", "host", "hous"),
    ("sign", "conclud", "agre", "adopt"),
    ("come", "came", "enter", "took", "effect", "forc"),
    ("propos", "suggest", "idea", "initi", "brainchild", "advoc"),
    ("end", "dissolv", "abolish", "termin", "merg"),
    ("start", "began", "begin", "initi", "launch"),
))


@functools.cache
def _verb_index() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for group in VERB_GROUPS:
        for form in group:
            found.setdefault(form, set()).update(group)
    return {form: frozenset(forms) for form, forms in found.items()}


def verb_forms(token: str) -> frozenset[str]:
    """The near-synonyms of a question's word (itself included), or just itself."""
    return _verb_index().get(token, frozenset([token]))


def with_synonyms(words: frozenset[str]) -> frozenset[str]:
    """`words` and every near-synonym of them (VERB_GROUPS): "creation" also counts as
    "found", so that coverage matches "When was the SCO founded?" to "Since its creation"."""
    index = _verb_index()
    extra = [index[w] for w in words if w in index]
    return words.union(*extra) if extra else words


# Words that shape a question but are not its content (already stemmed, as `tokenize` gives).
QUESTION_WORDS = frozenset([
    "what", "which", "who", "whom", "whose", "when", "where", "whi", "how", "mani", "much", "do",
    "doe", "did", "have", "has", "had", "can", "could", "would", "should", "may", "might",
    "must", "accord", "main", "describ", "explain", "say", "said", "tell", "name", "list",
    "give", "kind", "sort",
])


def coverage(question_words: list[str], sentence_words: AbstractSet[str],
             vocabulary: Vocabulary = NO_VOCABULARY) -> float:
    """Share of the question's content words in a sentence; an abbreviation in one and its
    long form in the other count as a match (both are lists/sets of `tokenize` output; the
    abbreviations are `vocabulary`'s, the live index's)."""
    wanted = set(question_words) - QUESTION_WORDS
    if not wanted:
        return 0.0
    matched = wanted & sentence_words
    for form, alternatives in vocabulary.abbreviation_sets:
        if form <= wanted and any(alt <= sentence_words for alt in alternatives):
            matched |= form
    return len(matched) / len(wanted)
