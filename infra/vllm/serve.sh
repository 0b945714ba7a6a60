#!/usr/bin/env bash
# Start vLLM's OpenAI-compatible server with Concord's config; extra arguments are passed on.
#   infra/vllm/serve.sh                      # uses infra/vllm/config.yaml
#   VLLM_CONFIG=my.yaml infra/vllm/serve.sh --tensor-parallel-size 2
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
config="${VLLM_CONFIG:-$here/config.yaml}"
command -v vllm >/dev/null || { echo "vllm is not installed: pip install vllm (on a CUDA machine)" >&2; exit 2; }
exec vllm serve --config "$config" "$@"
