"""Dashboard under load: ``concord serve`` on loopback over a freshly ingested sample, and a bounded client (a fixed
number of requests, a fixed concurrency) cycling over the proposal list, a proposal page, its report page and the
signer page; requests/s and latency percentiles. With ``baseline_tree`` the same load runs, in the same call, against
a server started from another source tree (e.g. the main branch's checkout) for the ratio.

Run: ``python -m evals.bench_dashboard [--requests 400] [--concurrency 16] [--baseline-tree /path/to/main]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["measure_dashboard", "prepare_data", "run_load"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path, tree: Path | None) -> dict[str, str]:
    env = {**os.environ, "CONCORD_DATA_DIR": str(data_dir.resolve()), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if tree is not None:  # that tree's code, not this one's (``-m`` also puts the working directory first: cwd=tree)
        env["PYTHONPATH"] = str(tree.resolve())
    return env


def prepare_data(data_dir: Path, tree: Path | None = None) -> int:
    """Ingest the bundled sample into ``data_dir`` (``concord ingest sample``); the most discussed proposal's id."""
    subprocess.run([sys.executable, "-m", "bots.cli.main", "ingest", "sample"], env=_env(data_dir, tree), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from evals.faithfulness.reports import most_discussed
    from ingest.core.store import Store

    store = Store.open(f"sqlite:///{(data_dir / 'concord.db').as_posix()}")
    try:
        return int(most_discussed(store, "arbitrum", 1)[0])
    finally:
        store.close()


async def run_load(base_url: str, paths: list[str], *, requests: int, concurrency: int) -> dict[str, Any]:
    """``requests`` GETs cycling over ``paths``, at most ``concurrency`` in flight; rate and latency percentiles."""
    import httpx

    latencies: list[float] = []
    failures = 0
    next_index = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal next_index, failures
        while next_index < requests:
            path = paths[next_index % len(paths)]
            next_index += 1
            started = time.perf_counter()
            response = await client.get(path)
            latencies.append(time.perf_counter() - started)
            failures += response.status_code >= 500

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:
        for path in paths:  # warm-up: templates compiled, caches filled (not counted); every page must be there
            warm = await client.get(path)
            if warm.status_code != 200:
                raise RuntimeError(f"{base_url}{path} answered {warm.status_code}: the load would not measure that page")
        gc.collect()
        gc.freeze()  # the client's own full collections would stall its requests and be read as server latency
        try:
            started = time.perf_counter()
            await asyncio.gather(*(worker(client) for _ in range(concurrency)))
            wall = time.perf_counter() - started
        finally:
            gc.unfreeze()
    ordered = sorted(latencies)
    return {
        "requests": len(latencies), "failures": failures, "requests_s": len(latencies) / wall,
        "p50_ms": statistics.median(ordered) * 1000, "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def _serve_and_load(data_dir: Path, paths: list[str], *, tree: Path | None, requests: int, concurrency: int) -> dict[str, Any]:
    import httpx

    port = _free_port()
    here = Path(__file__).resolve().parents[1]  # this checkout's root
    server = subprocess.Popen([sys.executable, "-m", "bots.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
                              env=_env(data_dir, tree), cwd=tree or here, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/proposals", timeout=30)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"concord serve did not start: {(server.stderr.read() if server.stderr else b'').decode()[-500:]}") from None
                time.sleep(0.2)
        return asyncio.run(run_load(f"http://127.0.0.1:{port}", paths, requests=requests, concurrency=concurrency))
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure_dashboard(workdir: Path, *, requests: int = 400, concurrency: int = 16, baseline_tree: Path | None = None) -> dict[str, Any]:
    """The load run against this tree's server and, when ``baseline_tree`` is given, against that tree's, in turn."""
    data_dir = workdir / "dashboard-data"
    proposal = prepare_data(data_dir)
    paths = ["/proposals", f"/proposals/{proposal}", f"/proposals/{proposal}/report", "/signer"]
    result: dict[str, Any] = {"paths": paths, "concord": _serve_and_load(data_dir, paths, tree=None, requests=requests,
                                                                           concurrency=concurrency)}
    if baseline_tree is not None:  # its own store, ingested by its own code (an older tree may not read a newer schema)
        baseline_dir = workdir / "dashboard-baseline-data"
        subprocess.run([sys.executable, "-m", "bots.cli.main", "ingest", "sample"], env=_env(baseline_dir, baseline_tree),
                       cwd=baseline_tree, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result["baseline"] = _serve_and_load(baseline_dir, paths, tree=baseline_tree, requests=requests, concurrency=concurrency)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--baseline-tree", type=Path, default=None, help="Another checkout to serve for the same load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="concord-dash-") as tmp:
        result = measure_dashboard(Path(tmp), requests=args.requests, concurrency=args.concurrency, baseline_tree=args.baseline_tree)
    print(f"load average {os.getloadavg()}; paths {result['paths']}")
    for name in ("concord", "baseline"):
        if name in result:
            r = result[name]
            print(f"{name:9s} {r['requests_s']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
                  f"{r['requests']} requests, {r['failures']} 5xx")


if __name__ == "__main__":
    main()
