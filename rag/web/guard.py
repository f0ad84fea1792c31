"""Request checks in front of the page: an ASGI middleware around the app Gradio builds.

- **Host and Origin.** A request is answered only when its Host header names an address the
  page listens on (127.0.0.1, localhost, [::1], the --host given, and --allowed-host names), so
  a web site whose name resolves to 127.0.0.1 (DNS rebinding) gets 400. Listening on every
  interface (0.0.0.0, ::) without an --allowed-host list accepts any Host, and ui.py says so.
  A request that carries an Origin must come from the page itself (scheme://Host), else 403:
  another site, another local port, or "null".
- **Files.** Gradio's file routes (`/gradio_api/file=<path>`) answer here, and only for the
  live index's documents in the corpus folder: a PDF inline (the page links to its pages),
  any other document as a download, each with `Content-Security-Policy: sandbox` and
  `nosniff`. Everything else (the metadata file, a .env, subfolders, URLs) is 404.
- **Uploads.** Off (the default when the page listens on another address than loopback, see
  ui.py --allow-upload): Gradio's upload routes and any multipart body are 403. On: Gradio's
  upload route (`/gradio_api/upload`) takes a multipart body of at most `Rules.upload_limit`
  bytes (MAX_FILES documents of settings.max_document_mb, with a declared Content-Length),
  from the page's own origin like any request; every other upload route is still 403. Any
  other body over MAX_BODY bytes is 413 (decided from the headers, before reading it). The
  files Gradio stores are never served: the file routes serve indexed documents only.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from rag.errors import RagError
from rag.ingest.uploads import MAX_FILES

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
EVERY_INTERFACE = ("0.0.0.0", "::", "[::]")
FILE_ROUTES = ("/gradio_api/file=", "/gradio_api/file/", "/file=", "/file/")
UPLOAD = "/gradio_api/upload"  # the one upload route the page uses, when uploads are on
UPLOAD_ROUTES = (UPLOAD, "/gradio_api/process_recording")
MAX_BODY = 1_000_000  # bytes: a question is at most 2,000 characters
MAX_UPLOAD = "1mb"  # Gradio's own limit (launch's max_file_size) with uploads off
MULTIPART_SLACK = 1_000_000  # bytes of multipart framing allowed beside the files
FILE_HEADERS = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class Rules:
    port: int
    hosts: frozenset[str] | None  # host names a request may name (lowercase); None: any
    corpus_dir: Path
    documents: Callable[[], Collection[str]]  # the live index's document ids (file names)
    upload_limit: int | None = None  # bytes an upload may carry; None: uploads are refused


def document_bytes(max_document_mb: float) -> int:
    """The largest document in bytes (settings.max_document_mb; a MB is 10^6 bytes, as the
    corpus check counts): Gradio's own max_file_size when uploads are on."""
    return int(max_document_mb * 1_000_000)


def upload_limit(max_document_mb: float) -> int:
    """The largest upload request: MAX_FILES documents of the largest size, and framing."""
    return document_bytes(max_document_mb) * MAX_FILES + MULTIPART_SLACK


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def allowed_hosts(host: str, extra: Sequence[str]) -> frozenset[str] | None:
    """The Host names the page answers: loopback, the address it listens on, and `extra`;
    None (any) when it listens on every interface and no `extra` list was given."""
    if host in EVERY_INTERFACE and not extra:
        return None
    names = {*LOOPBACK, *(_bracketed(h) for h in extra)}
    if host not in EVERY_INTERFACE:
        names.add(_bracketed(host))
    return frozenset(n.lower() for n in names)


def startup_note(host: str, hosts: frozenset[str] | None) -> str:
    """What ui.py says at startup about the Host rule (nothing in the default case)."""
    if hosts is None:
        return (f"Listening on every interface ({host}) and answering any Host name: a web "
                "site whose name resolves to this machine can reach the page. Name the "
                "addresses it is reached by with --allowed-host NAME (repeatable).")
    return ""


