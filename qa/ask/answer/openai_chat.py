"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp server, Ollama) via ``openai``.

The client retries 429 and 5xx with exponential backoff (``QA_MAX_RETRIES``) and gives up
after ``QA_TIMEOUT`` seconds; every failure becomes one ``BackendError`` line saying what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...errors import BackendError


class OpenAIChatModel:
    name = "openai"

    def __init__(
        self, *, base_url: str, api_key: str, model: str, timeout: float, max_retries: int
    ) -> None:
        self.base_url = base_url or "https://api.openai.com/v1"
        self._api_key = api_key or "not-needed"  # local servers accept any key
        self.model = model
        self._timeout = timeout
        self._max_retries = max_retries
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                base_url=self.base_url,
                api_key=self._api_key,
                timeout=self._timeout,
                max_retries=self._max_retries,
            )
        return self._client

    def chat(self, messages: list[dict], *, max_tokens: int) -> Iterator[str]:
        import openai

        try:
            stream = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=0,
                max_tokens=max_tokens,
                stream=True,
            )
            with stream:  # a reader who stops (the chat's Stop) closes the connection
                for chunk in stream:
                    choices = getattr(chunk, "choices", None)
                    if not choices:
                        continue
                    delta = getattr(choices[0], "delta", None)
                    piece = getattr(delta, "content", None) if delta is not None else None
                    if piece:
                        yield piece
        except openai.APITimeoutError:
            raise BackendError(
                f"{self.base_url} did not answer within {self._timeout:g} s "
                "(raise QA_TIMEOUT or check the server)"
            ) from None
        except openai.APIConnectionError as exc:
            raise BackendError(
                f"cannot reach {self.base_url}: {_cause(exc)} (check OPENAI_BASE_URL)"
            ) from None
        except openai.AuthenticationError:
            raise BackendError(
                f"{self.base_url} rejected the API key (HTTP 401): check OPENAI_API_KEY"
            ) from None
        except openai.RateLimitError:
            raise BackendError(
                f"{self.base_url} is rate-limiting (HTTP 429) after {self._max_retries} retries: "
                "wait, or raise QA_MAX_RETRIES"
            ) from None
        except openai.NotFoundError:
            raise BackendError(
                f"{self.base_url} has no model {self.model!r} (HTTP 404): check QA_MODEL"
            ) from None
        except openai.APIStatusError as exc:
            raise BackendError(
                f"{self.base_url} failed with HTTP {exc.status_code} after "
                f"{self._max_retries} retries: try again later"
            ) from None
        except (openai.APIResponseValidationError, openai.APIError, ValueError) as exc:
            raise BackendError(
                f"{self.base_url} sent a malformed reply ({_cause(exc)}): "
                "is it an OpenAI-compatible chat endpoint?"
            ) from None


def _cause(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__ or exc
    text = str(inner).strip().splitlines()
    return (text[0] if text else type(inner).__name__)[:200]
