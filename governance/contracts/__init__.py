"""Compiled contract artifacts (ABI + bytecode) shipped with Concord.

``src/`` holds the Solidity sources, ``artifacts/`` the JSON that ``build.js`` writes with solc-js
(``cd governance/contracts && npm ci && node build.js``); ``build.js`` then runs ``governor_abi.js``, which
copies the Governor entries Concord uses into ``ingest/core/governor_abi.json`` (ingestion reads them there, since
it may not import governance). Python never needs Node: it reads the JSON.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ingest.core.errors import NotFoundError

__all__ = ["load_artifact", "load_safe_artifact"]


def load_artifact(name: str) -> dict[str, Any]:
    """Return the compiled artifact ``artifacts/<name>.json`` (keys ``abi``, ``bytecode``)."""
    path = resources.files(__package__).joinpath("artifacts", f"{name}.json")
    if not path.is_file():
        raise NotFoundError(
            f"No compiled contract {name!r} in governance/contracts/artifacts. "
            "Rebuild with `cd governance/contracts && npm ci && node build.js`."
        )
    return json.loads(path.read_text(encoding="utf-8"))


def load_safe_artifact(name: str) -> dict[str, Any]:
    """Return a Safe contract artifact shipped in safe-eth-py, e.g. ``Safe_V1_4_1``."""
    try:
        path = resources.files("safe_eth.eth.contracts.abis").joinpath(f"{name}.json")
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise NotFoundError("safe-eth-py is not installed: pip install 'concord[chain]'") from exc
    if not path.is_file():
        raise NotFoundError(f"safe-eth-py ships no artifact {name!r}; try Safe_V1_4_1 or ProxyFactory_V1_4_1.")
    return json.loads(path.read_text(encoding="utf-8"))
