# The set-up commands of the README: `make demo`, `make test` and `make ui`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect

.PHONY: venv demo ui lint test bench gpu-check ablations lock clean-venv

venv: $(STAMP)

# Pinned versions live in requirements.lock (regenerate with `make lock`); the package itself installs
# editable without dependencies so the lock alone decides every version. uv fetches and unpacks the wheels in
# parallel (the lock's 6 GB, CUDA wheels included, in well under a minute where pip took 2.7 min on a fresh
# machine); where uv cannot reach the index pip's own configuration can (a proxy, a mirror), pip installs the same
# lock. Byte-code is compiled at install, as pip does: where PYTHONDONTWRITEBYTECODE is set, every avsep and dvc
# process would otherwise compile torch's modules again (about 5 s each, minutes over a `dvc repro`).
UV_VERSION := 0.13.8
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -r requirements.lock || \
	  $(BIN)/python -m pip install --quiet --no-deps -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e . || \
	  $(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The main job: the whole DVC pipeline on the built-in world with the demo profile.
demo: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
	@echo "report: $(CURDIR)/reports/index.html (and reports/README.md)"

# The Prefect UI with the deployment build-dataset/rebuild served to it, from params.yaml: one command starts the
# server (port 4200, or a free one; PORT=N picks it), prints the UI's address and stops the server on Ctrl-C.
ui: venv
	$(BIN)/avsep serve --with-server $(if $(PORT),--port $(PORT))

# The papers' ablations, after `make demo` (not part of it: about 2 minutes a line on 2 CPU cores): each line
# of ablations.tsv trains MODEL with one override into data/ablations/KEY (a line already trained is skipped)
# and writes reports/metrics/MODEL.VARIANT.json, a row of the report's ablation tables; then the report. The
# evaluation reads the line's last stage (MSSL's avc_only and multitask modes stop after stage one).
ABLATIONS ?= ablations.tsv
ablations: venv
	grep -v '^#' $(ABLATIONS) | while IFS='	' read -r key model override variant; do \
	  test -f data/ablations/$$key/trained || { $(BIN)/avsep train $$model --set "$$override" --set train.progress=false \
	    --checkpoints data/ablations/$$key --logs dvclive/ablations/$$key && touch data/ablations/$$key/trained; } || exit 1; \
	  $(BIN)/avsep evaluate $$model --set "$$override" --checkpoint data/ablations/$$key \
	    --variant "$$variant" --figures-dir reports/figures/ablations --no-progress || exit 1; \
	done
	$(BIN)/avsep report

# Style and types (settings in pyproject.toml), then the tests.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Every core, at most 4 workers (each starts its own Prefect server and renders its own tiny world);
# TEST_WORKERS=0 runs in one process, e.g. to read a test's output in order.
TEST_WORKERS ?= auto
test: lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --maxprocesses 4

bench: venv
	$(BIN)/avsep bench decode
	$(BIN)/avsep bench features

# The GPU check (docs/reproduce.md, "The GPU check"): every method's training step at the paper profile with the
# frames decoded in the loader workers and on the GPU, and the loader at paper resolution, in about 8 minutes;
# writes reports/benchmarks/gpu-check.json. GPU_CHECK="--device cpu --small" runs the same steps on a CPU.
gpu-check: venv
	scripts/gpu-check $(GPU_CHECK)

lock:
	$(PYTHON) -m venv /tmp/avsep-lock-venv
	/tmp/avsep-lock-venv/bin/pip install --quiet -e .
	/tmp/avsep-lock-venv/bin/pip install --quiet --no-deps tinysoundfont==0.3.7  # its pyaudio dep is playback only
	/tmp/avsep-lock-venv/bin/pip freeze --exclude-editable | grep -v '^avsep' > requirements.lock

clean-venv:
	rm -rf $(VENV)
