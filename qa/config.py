"""Every setting in one place: environment variables (``QA_*``, ``OPENAI_*``) over defaults,
typed and validated by pydantic-settings.

``Settings()`` holds the defaults; ``Settings.from_env()`` reads the environment over them. The
README's settings table mirrors the fields; keep both in step. Importing this module loads
pydantic (~0.1 s), which is why the ``qa`` package imports it on first use only: `qa --help`
never pays for it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import InputError

# Stored with an index: vectors from another embedder (or an older, fixed one) are never mixed
# with new ones; a change makes the next ingest embed everything again.
EMBEDDER_ID = "all-MiniLM-L6-v2-int8/3"  # /3: PDF chunks embed their page context


def embedder_id(settings: Settings) -> str:
    """What an index records as its embedder: vectors of two embedders are never mixed."""
    return f"{settings.embed_model}@openai-compatible/3" if settings.embed_url else EMBEDDER_ID


# Settings that take one of a few words; on/off ones also take the usual boolean spellings.
Retrieval = Literal["hybrid", "dense"]
OnOff = Literal["on", "off"]
Backend = Literal["auto", "openai", "local", "extractive"]
OcrEngine = Literal["tesseract", "rapidocr", "off"]
CHOICES: dict[str, tuple[str, ...]] = {
    "ocr": get_args(OcrEngine),
    "retrieval": get_args(Retrieval),
    "rerank": get_args(OnOff),
    "fallback": get_args(OnOff),
    "backend": get_args(Backend),
}
_SWITCH = {"true": "on", "yes": "on", "1": "on", "false": "off", "no": "off", "0": "off"}


def _word(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _switch(value: Any) -> Any:
    return _SWITCH.get(_word(value), _word(value))


Switch = Annotated[OnOff, BeforeValidator(_switch)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", env_ignore_empty=True, frozen=True,
                                      populate_by_name=True, extra="forbid")

    index_dir: Path = Path(".qa")
    chroma_url: str = ""  # empty: embedded persistent Chroma inside index_dir
    # the named set of documents asked and written (qa/index/collections.py)
    collection: str = Field("default", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    chroma_collection: str = "qa_chunks"  # the default collection's; others add "_<name>"
    chunk_words: int = 120  # MiniLM reads 256 word-pieces; ~120 words stay inside that
    page_chunk_words: int = 200  # the same for a PDF page (mostly short table rows)
    chunk_overlap: int = 1  # lines repeated between neighbouring chunks of one long paragraph
    max_file_mb: float = 50.0
    extract_seconds: float = 60.0  # time limit to extract one PDF/Word/HTML file's text
    # reads images and PDF pages without text; eval/bench_ocr.py chose the default
    ocr: Annotated[OcrEngine, BeforeValidator(_word)] = "tesseract"
    ocr_max_pages: int = Field(1000, ge=1)  # a file with more pages to OCR is skipped, saying so
    ocr_max_pixels: int = Field(100_000_000, ge=1)  # a bigger image is skipped before decoding
    max_question_chars: int = 2000  # a longer question is an error, on every backend
    top_k: int = 5
    retrieval: Annotated[Retrieval, BeforeValidator(_word)] = "hybrid"
    candidates: int = 20  # per list, before fusion
    rerank: Switch = "on"  # reorder candidates by their best-supported line
    embed_batch: int = 32
    embed_url: str = ""  # an OpenAI-compatible /v1/embeddings server instead of the packaged model
    embed_model: str = "all-MiniLM-L6-v2"  # the model name to ask that server for
    threads: int = 0  # CPU threads for the embedder and the local model; 0: every core
    backend: Annotated[Backend, BeforeValidator(_word)] = "auto"
    min_support: float = 0.35  # best line support below this: refuse before asking a backend
    min_answerability: float = 0.5  # fitted answerability score needed to answer (README)
    min_line_support: float = 0.3  # a sentence's cited lines must relate this much to the question
    fallback: Switch = "on"  # quote the best line when the model's answer fails
    model: str = "gpt-4o-mini"
    openai_base_url: str = Field("", validation_alias="OPENAI_BASE_URL")
    openai_api_key: SecretStr = Field(SecretStr(""), validation_alias="OPENAI_API_KEY")
    timeout: float = 60.0
    max_retries: int = 2
    local_model_path: str = ""  # empty: assemble the packaged GGUF into the cache
    # the packaged model, and OCR's lines (ocr/)
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "qa")
    max_tokens: int = 256
    prompt_lines: int = 4  # LLM backends: show only this many best-supported lines; 0 = all
    host: str = "127.0.0.1"
    port: int = 7860
    ui_auth: str = ""  # user:password; never printed (SECRETS)
    login_attempts: int = Field(5, ge=1)  # wrong passwords in a row before a login is locked
    login_lock_seconds: float = Field(60.0, ge=0)  # ... for this long (qa.accounts.lockout)
    api_port: int = 8000  # `qa api`
    api_key: SecretStr = SecretStr("")  # `qa api`: requests need "Authorization: Bearer <key>"
    mcp_port: int = 8765  # `qa mcp --http`
    mcp_token: SecretStr = SecretStr("")  # `qa mcp --http`: requests need "Authorization: Bearer"
    upload_mb: float = 10.0
    concurrency: int = Field(2, ge=1)  # answers made at once, by the UI, `qa api` and `qa mcp`
    queue: int = Field(8, ge=0)  # `qa api`: requests that may wait for them; more get a 503

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # the defaults; from_env adds the environment

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ``QA_<FIELD>`` / ``OPENAI_*`` variables, then explicit overrides."""
        # Any: the values are validated by pydantic, whatever the fields' declared types
        given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        try:
            return _FromEnvironment(**given)
        except ValidationError as exc:
            raise InputError(_one_line(exc)) from None

    @classmethod
    def describe(cls, **overrides: object) -> list[dict[str, str]]:
        """Every setting's effective value and where it came from (flag, environment or
        default), secrets shown as set or not, never their value: what `qa config` prints."""
        effective = cls.from_env(**overrides)
        rows = []
        for name in cls.model_fields:
            var = env_name(name)
            origin = ("flag" if overrides.get(name) is not None
                      else "environment" if os.environ.get(var) else "default")
            value = getattr(effective, name)
            if name in SECRETS:
                value = "(set)" if value else "(not set)"
            rows.append({"name": name, "variable": var, "value": str(value), "from": origin})
        return rows

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed, validated like the rest."""
        try:
            return Settings.model_validate({**dict(self), **changes})
        except ValidationError as exc:
            raise InputError(_one_line(exc)) from None


class _FromEnvironment(Settings):
    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)  # no .env file, no secrets folder


SECRETS = ("openai_api_key", "api_key", "mcp_token", "ui_auth")  # never printed


def env_name(field: str) -> str:
    """The variable a field is read from: ``QA_TOP_K``, or its alias (``OPENAI_API_KEY``)."""
    alias = Settings.model_fields[field].validation_alias  # a plain name wherever one is set
    return alias if isinstance(alias, str) and alias else "QA_" + field.upper()


def _one_line(exc: ValidationError) -> str:
    """The first error as ``QA_TOP_K='abc' is not a whole number``, naming the variable."""
    error = exc.errors()[0]
    name = str(error["loc"][0])
    field = next((f for f in Settings.model_fields if name in (f, env_name(f))), name)
    var = env_name(field) if field in Settings.model_fields else name
    raw = os.environ.get(var, error.get("input"))
    kind = error["type"]
    what = ("a whole number" if kind.startswith("int_") else
            "a number" if kind.startswith("float_") else
            f"one of: {', '.join(CHOICES[field])}" if field in CHOICES else
            f"valid: {error['msg']}")
    return f"{var}={raw!r} is not {what}"
