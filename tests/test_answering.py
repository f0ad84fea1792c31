"""Answering's parts on hand-made data: the verifier on paraphrase and forgery, answerability
features and the calibrated model, composition and the short answer. Offline, no model."""


import pytest

from rag.answering import answerable, compose
from rag.answering.assessment import Candidate
from rag.answering.calibration import Answerability, Tree, calibration
from rag.answering.features import features
from rag.answering.question import parse
from rag.answering.verify import support
from rag.text.names import named_in, names
from rag.text.tokens import tokenize
from rag.text.vocab import Vocabulary

# What a corpus's vocabulary gives (learned abbreviations, its vocabulary.toml's aliases).
VOCABULARY = Vocabulary({"SCO": ("Shanghai Cooperation Organization",),
                         "EAEU": ("Eurasian Economic Union",)}, {"Russia": ("Moscow",)})
EVIDENCE = ("Even though Russia comprises the bulk of the EAEU’s total GDP, the treaty only "
            "gives it 20 percent of the body’s voting power.")


@pytest.mark.parametrize("sentence", [
    "Although Russia accounts for most of the union's GDP, the treaty grants it just "
    "20 percent of the voting power.",  # synonyms, other inflections
    "The treaty gives Russia only 20 percent of the voting power in the EAEU.",  # reordered
    "Moscow receives just 20 percent of the votes.",  # Moscow stands for Russia
])
def test_a_paraphrase_passes(sentence: str) -> None:
    verdict = support(sentence, [EVIDENCE], similarity=0.8, vocabulary=VOCABULARY)
    assert verdict.ok, verdict


@pytest.mark.parametrize(("sentence", "missing"), [
    ("The treaty gives Russia only 30 percent of the voting power.", "30"),
    ("The treaty gives Kazakhstan only 20 percent of the voting power.", "Kazakhstan"),
    ("Beijing receives just 20 percent of the votes.", "Beijing"),
])
def test_a_changed_number_or_name_fails_however_similar(sentence: str, missing: str) -> None:
    verdict = support(sentence, [EVIDENCE], similarity=0.95)
    assert not verdict.ok and missing in verdict.missing


def test_the_wrong_passage_fails_and_the_source_may_be_named() -> None:
    other = "The SCO Charter was adopted on June 7, 2002, as the fundamental statutory document."
    assert not support("The treaty grants Russia a minor share of the votes.", [other],
                       similarity=0.1).ok
    sentence = "According to Harding, the treaty gives Russia 20 percent of the voting power."
    assert "Harding" in support(sentence, [EVIDENCE], similarity=0.8).missing
    assert support(sentence, [EVIDENCE], similarity=0.8, sources="Benjamin Harding").ok


def test_names_skip_openers_participles_and_possessives() -> None:
    assert names("Signed on October 18, 2011; in force from March 19, 2016.") == {
        "October", "March"}
    assert "Partly" not in names("Partly because EurAsEC concentrated on the Customs Union.")
    assert named_in("Nazarbayev's", "the idea of Nursultan Nazarbayev")
    assert named_in("SCO", "the Shanghai Cooperation Organisation met", VOCABULARY)
    assert not named_in("Russian", "Kazakhstan and Belarus")


def can_answer(question: str, sentence: str) -> bool:
    return answerable.can_answer(parse(question), sentence)


def name_found(question: str, sentence: str) -> bool:
    return answerable.name_found(parse(question), sentence)


def unmet(question: str, sentences: list[str], passages: list[str]) -> str | None:
    return answerable.unmet(parse(question), sentences, passages)


def definition_bonus(question: str, text: str) -> bool:
    return compose.definition_bonus(parse(question), text)


def short_answer(question: str, sentence: str) -> str | None:
    return compose.short_answer(parse(question), sentence)


