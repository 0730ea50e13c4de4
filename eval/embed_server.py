"""An OpenAI-compatible ``/v1/embeddings`` server of the packaged MiniLM, as an embeddings
machine would run one for ``QA_EMBED_URL`` (real HTTP, real vectors).

    python eval/embed_server.py --port 8002 [--threads N]

The throughput benchmark (``bench_threads.py``) and the tests (``test_embed_server.py``) use it.
"""

from __future__ import annotations

import argparse
from typing import Any


def create_app(*, threads: int = 0, calls: list[int] | None = None) -> Any:
    """The app; ``calls`` (when given) receives the number of texts of each request."""
    from fastapi import FastAPI

    from qa.index.embedding import embed_texts

    app = FastAPI()

    @app.post("/v1/embeddings")
    def embeddings(body: dict) -> dict:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if calls is not None:
            calls.append(len(texts))
        vectors = embed_texts(texts, threads=threads)
        return {"object": "list", "model": body["model"],
                "data": [{"object": "embedding", "index": i, "embedding": v}
                         for i, v in enumerate(vectors)],
                "usage": {"prompt_tokens": 0, "total_tokens": 0}}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=0, help="embedder threads; 0: every core")
    args = parser.parse_args()
    uvicorn.run(create_app(threads=args.threads), host="127.0.0.1", port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main()
