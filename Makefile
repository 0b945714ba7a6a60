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

test: bootstrap
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint: bootstrap
	.venv/bin/ruff check agent ingest embeddings governance bots evals tests

# Rebuild the bundled sample from ../shared/data (developers only; the output is committed).
sample: bootstrap
	.venv/bin/python -m ingest.sample.build_sample --data ../shared/data

# Mutation testing of the modules that guard money and truth ([tool.mutmut] in pyproject.toml).
# Slow (hours on 2 cores) and not part of CI. `make mutation MUTANTS="governance.audit*"` limits it
# to one module's mutants; `mutmut results` / `mutmut show NAME` then list and show the survivors.
MUTANTS ?=
mutation: bootstrap
	env -u PYTHONPATH nice .venv/bin/mutmut run $(MUTANTS)
	.venv/bin/mutmut results
