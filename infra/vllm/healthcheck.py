#!/usr/bin/env python3
"""Health check for an OpenAI-compatible server (vLLM or Concord's embedded llama.cpp server). Stdlib only.

Checks, in order: GET /health answers 200; GET /v1/models lists every expected model name (the base
``served-model-name`` and each LoRA module); optionally one tiny chat completion on each.
Exit status 0 when healthy, 1 otherwise, with one line per problem on stderr.

    python infra/vllm/healthcheck.py --url http://127.0.0.1:8000 --model smollm2 --model compound-stance --chat
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any


def _request(url: str, *, body: dict[str, Any] | None = None, timeout: float = 10.0) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw.strip() else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


def check(url: str, models: list[str], *, chat: bool = False, timeout: float = 10.0) -> list[str]:
    """Problems found (empty when healthy)."""
    base = url.rstrip("/").removesuffix("/v1")
    problems: list[str] = []
    try:
        status, _ = _request(f"{base}/health", timeout=timeout)
        if status != 200:
            problems.append(f"{base}/health answered {status}")
        status, listing = _request(f"{base}/v1/models", timeout=timeout)
    except (urllib.error.URLError, OSError) as exc:
        return [f"{base} unreachable: {exc}"]
    served = {m.get("id") for m in (listing or {}).get("data", [])} if status == 200 else set()
    if status != 200:
        problems.append(f"{base}/v1/models answered {status}")
    for name in models:
        if name not in served:
            problems.append(f"model {name!r} not served (served: {sorted(x for x in served if x)})")
    if chat and not problems:
        for name in models:
            status, reply = _request(
                f"{base}/v1/chat/completions",
                body={"model": name, "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 4, "temperature": 0},
                timeout=timeout * 6,
            )
            if status != 200 or not (reply or {}).get("choices"):
                problems.append(f"chat completion on {name!r} failed (status {status})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL (with or without /v1)")
    parser.add_argument("--model", action="append", default=[], help="a model name that must be served (repeatable)")
    parser.add_argument("--chat", action="store_true", help="also run one tiny chat completion per model")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    problems = check(args.url, args.model, chat=args.chat, timeout=args.timeout)
    for problem in problems:
        print(f"unhealthy: {problem}", file=sys.stderr)
    if not problems:
        print(f"healthy: {args.url} serves {', '.join(args.model) or 'its models'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