def test_question_constraints() -> None:
    assert parse("According to Harding, how many died?").core == "how many died?"
    assert not can_answer("When was the Charter adopted?", "The Charter is the statutory text.")
    assert can_answer("When was the Charter adopted?", "The Charter was adopted in June 2002.")
    assert not can_answer("How much did Russia pay?", "Russia paid a large share.")
    assert can_answer("How much did Russia pay?", "Russia paid $7.5 billion.")
    # "what is the budget", "in euros": an amount, and in the unit asked for
    budget = "What is the annual budget of the SCO secretariat in euros?"
    assert not can_answer(budget, "The SCO secretariat is in Beijing.")
    assert not can_answer(budget, "The SCO budget is $4 million.")
    assert can_answer(budget, "The SCO secretariat's budget is €3.5 million a year.")
    # a date other than the question's own: the year it names does not say when
    summit = "On what date was the joint summit Russia hosted in 2020 held?"
    assert not can_answer(summit, "Another joint summit is in the works for 2020.")
    assert can_answer(summit, "The joint summit of 2020 was held on 17 November 2020.")
    # a share is an amount
    share = "What percentage of the CSTO budget does Russia pay?"
    assert not can_answer(share, "Russia contributes a disproportionate amount of the budget.")
    assert can_answer(share, "Russia pays 50 percent of the CSTO budget.")
    # who/which/where: the best sentence names someone the question does not
    assert not name_found("Which Brazilian diplomat criticised Russia?",
                          "A top Brazilian diplomat criticised Russia.")
    assert name_found("Who criticised Russia?", "Brazil's Ernesto Araujo criticised Russia.")
    assert name_found("What did Brazil criticise?", "Brazil criticised the backing of Maduro.")


def test_hard_checks_need_the_asked_year_and_the_asked_kind_of_thing() -> None:
    passages = ["At a summit in February 2009, members set up a fund. Russia gave $500 million "
                "to Armenia."]
    sentences = ["Russia gave $500 million to Armenia.", "Members set up a fund."]
    # the year may be in the passage rather than in the answering sentence
    assert unmet("How much did Russia give Armenia in February 2009?", sentences, passages) is None
    assert "2011" in (unmet("How much did Russia give Armenia in 2011?", sentences, passages)
                      or "")
    assert "an amount" in (unmet("What is the budget of the fund in euros?", sentences, passages)
                           or "")
    assert "a count" in (unmet("How many members set up the fund?", sentences[1:], passages)
                         or "")
    assert unmet("Why was the fund set up?", sentences[1:], passages) is None


def scored(question: str, text: str, score: float) -> Candidate:
    words = frozenset(tokenize(text))
    return Candidate(score, score / 2, 1, 0, text, words, "c", "a", 0, len(text),
                     fits=can_answer(question, text), passage_text=text, passage_words=words)


def test_features_read_coverage_constraints_and_unknown_words() -> None:
    q = "When did the treaty enter into force?"
    good = features(parse(q), [scored(q, "The treaty entered into force in January 2015.", 1.0)],
                    {"treati", "enter", "forc"}, {"treati": 2.0, "enter": 1.0, "forc": 1.0})
    bad = features(parse(q), [scored(q, "The treaty is long and detailed.", 0.7)], {"treati"},
                   {"treati": 2.0})
    assert good["best_fits"] == 1.0 and bad["best_fits"] == 0.0
    assert good["rare_sentence_coverage"] == 1.0 > bad["rare_sentence_coverage"] > 0
    assert good["wants_number"] == 1.0 and good["why_how"] == 0.0
    # one stump per feature: +3 log-odds above 0.5, -3 below
    stump = {"feature": [0, -2, -2], "threshold": [0.5, -2.0, -2.0], "left": [1, -1, -1],
             "right": [2, -1, -1], "value": [0.0, -3.0, 3.0]}
    model = Answerability(features=["best_fits", "rare_sentence_coverage"], learning_rate=1.0,
                          trees=[Tree(**stump), Tree(**{**stump, "feature": [1, -2, -2]})])
    assert model.confidence(good) > 0.99 > 0.01 > model.confidence(bad)
    assert model.contributions(good) == {"best_fits": 3.0, "rare_sentence_coverage": 3.0}
    assert model.log_odds(bad) == -6.0


