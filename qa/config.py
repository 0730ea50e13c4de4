"""Every setting in one place: environment variables (``QA_*``, ``OPENAI_*``) over defaults.

The README's settings table mirrors ``FIELDS``; keep both in step.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


# Stored with an index: vectors from another embedder (or an older, fixed one) are never mixed
# with new ones; a change makes the next ingest embed everything again.
EMBEDDER_ID = "all-MiniLM-L6-v2-int8/3"  # /3: PDF chunks embed their page context


def embedder_id(settings: Settings) -> str:
    """What an index records as its embedder: vectors of two embedders are never mixed."""
    return f"{settings.embed_model}@openai-compatible/3" if settings.embed_url else EMBEDDER_ID


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path(".qa")
    chroma_url: str = ""  # empty: embedded persistent Chroma inside index_dir
    collection: str = "qa_chunks"
    chunk_words: int = 120  # MiniLM reads 256 word-pieces; ~120 words stay inside that
    page_chunk_words: int = 200  # the same for a PDF page (mostly short table rows)
    chunk_overlap: int = 1  # lines repeated between neighbouring chunks of one long paragraph
    max_file_mb: float = 50.0
    extract_seconds: float = 60.0  # time limit to extract one PDF/Word/HTML file's text
    max_question_chars: int = 2000  # a longer question is an error, on every backend
    top_k: int = 5
    retrieval: str = "hybrid"  # hybrid | dense
    candidates: int = 20  # per list, before fusion
    rerank: str = "on"  # on | off: reorder candidates by their best-supported line
    embed_batch: int = 32
    embed_url: str = ""  # an OpenAI-compatible /v1/embeddings server instead of the packaged model
    embed_model: str = "all-MiniLM-L6-v2"  # the model name to ask that server for
    threads: int = 0  # CPU threads for the embedder and the local model; 0: every core
    backend: str = "auto"  # auto | openai | local | extractive
    min_support: float = 0.35  # best line support below this: refuse before asking a backend
    min_answerability: float = 0.5  # fitted answerability score needed to answer (README)
    min_line_support: float = 0.3  # a sentence's cited lines must relate this much to the question
    fallback: str = "on"  # on | off: quote the best line when the model's answer fails
    model: str = "gpt-4o-mini"
    openai_base_url: str = ""
    openai_api_key: str = ""
    timeout: float = 60.0
    max_retries: int = 2
    local_model_path: str = ""  # empty: assemble the packaged GGUF into the cache
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "qa")
    max_tokens: int = 256
    prompt_lines: int = 4  # LLM backends: show only this many best-supported lines; 0 = all
    host: str = "127.0.0.1"
    port: int = 7860
    ui_auth: str = ""
    api_port: int = 8000  # `qa api`
    api_key: str = ""  # `qa api`: when set, requests need "Authorization: Bearer <key>"
    upload_mb: float = 10.0
    concurrency: int = 2

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ``QA_<FIELD>`` / ``OPENAI_*`` variables, then explicit overrides."""
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            var = ENV_NAMES.get(f.name, "QA_" + f.name.upper())
            raw = os.environ.get(var)
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("index_dir", "cache_dir"):
            if key in values:
                values[key] = Path(values[key])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def describe(cls, **overrides: object) -> list[dict]:
        """Every setting's effective value and where it came from (flag, environment or
        default), secrets shown as set or not, never their value: what `qa config` prints."""
        effective = cls.from_env(**overrides)
        rows = []
        for f in dataclasses.fields(cls):
            var = ENV_NAMES.get(f.name, "QA_" + f.name.upper())
            origin = ("flag" if overrides.get(f.name) is not None
                      else "environment" if os.environ.get(var) else "default")
            value = getattr(effective, f.name)
            if f.name in SECRETS:
                value = "(set)" if value else "(not set)"
            rows.append({"name": f.name, "variable": var, "value": str(value), "from": origin})
        return rows

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


ENV_NAMES = {
    "openai_base_url": "OPENAI_BASE_URL",
    "openai_api_key": "OPENAI_API_KEY",
    "index_dir": "QA_INDEX_DIR",
}


SECRETS = ("openai_api_key", "api_key", "ui_auth")  # never printed

# Settings that take one of a few words; on/off ones also take the usual boolean spellings.
CHOICES = {
    "retrieval": ("hybrid", "dense"),
    "rerank": ("on", "off"),
    "fallback": ("on", "off"),
    "backend": ("auto", "openai", "local", "extractive"),
}
_SWITCH = {"on": "on", "true": "on", "yes": "on", "1": "on",
           "off": "off", "false": "off", "no": "off", "0": "off"}


def _coerce(f: dataclasses.Field, raw: str) -> object:
    """The variable's text as the field's type, or a one-line error naming the variable."""
    var = ENV_NAMES.get(f.name, "QA_" + f.name.upper())
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "str")
    text = raw.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        what = "a whole number" if kind == "int" else "a number"
        raise InputError(f"{var}={raw!r} is not {what}") from None
    if kind == "Path":
        return Path(text)
    if f.name in CHOICES:
        allowed = CHOICES[f.name]
        value = _SWITCH.get(text.lower(), text.lower()) if allowed == ("on", "off") else \
            text.lower()
        if value not in allowed:
            raise InputError(f"{var}={raw!r} is not one of: {', '.join(allowed)}")
        return value
    return raw
