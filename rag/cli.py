"""The `rag` command: a thin layer that turns arguments into calls and errors into messages."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rag.config import Settings, get_settings
from rag.errors import RagError, UsageError


def _backend_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", metavar="NAME", help="answer backend (default "
                        "extractive); an unknown name lists the installed ones")
    parser.add_argument("--model", metavar="M", help="model name (ollama, openai)")
    parser.add_argument("--base-url", metavar="URL", help="server URL (ollama, openai)")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", type=Path, metavar="DIR",
                        help="corpus folder (default: corpus)")
    common.add_argument("--index", type=Path, metavar="DIR", help="index folder (default: .rag)")
    parser = argparse.ArgumentParser(prog="rag", description="Question answering over a corpus "
                                     "of policy papers, with verified citations.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ingest = commands.add_parser("ingest", parents=[common], help="build or update the index")
    ingest.add_argument("--rebuild", action="store_true", help="drop the index and rebuild it")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.add_argument("--shard", metavar="K/N", help="a worker's share (Chroma server mode): "
                        "embed and stage shard K of N; then `rag ingest` publishes them all")
    ask = commands.add_parser("ask", parents=[common], help="answer a question, with citations")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print exactly one JSON object")
    ask.add_argument("--k", type=int, metavar="N", help="passages to retrieve (default: 5)")
    ask.add_argument("--doc", action="append", metavar="FILE",
                     help="only this document (repeatable)")
    _backend_args(ask)
    evaluate = commands.add_parser("eval", parents=[common],
                                   help="score the pipeline and baselines on a gold set")
    evaluate.add_argument("--gold", type=Path, metavar="FILE",
                          help="gold question set (default: eval/gold.jsonl)")
    evaluate.add_argument("--k", type=int, default=5, metavar="N",
                          help="passages retrieved and scored per question (default: 5)")
    evaluate.add_argument("--out", type=Path, metavar="DIR",
                          help="report folder (default: eval/report)")
    _backend_args(evaluate)
    evaluate.add_argument("--no-baselines", action="store_true",
                          help="skip the vanilla llama-index and BM25 baselines")
    evaluate.add_argument("--thresholds", type=Path, metavar="FILE",
                          help="gate file (default: eval/thresholds.toml)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.add_argument("--split", choices=["dev", "test"],
                          help="score only this split of the gold file (default: every split)")
    calibrate = commands.add_parser(
        "calibrate", parents=[common], help="fit how a backend and model are gated, on the "
        "gold set's dev split")
    _backend_args(calibrate)
    calibrate.add_argument("--gold", type=Path, metavar="FILE",
                           help="gold question set; its dev split is used (default: "
                           "eval/gold.jsonl)")
    calibrate.add_argument("--answer-floor", type=float, default=0.45, metavar="F",
                           help="share of answerable questions to answer (default 0.45)")
    calibrate.add_argument("--abstain-floor", type=float, default=0.80, metavar="F",
                           help="share of unanswerable questions to abstain on (default 0.80); "
                           "the policy chosen has the widest margin over both floors")
    calibrate.add_argument("--out", type=Path, metavar="FILE", help="where to store it "
                           "(default: calibrations.json in the index folder)")
    calibrate.add_argument("--fresh", action="store_true",
                           help="ask every question again (default: resume an interrupted run)")
    calibrate.add_argument("--quiet", action="store_true", help="no progress bar")
    status = commands.add_parser("status", parents=[common], help="show what the index holds")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    llm = {key: value for key, value in (("model", getattr(args, "model", None)),
                                         ("base_url", getattr(args, "base_url", None)))
           if value is not None}
    try:
        return get_settings(corpus_dir=args.corpus, index_dir=args.index, llm=llm or None)
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        raise RagError(f"invalid configuration: {err}") from err


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.index.build import ingest

    if args.shard is not None:
        return _stage(args)
    report = ingest(_settings(args), rebuild=args.rebuild, progress=not args.quiet)
    for warning in report.warnings:
        _warn(warning)
    plan = report.plan
    if not plan.todo and not plan.removed:
        print(f"Nothing to do: the index is up to date ({report.documents} documents, "
              f"{report.chunks} chunks; {report.seconds:.1f} s).")
        return 0
    published = f" ({len(plan.staged)} of them staged by shard workers)" if plan.staged else ""
    print(f"Ingested {len(plan.added)} new, {len(plan.changed)} changed, {len(plan.removed)} "
          f"removed, {len(plan.unchanged)} unchanged documents{published}: "
          f"{report.chunks_embedded} chunks embedded in {report.seconds:.1f} s. Index: "
          f"{report.documents} documents, {report.chunks} chunks.")
    return 0


def _stage(args: argparse.Namespace) -> int:
    from rag.index.shards import parse
    from rag.index.stage import stage_shard

    if args.rebuild:
        raise UsageError("--shard and --rebuild do not go together: rebuild with `rag ingest "
                         "--rebuild` alone, or start the workers on an empty index folder")
    k, n = shard = parse(args.shard)
    report = stage_shard(_settings(args), shard, progress=not args.quiet)
    for warning in report.warnings:
        _warn(warning)
    print(f"Shard {k}/{n}: {report.documents} documents, {report.staged} staged now "
          f"({report.chunks_embedded} chunks embedded in {report.seconds:.1f} s), "
          f"{report.ready} already live or staged. When every shard is done, `rag ingest` "
          "(without --shard) publishes them.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from rag.status import format_status, index_status

    status = index_status(_settings(args))
    print(json.dumps(status, ensure_ascii=False, indent=2) if args.json else format_status(status))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.answering.pipeline import answer
    from rag.terminal import render_answer

    result = answer(args.question, k=args.k, docs=args.doc, backend=args.backend,
                    settings=_settings(args))
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(render_answer(result))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.evaluate import EvalOptions, evaluate
    from rag.evaluate.report import TIMINGS, gate_section, splits_table
    from rag.evaluate.scores import QUALITY

    if args.k < 1:
        raise UsageError("--k must be at least 1")
    settings = _settings(args)
    options = EvalOptions(gold=args.gold or settings.eval.gold, k=args.k,
                          out=args.out or settings.eval.report_dir, backend=args.backend,
                          baselines=not args.no_baselines, thresholds=args.thresholds,
                          progress=not args.quiet, split=args.split)
    summary, warnings = evaluate(settings, options)
    for warning in warnings:
        _warn(warning)
    print(splits_table(summary, QUALITY + TIMINGS))
    print(f"\nFailing questions: {summary.failures}.")
    print(f"Report: {options.out}/summary.md\n\nGate: {gate_section(summary.gate)}")
    return 0 if summary.gate is None or summary.gate.passed else 1


def cmd_calibrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    backend = args.backend or settings.llm.backend
    gold = args.gold or settings.eval.gold
    if not (0 <= args.abstain_floor <= 1 and 0 <= args.answer_floor <= 1):
        raise UsageError("--answer-floor and --abstain-floor are shares: between 0 and 1")
    if backend == "extractive":
        from rag.evaluate.calibrate import dev_items
        from rag.evaluate.fitting import refit

        cv, path = refit(dev_items(gold), settings)
        print(f"Answerability model refitted on the dev split of {gold} and stored in {path}; "
              "the extractive backend and the gate of uncalibrated LLMs use it for this "
              "index (delete the file to go back to the shipped one).\nCross-validated: "
              + ", ".join(f"{k} {v}" for k, v in cv.items()))
        return 0
    from rag.evaluate.calibrate import calibrate
    from rag.status import format_calibration

    fitted, path = calibrate(settings, backend, gold, args.out,
                             (args.answer_floor, args.abstain_floor),
                             progress=not args.quiet, fresh=args.fresh)
    print(format_calibration(fitted))
    print(f"Stored in {path}; `rag ask --backend {backend}` with this model uses it.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"ingest": cmd_ingest, "status": cmd_status, "ask": cmd_ask, "eval": cmd_eval,
                "calibrate": cmd_calibrate}
    try:
        return handlers[args.command](args)
    except RagError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