def test_a_question_scoring_below_every_answerable_dev_question_is_outside_the_model() -> None:
    """Trees do not extrapolate: below the score floor the model is not asked at all."""
    stump = Tree(feature=[0, -2, -2], threshold=[0.5, -2.0, -2.0], left=[1, -1, -1],
                 right=[2, -1, -1], value=[0.0, 3.0, -3.0])  # low score -> high confidence
    model = Answerability(features=["best_score"], trees=[stump], learning_rate=1.0,
                          score_floor=0.54)
    assert model.confidence({"best_score": 0.2}) > 0.9  # what the trees alone would say
    assert "below every answerable dev question" in (model.outside({"best_score": 0.2}) or "")
    assert model.outside({"best_score": 0.6}) is None
    assert calibration().answerability.score_floor > 0.3  # the committed fit sets it


def test_the_exported_trees_give_scikit_learns_confidence_and_add_up() -> None:
    """rag/evaluate/fitting.py (eval/fit.py, `rag calibrate --backend extractive`) exports the
    boosted trees as data; the runtime's log-odds and confidence are scikit-learn's, and
    several features share in them."""
    import numpy as np

    from rag.evaluate import fitting

    fit = {"FEATURES": fitting.FEATURES, "_model": fitting._model, "export": fitting.export}
    names = fit["FEATURES"]
    rng = np.random.default_rng(0)
    x = rng.random((200, len(names)))
    y = (x[:, 0] + x[:, 3] * x[:, 5] + rng.normal(0, 0.2, 200) > 0.8).astype(int)
    model = fit["_model"](x, y)
    data = fit["export"](model, x)  # raises if any row's confidence differs
    mine = Answerability.model_validate(data)
    row = dict(zip(names, x[7], strict=True))
    assert abs(mine.confidence(row) - model.predict_proba(x[7:8])[0, 1]) < 1e-9
    assert abs(mine.log_odds(row) - model.decision_function(x[7:8])[0]) < 1e-9
    assert len({round(v, 6) for v in mine.contributions(row).values()}) > 3


def test_the_committed_calibration_was_fitted_on_dev() -> None:
    fitted = calibration()
    assert fitted.provenance["split"] == "dev"
    model = fitted.answerability
    assert len(model.features) >= 10 and len(model.trees) >= 50
    assert all(0 <= f < len(model.features) for t in model.trees for f in t.feature if f >= 0)
    assert 0 < model.threshold < 1 and 0 <= fitted.verifier_weight <= 1


def pick(key: int, text: str, score: float, doc: str = "a", passage: int = 1) -> Candidate:
    return Candidate(score, score, passage, key, text, frozenset(tokenize(text)), f"{doc}:c",
                     doc, key, key + 1)


def test_composition_covers_the_question_and_each_named_source() -> None:
    ranked = [pick(0, "Russia wants the SCO to grow.", 1.0),
              pick(1, "Russia wants the SCO to grow quickly.", 0.99),
              pick(2, "China fears SCO economic expansion.", 0.85),
              pick(3, "Unrelated sentence about weather.", 0.84, doc="b", passage=2)]
    chosen = compose.compose(parse("What do Russia and China want from the SCO?"), ranked,
                     lambda p, step: None, {"b"}, margin=0.1, most=3)
    assert [p.key[1] for p in chosen] == [0, 3, 1]  # best, named source b, then within margin
    chosen = compose.compose(parse("What does China fear in the SCO?"), ranked[:3],
                             lambda p, step: None, set(), margin=0.1, most=3)
    assert ranked[2] in chosen  # adds the uncovered "China", though below the margin


def test_a_why_answer_takes_the_reason_before_that_is_why() -> None:
    reason = pick(0, "Russia suffered from separatism in the North Caucasus.", 0.7)
    best = pick(1, "That is why Russia wanted to fight separatism with China.", 1.0)
    chosen = compose.compose(parse("Why did Russia want to fight separatism?"), [best, reason],
                     lambda p, step: reason if step == -1 else None, set(), 0.05, 2)
    assert chosen[:2] == [reason, best]


