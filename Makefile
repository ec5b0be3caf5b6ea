# Two entry points do all set-up on a fresh machine:
#   make all   - build the corpus, train configs/default.yaml into $(MODEL) (MLflow in ./mlflow.db), clean the
#                seed documents with it; the shipped models/default is never overwritten
#   make test  - lint (ruff, import contracts), type-check and run the whole test suite (plain `pytest`
#                runs only the fast tests)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CONFIG ?= configs/default.yaml
MODEL ?= runs/models/default
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MLFLOW_DISABLE_TELEMETRY=true
export TOKENIZERS_PARALLELISM=false

.PHONY: all setup corpus train seeds test lint dist fuzz load-test

all: setup corpus train seeds

# torch first, from the CPU wheel on disk, so nothing pulls the CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[train,transformer,serve,dev,onnx,clean,ray,datatrove]"
	touch $@

setup: $(VENV)/.installed

corpus: setup
	$(VENV)/bin/storysplit corpus $(CONFIG)

# One OpenMP thread, as the shipped model was trained: torch's sums depend on the thread count, and
# a second thread mostly waited on this 2-core machine.
train: setup
	OMP_NUM_THREADS=1 $(VENV)/bin/storysplit train $(CONFIG) --set training.output_dir=$(MODEL)
	@echo "trained model: $(MODEL) (git-ignored; the shipped models/default is unchanged)"

seeds: setup
	mkdir -p runs/seeds-cleaned
	$(VENV)/bin/storysplit segment ../shared/seeds --model $(MODEL) --output runs/seeds-cleaned --keep-removed

# mypy and lint-imports walk folders: they run on the package as installed, assembled from the
# top-level folders by tools/package_tree.py (pyproject's package-dir), and report the checkout's paths.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tools/package_tree.py lint-imports --no-cache
	$(PY) tools/package_tree.py mypy

test: lint
	$(VENV)/bin/pytest -m "slow or not slow"

# The sdist and, from it, the wheel, as a release builds them; the wheel carries the default model.
dist: setup
	$(PY) -m build --outdir dist

# Reliability runs (docs/reliability.md): coverage-guided fuzzing for a fixed budget, then a load test
# of `storysplit serve`. Crashing inputs land in fuzz/crashes/, new coverage in fuzz/corpus/.
FUZZ_SECONDS ?= 600
fuzz: setup
	mkdir -p fuzz/corpus fuzz/crashes
	$(PY) fuzz/fuzz_segment.py -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=8192 \
		-artifact_prefix=fuzz/crashes/ -print_final_stats=1 fuzz/corpus fuzz/seeds

LOAD_CLIENTS ?= 16
LOAD_SECONDS ?= 60
load-test: setup
	mkdir -p runs
	$(PY) benchmarks/load_test.py --clients $(LOAD_CLIENTS) --seconds $(LOAD_SECONDS) --json runs/load-test.json
