"""Answer backends behind one interface, chosen by ``QA_BACKEND``."""

from __future__ import annotations

from ...config import CHOICES, Settings
from ...errors import InputError
from ...types import Embed
from .base import REFUSAL, Answerer
from .extractive import ExtractiveAnswerer

BACKENDS = CHOICES["backend"]


def resolve_backend(settings: Settings) -> str:
    """``auto`` means openai when an endpoint or key is configured, else the local model."""
    if settings.backend not in BACKENDS:
        choices = ", ".join(BACKENDS)
        raise InputError(f"unknown backend {settings.backend!r}: choose one of {choices}")
    if settings.backend != "auto":
        return settings.backend
    return "openai" if settings.openai_base_url or settings.openai_api_key else "local"


def make_answerer(settings: Settings, embed: Embed) -> Answerer:
    name = resolve_backend(settings)
    if name == "extractive":
        return ExtractiveAnswerer(embed)
    from .llm import ChatModel, LLMAnswerer

    model: ChatModel
    if name == "openai":
        from .openai_chat import OpenAIChatModel

        model = OpenAIChatModel(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value(),
            model=settings.model,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )
    else:
        from .local import LocalChatModel

        model = LocalChatModel(model_path=settings.local_model_path, cache_dir=settings.cache_dir,
                               threads=settings.threads)
    return LLMAnswerer(model, max_tokens=settings.max_tokens, prompt_lines=settings.prompt_lines)


__all__ = ["REFUSAL", "Answerer", "BACKENDS", "make_answerer", "resolve_backend"]