def test_definitions_and_short_answers() -> None:
    assert definition_bonus("What is the SCO?", "The SCO is a regional security forum.")
    assert definition_bonus("What is the SCO?",
                            "The Shanghai Cooperation Organization (SCO) is a forum.")
    assert not definition_bonus("What is the SCO?", "The story of the SCO is one of promises.")
    row = "Vietnam May 29, 2015 October 5, 2016"
    assert short_answer("When did the FTA with Vietnam enter into force?", row) == (
        "October 5, 2016")
    assert short_answer("When was the FTA with Vietnam signed?", row) == "May 29, 2015"
    assert short_answer("How many troops will CORF have?", "a force of 16,000 troops") == (
        "16,000 troops")
    assert short_answer("Who chairs the council?", "Kyrgyzstan chairs it in 2024.") is None


@pytest.mark.parametrize("text, kind, subject", [
    ("When was the SCO founded?", "when", ()),
    ("Where is RATS based?", "where", ()),
    ("In which city is the secretariat?", "where", ()),
    ("Who leads the Eurasian Economic Commission?", "who", ()),
    ("What is the SCO?", "definition", ("sco",)),
    ("What does ECU stand for?", "definition", ("ecu",)),
    ("How many troops will CORF have?", "how_many", ()),
    ("According to Harding, why does Russia need the SCO?", "why_how", ()),
    ("Which countries signed FTAs with the EAEU?", "other", ()),
])
def test_a_question_is_parsed_once_into_its_kind_and_subject(text: str, kind: str,
                                                             subject: tuple[str, ...]) -> None:
    question = parse(text)
    assert (question.kind, question.subject) == (kind, subject)
    assert parse(text) is question  # the same text is the same record


def test_verbs_match_their_near_synonyms_and_names_their_other_names() -> None:
    from rag.text.vocab import coverage, with_synonyms

    asked = parse("When was the Shanghai Cooperation Organization founded?")
    said = frozenset(tokenize("Since its creation in 2001, the SCO has grown."))
    assert coverage(list(asked.words), said) < 1.0
    assert coverage(list(asked.words), with_synonyms(said), VOCABULARY) == 1.0
    joined = parse("When did Armenia join the EAEU?")
    assert coverage(list(joined.words), with_synonyms(frozenset(tokenize(
        "Armenia acceded to the Eurasian Economic Union in 2015."))), VOCABULARY) == 1.0


def test_the_sentence_holds_the_kind_of_answer_asked_for() -> None:
    where = parse("Where is the SCO's anti-terrorism structure based?")
    assert answerable.kind_found(where, "Its RATS, based in Tashkent, Uzbekistan, claims much.")
    assert not answerable.kind_found(where, "The SCO's structure fights terrorism.")
    who = parse("Who proposed an SCO Energy Club?")
    assert answerable.kind_found(who, "In 2006 Vladimir Putin proposed an SCO Energy Club.")
    assert not answerable.kind_found(who, "An SCO Energy Club was proposed in 2006.")
    assert definition_bonus("What does ECU stand for?",
                            "It formed the Eurasian Customs Union (ECU) in 2010.")


def test_the_pipeline_runs_no_backend_by_name_and_parses_the_question_once() -> None:
    """Issue 34: the gate is each backend's (no extractive backend run as the LLM's gate), and
    the question string is parsed in one place."""
    from pathlib import Path

    import rag.answering.pipeline as pipeline

    source = Path(pipeline.__file__).read_text(encoding="utf-8")
    assert "ExtractiveBackend" not in source and source.count('"extractive"') == 1  # FALLBACK
    answering = Path(pipeline.__file__).parent
    parsers = [p.name for p in answering.rglob("*.py")
               if "question_core" in p.read_text(encoding="utf-8")]
    assert parsers == []
    # the question parsed is the one searched: the follow-up made standalone (issue 35)
    calls = [p.name for p in answering.rglob("*.py")
             if "parse(searched_for(" in p.read_text(encoding="utf-8")]
    assert calls == ["pipeline.py"] and source.count("parse(") == 1
