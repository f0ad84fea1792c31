"""The web page: `python ui.py [--host H] [--port P]` (default 127.0.0.1:7860).

Loads the embedding model and the index once, then serves the Gradio app. It listens on
loopback only unless --host says otherwise; no public share link is ever created.
With RAG_UI_SMOKE_TEST=1 (set by CI) it checks that the page is served and answers through its
API, then exits.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.web.guard import Rules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default 127.0.0.1; 0.0.0.0 exposes the "
                        "page to the network)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="a further host name the page may be reached by (repeatable); "
                        "requests naming any other Host are refused (400)")
    parser.add_argument("--allow-upload", action=argparse.BooleanOptionalAction, default=None,
                        help="let visitors add and remove documents from the page (default: "
                        "on when listening on loopback, off otherwise: the page has no login)")
    parser.add_argument("--corpus", help="corpus folder (default: corpus)")
    parser.add_argument("--index", help="index folder (default: .rag)")
    args = parser.parse_args()
    started = time.perf_counter()

    from rag.config import get_settings
    from rag.errors import RagError

    try:
        settings = get_settings(corpus_dir=args.corpus, index_dir=args.index)
        from starlette.middleware import Middleware

        from rag.web import fonts
        from rag.web.guard import (
            MAX_UPLOAD,
            Guard,
            document_bytes,
            startup_note,
            upload_note,
            uploads_on,
        )
        from rag.web.layout import build
        from rag.web.render import CSS

        uploads = uploads_on(args.host, args.allow_upload)
        page = build(settings, uploads=uploads)
    except RagError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    rules = guard_rules(args, settings)
    print(f"Index and model loaded in {time.perf_counter() - started:.1f} s. "
          f"Open http://{args.host}:{args.port}/", flush=True)
    for note in (startup_note(args.host, rules.hosts), upload_note(args.host, uploads)):
        if note:
            print(note, flush=True)
    smoke = bool(os.environ.get("RAG_UI_SMOKE_TEST"))
    page.queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, share=False, css=CSS,
        theme=fonts.theme(),  # bundled fonts: Gradio's weight-600 file lacks most letters
        footer_links=["api"], show_error=False, quiet=True, prevent_thread_lock=smoke,
        # Gradio's own limit, behind guard.py's: one document's size, or none with uploads off
        max_file_size=document_bytes(settings.max_document_mb) if uploads else MAX_UPLOAD,
        app_kwargs={"middleware": [Middleware(Guard, rules=rules)]})  # serves the PDF links
    if smoke:  # CI runs the README's first command: check the page, then stop
        try:
            return smoke_test(f"http://127.0.0.1:{args.port}/", started)
        finally:
            page.close()
    return 0


def guard_rules(args: argparse.Namespace, settings: Settings) -> Rules:
    """What the page answers (rag/web/guard.py): the Host names of the addresses it listens
    on, of the corpus folder only the live index's documents, and uploads of documents when
    they are on (--allow-upload)."""
    from rag.retrieval.searcher import get_searcher
    from rag.web.guard import Rules, allowed_hosts, upload_limit, uploads_on

    uploads = uploads_on(args.host, args.allow_upload)
    return Rules(port=args.port, hosts=allowed_hosts(args.host, args.allowed_host),
                 corpus_dir=settings.corpus_dir,
                 documents=lambda: get_searcher(settings).fingerprint.docs,
                 upload_limit=upload_limit(settings.max_document_mb) if uploads else None)


def smoke_test(url: str, started: float) -> int:
    """The page is served and answers a question with citations through its API."""
    import urllib.request

    from gradio_client import Client

    html = urllib.request.urlopen(url, timeout=30).read().decode()
    result = Client(url, verbose=False).predict("When was the Astana Treaty signed?", 5, None,
                                                api_name="/answer")
    ok = "Policy papers" in html and bool(result.get("citations"))
    print(f"UI smoke test {'passed' if ok else 'FAILED'}: page served, answer with "
          f"{len(result.get('citations', []))} citation(s), "
          f"{time.perf_counter() - started:.1f} s after start.", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
