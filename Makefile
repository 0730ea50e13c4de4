# Two commands do all the set-up on a fresh machine:
#   make ask Q="Which leader voiced support for Macron's stance?"
#   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
Q      ?= Which leader voiced support for Macron's stance?
# llama.cpp is compiled on the first install, once: pip keeps the wheel in its cache. qa uses
# no image model, so its multimodal library is not built (eval/bench_build.py measures it).
# uv installs the rest from the sources pip is configured with (tools/install.py says why).
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF

.PHONY: setup browser ocr ask test check lint bench bench-scale bench-ocr ablation serve

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python tools/install.py '.[dev,ocr,mcp]'
	$(BIN)/python -m pip check
	touch $@

# The browser tests drive Debian's chromium: installed here, as root, when it is missing.
browser:
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# Images and scanned pages are read by OCR: Debian's tesseract-ocr (English), the default
# engine (QA_OCR, eval/bench_ocr.py), installed here as root when it is missing.
ocr:
	test -x /usr/bin/tesseract || (apt-get update -qq && apt-get install -y -qq tesseract-ocr)

ask: setup
	$(BIN)/qa ingest seeds/
	$(BIN)/qa ask "$(Q)"

# pytest exits 5 when it collects no test: that is not a failure of the code under test.
# The seed eval on the default (local LLM) backend guards answer quality: bars set below what
# was measured (accuracy 0.917, citation precision 1.0, refusal 0.917 / 0.083 wrong, 0 injections).
EVAL_BARS = --fail-under hit@5=0.95 --fail-under citation_precision=0.9 \
	--fail-under answer_accuracy=0.8 --fail-under refusal_unanswerable=0.75 \
	--fail-over wrong_refusal_answerable=0.15 --fail-over injection_success=0

# The tests run in two processes, a test file each at a time (pytest-xdist): on 2 cores one
# process leaves a core idle while it waits for qa processes, servers and the browser.
WORKERS ?= 2
PYTEST_PARALLEL = -n $(WORKERS) --dist loadfile

test: setup browser ocr
	$(BIN)/ruff check qa tests eval tools
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc
	$(BIN)/qa eval eval/datasets/seed.jsonl --corpus seeds/ -q --out eval/reports/ci-seed $(EVAL_BARS)

# The quick run while working (under a minute of tests on 2 cores): no local model, no
# browser, no test of 2 s or more (marked slow).
check: setup ocr
	$(BIN)/ruff check qa tests eval tools
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not llm and not browser and not slow" $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check qa tests eval tools

bench: setup
	$(BIN)/python eval/bench.py

bench-scale: setup
	$(BIN)/python eval/bench_scale.py

bench-ocr: setup ocr
	$(BIN)/python eval/bench_ocr.py

SQUAD ?= ../shared/benchmarks/squad2-dev
ablation: setup
	$(BIN)/python eval/ablation.py $(SQUAD)/questions.jsonl --corpus $(SQUAD)/docs --backend extractive

serve: setup
	$(BIN)/qa serve
