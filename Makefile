# The two commands the README opens with. Each bootstraps .venv idempotently.
.PHONY: demo test bootstrap lint sample mutation

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
CONCORD := .venv/bin/concord

bootstrap:
	@bash infra/bootstrap.sh

demo: bootstrap
	$(CONCORD) init
	$(CONCORD) ingest sample
	$(CONCORD) status
	$(CONCORD) report 0x66b953a7cf4de9f6de54e6eb87ae291b5cc62f12c7fed68eba91043607883221 --dao arbitrum
	$(CONCORD) serve

# The suite runs on every core (pytest-xdist). Each test file runs whole on one worker, in order: its module
# fixtures (a deployed chain, a loaded model) are built once, and tests in one file that share a Redis queue or
# lock never overlap. PYTEST_WORKERS=0 runs it in this one process.
PYTEST_WORKERS ?= logical
test: bootstrap
	.venv/bin/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: bootstrap
	.venv/bin/ruff check agent ingest embeddings governance bots evals tests

# Rebuild the bundled sample from ../shared/data (developers only; the output is committed).
sample: bootstrap
	.venv/bin/python -m ingest.sample.build_sample --data ../shared/data

# Mutation testing of the modules that guard money and truth, one module at a time against its fast tests
# (evals/mutation.py: MODULES). Not part of CI. `make mutation MODULE=bots/web/security.py` runs one module;
# `make mutation` runs them all (an hour or more on 2 busy cores), then prints the per-module table.
# Survivors: `cd .mutation/<module> && mutmut show NAME`; after adding tests: `python -m evals.mutation rerun MODULE`.
MODULE ?=
mutation: bootstrap
	.venv/bin/python -m evals.mutation run $(MODULE)
	.venv/bin/python -m evals.mutation score --out evals/results/mutation.json
