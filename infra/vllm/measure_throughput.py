#!/usr/bin/env python3
"""Measure stance-labelling throughput and latency on a GPU machine and write the figures as JSON.

    # vLLM running (infra/vllm/serve.sh): through its OpenAI-compatible API, LoRA selected by name
    python infra/vllm/measure_throughput.py server --url http://127.0.0.1:8000/v1 --model compound-stance \
        --examples .concord/models/compound-stance/test.jsonl --concurrency 32 --out evals/results/throughput-vllm.json
    # no vLLM: transformers on the GPU (+ the adapter)
    python infra/vllm/measure_throughput.py transformers --base /models/SmolLM2-135M-Instruct \
        --adapter .concord/models/compound-stance/adapter --examples ... --out evals/results/throughput-transformers.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from agent.finetune.dataset import load_examples
    from agent.finetune.throughput import measure_server, measure_transformers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    srv = sub.add_parser("server")
    srv.add_argument("--url", required=True)
    srv.add_argument("--model", required=True)
    srv.add_argument("--concurrency", type=int, default=16)
    srv.add_argument("--engine", default="vllm")
    trf = sub.add_parser("transformers")
    trf.add_argument("--base", default="smollm2")
    trf.add_argument("--adapter")
    trf.add_argument("--batch-size", type=int, default=32)
    trf.add_argument("--device", default="auto")
    for p in (srv, trf):
        p.add_argument("--examples", type=Path, required=True, help="a test.jsonl written by `concord finetune train`")
        p.add_argument("--repeat", type=int, default=1, help="label the set this many times (for steadier figures)")
        p.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    examples = load_examples(args.examples) * args.repeat
    if args.mode == "server":
        result = measure_server(args.url, args.model, examples, concurrency=args.concurrency, engine=args.engine)
    else:
        result = measure_transformers(args.base, examples, adapter_dir=args.adapter, batch_size=args.batch_size, device=args.device)
    text = json.dumps(result.as_dict(), indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
