"""What the index holds, and whether it is up to date with the corpus and the settings."""

from __future__ import annotations

import json
from typing import Any

from rag.answering.calibration import OWN
from rag.answering.models import Figures, ModelCalibration, stored
from rag.config import Settings
from rag.errors import UsageError
from rag.index.build import plan_ingest
from rag.index.chroma import ChromaIndex
from rag.index.fingerprint import Fingerprint
from rag.ingest.corpus import scan_corpus
from rag.ingest.metadata import load_metadata, title_of


def index_status(settings: Settings) -> dict[str, Any]:
    index = ChromaIndex(settings)
    fingerprint = index.fingerprint() or Fingerprint("", "{}", "")
    counts = index.chunk_counts()
    wanted = Fingerprint.wanted(settings)
    try:
        scan = scan_corpus(settings.corpus_dir, settings.metadata_file,
                           settings.max_document_mb)
    except UsageError:
        scan = None
    meta, metadata_error = {}, None
    try:
        meta = load_metadata(settings.corpus_dir, settings.metadata_file)
    except UsageError as err:  # `rag ingest` refuses it and `rag ask` stops on it
        metadata_error = str(err)
    pending = None
    if scan is not None:
        plan = plan_ingest(scan, fingerprint.docs, set(counts))
        pending = {"new": [s.doc for s in plan.added], "changed": [s.doc for s in plan.changed],
                   "removed": plan.removed}
    return {
        "index": str(settings.index_dir),
        "collection": settings.chroma.collection,
        "generation": index.folder.name,
        "corpus": str(settings.corpus_dir),
        "fingerprint": {"embedder": fingerprint.embedder, "dim": fingerprint.dim,
                        "chunker": json.loads(fingerprint.chunker),
                        "cleaning": fingerprint.cleaning, "documents": fingerprint.docs},
        "documents": [{"doc": doc, "title": title_of(doc, meta), "chunks": counts[doc]}
                      for doc in sorted(counts)],
        "total_chunks": sum(counts.values()),
        "settings_match": fingerprint.builder() == wanted.builder(),
        "pending": pending,
        "up_to_date": pending is not None and not any(pending.values())
                      and fingerprint.builder() == wanted.builder(),
        **({"metadata_error": metadata_error} if metadata_error else {}),  # else no key
        "answerability": (str(settings.index_dir / OWN) if (settings.index_dir / OWN).is_file()
                          else "shipped"),
        "calibrations": [{**c.model_dump(mode="json"), "stored": where}
                         for c, where in stored(settings).values()],
    }


def share(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def format_calibration(c: ModelCalibration) -> str:
    """One model's gate and figures, as `rag calibrate` and `rag status` print them."""
    gate = ("asked whenever the hard checks pass" if c.threshold is None else
            f"asked at answerability confidence >= {c.threshold:.3f}")
    verdict = "trusted" if c.trust_answerable else "not trusted (its sentences are verified)"
    f, cv = c.figures, c.cv
    p95 = "–" if f.latency_p95_ms is None else f"{f.latency_p95_ms / 1000:.1f} s"
    return (f"{c.backend} {c.model}: {gate}; its own verdict {verdict}.\n"
            f"  dev ({f.answerable} answerable, {f.unanswerable} unanswerable): answered "
            f"{share(f.answered)} (cross-validated {share(cv.answered)}), unanswerable "
            f"abstained {share(f.abstained_unanswerable)} (cv "
            f"{share(cv.abstained_unanswerable)}), gold evidence cited "
            f"{share(f.evidence_cited)}, refused before asked {share(f.refused_before_asked)}"
            f", faithfulness {share(f.faithfulness)}, p95 {p95}; fitted "
            f"{c.provenance.get('fitted', '?')}" + _default(c))


def _default(c: ModelCalibration) -> str:
    """The same dev answers under the uncalibrated default gate, when recorded."""
    found = c.provenance.get("uncalibrated_default")
    if not isinstance(found, dict):
        return ""
    d = Figures.model_validate(found)
    return (f"\n  uncalibrated default on the same answers: answered {share(d.answered)}, "
            f"unanswerable abstained {share(d.abstained_unanswerable)}, refused before asked "
            f"{share(d.refused_before_asked)}")


def format_status(status: dict[str, Any]) -> str:
    fp = status["fingerprint"]
    chunker = ", ".join(f"{k}={v}" for k, v in fp["chunker"].items())
    lines = [f"Index:      {status['index']}/ (Chroma collection {status['collection']!r})",
             f"Embedder:   {fp['embedder']} ({fp['dim']} dimensions)",
             f"Chunker:    {chunker}", f"Cleaning:   version {fp['cleaning']}",
             f"Documents:  {len(status['documents'])}, chunks: {status['total_chunks']}"]
    lines += [f"  {d['doc']:<32} {d['chunks']:>5} chunks  {d['title']}"
              for d in status["documents"]]
    if not status["settings_match"]:
        lines.append("State:      built with other settings — run `rag ingest --rebuild`")
    elif status["pending"] is None:
        lines.append(f"State:      corpus folder {status['corpus']}/ not found; cannot compare")
    elif status["up_to_date"]:
        lines.append(f"State:      up to date with {status['corpus']}/")
    else:
        todo = "; ".join(f"{k}: {', '.join(v)}" for k, v in status["pending"].items() if v)
        lines.append(f"State:      out of date ({todo}) — run `rag ingest`")
    if status.get("metadata_error"):
        lines.append(f"Metadata:   {status['metadata_error']}")
    lines.append(f"Answerability model: {status['answerability']}")
    if not status["calibrations"]:
        lines.append("Calibrated models: none (an LLM is gated by the uncalibrated default; "
                     "`rag calibrate --backend NAME --model M`)")
    else:
        lines.append("Calibrated models (other models: the uncalibrated default gate):")
        for entry in status["calibrations"]:
            where = entry["stored"]
            text = format_calibration(ModelCalibration.model_validate(
                {k: v for k, v in entry.items() if k != "stored"}))
            lines += [f"  {line}" for line in text.splitlines()] + [f"    stored: {where}"]
    return "\n".join(lines)
