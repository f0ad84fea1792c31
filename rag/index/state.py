"""What a generation holds, in a small file written with it (state.json): its fingerprint and
each document's chunk count. An ingest reads them from here instead of reading every chunk's
metadata back from Chroma (seconds at 100x the corpus). A generation written before this file
existed is read from Chroma."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from rag.index.fingerprint import Fingerprint

STATE = "state.json"


def save(folder: Path, fingerprint: Fingerprint, counts: Counter[str]) -> None:
    """Written before the generation's manifest, so the manifest covers it."""
    (folder / STATE).write_text(json.dumps({"fingerprint": fingerprint.to_metadata(),
                                            "chunks": dict(sorted(counts.items()))}))


def load(folder: Path) -> tuple[Fingerprint | None, Counter[str]] | None:
    """The generation's fingerprint and chunk counts, or None when it has no state file."""
    try:
        saved = json.loads((folder / STATE).read_text())
        return (Fingerprint.from_metadata(saved["fingerprint"]),
                Counter({str(doc): int(n) for doc, n in saved["chunks"].items()}))
    except (OSError, ValueError, KeyError, TypeError):
        return None