def is_loopback(host: str) -> bool:
    """Whether the page listening on `host` can be reached from this machine only."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def uploads_on(host: str, allow: bool | None) -> bool:
    """Adding and removing documents from the page: as `allow` says (--allow-upload,
    --no-allow-upload), else on when the page listens on loopback only."""
    return is_loopback(host) if allow is None else allow


def upload_note(host: str, uploads: bool) -> str:
    """What ui.py says at startup about uploads (nothing when they are off or local)."""
    if not uploads or is_loopback(host):
        return ""
    return (f"Uploads are on while listening on {host}: the page has no login, so anyone who "
            "can reach it can add and remove documents. Start it without --allow-upload to "
            "turn them off.")


def _host_name(host: str) -> str:
    """The name of a Host header value without its port: `[::1]:7860` -> `[::1]`."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refusal(scope: Scope, rules: Rules) -> Response | None:
    """Why this request is not answered at all (a response saying so), or None."""
    headers = Headers(scope=scope)
    host = headers.get("host", "").strip().lower()
    if not host or (rules.hosts is not None and _host_name(host) not in rules.hosts):
        return PlainTextResponse("Unknown Host: open the page at the address it listens on "
                                 "(see ui.py --allowed-host).", status_code=400)
    origin = headers.get("origin")
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    if origin is not None and origin.strip().lower() != f"{scheme}://{host}":
        return PlainTextResponse("Cross-origin requests are refused.", status_code=403)
    if scope["type"] == "http":
        return _upload_refusal(scope, headers, rules.upload_limit)
    return None


def _upload_refusal(scope: Scope, headers: Headers, limit: int | None) -> Response | None:
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    path = scope["path"].rstrip("/")
    length = headers.get("content-length", "0")
    if limit is not None and path == UPLOAD and scope["method"] == "POST":
        if kind != "multipart/form-data" or not headers.get("content-length", "").isdigit():
            return PlainTextResponse("An upload is a multipart body with a Content-Length.",
                                     status_code=411 if kind == "multipart/form-data" else 400)
        if int(length) > limit:
            return PlainTextResponse(f"Upload over {limit} bytes: add at most {MAX_FILES} "
                                     "documents at once, each within the document size limit.",
                                     status_code=413)
        return None
    if path in UPLOAD_ROUTES or kind == "multipart/form-data":
        return PlainTextResponse("This page takes no uploads.", status_code=403)
    if not length.isdigit() or int(length) > MAX_BODY:
        return PlainTextResponse(f"Request body over {MAX_BODY} bytes.", status_code=413)
    return None


def document(raw: str, rules: Rules) -> Path | None:
    """The corpus file that a file route's path names, when it is an indexed document."""
    if "://" in raw:
        return None
    asked = Path(os.path.normpath(Path.cwd() / raw))  # an absolute `raw` stays as it is
    corpus = Path(os.path.normpath(rules.corpus_dir.absolute()))
    if asked.parent not in (corpus, corpus.resolve()) or asked.name not in rules.documents():
        return None
    found = corpus / asked.name
    if not found.is_file() or found.resolve().parent != corpus.resolve():
        return None
    return found


async def file_response(raw: str, rules: Rules) -> Response:
    try:
        found = await run_in_threadpool(document, raw, rules)
    except RagError as err:
        return PlainTextResponse(str(err), status_code=503, headers=FILE_HEADERS)
    if found is None:
        return PlainTextResponse("Not a document of the index.", status_code=404,
                                 headers=FILE_HEADERS)
    if found.suffix.lower() == ".pdf":
        return FileResponse(found, headers=FILE_HEADERS, media_type="application/pdf",
                            filename=found.name, content_disposition_type="inline")
    return FileResponse(found, headers=FILE_HEADERS, media_type="application/octet-stream",
                        filename=found.name, content_disposition_type="attachment")


class Guard:
    """The middleware: `Middleware(Guard, rules=...)` in the app's middleware list."""

    def __init__(self, app: ASGIApp, rules: Rules) -> None:
        self.app, self.rules = app, rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = refusal(scope, self.rules)
        if refused is not None:
            if scope["type"] == "websocket":
                await WebSocketClose(code=1008)(scope, receive, send)
                return
            await refused(scope, receive, send)
            return
        route = next((r for r in FILE_ROUTES if scope["path"].startswith(r)), None)
        if scope["type"] == "http" and route is not None:
            if scope["method"] not in ("GET", "HEAD"):
                await PlainTextResponse("Method not allowed.", 405)(scope, receive, send)
                return
            response = await file_response(scope["path"][len(route):], self.rules)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
