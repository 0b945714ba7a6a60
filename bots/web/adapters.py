"""Find the services that exist in this checkout and adapt them to the interface protocols.

Each adapter is a few lines of translation; when a service package is absent (or its API is not
the one expected) the field stays None and ``Services.missing`` records why, so pages and bot
replies can say "not available" instead of inventing output.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["discover"]


def _try_import(name: str) -> tuple[Any | None, str | None]:
    try:
        return importlib.import_module(name), None
    except ModuleNotFoundError as exc:
        return None, f"module {exc.name} is not installed in this checkout"
    except Exception as exc:  # noqa: BLE001 - a broken optional service must not stop the dashboard
        return None, f"importing {name} failed: {type(exc).__name__}: {exc}"


def discover(services: Any) -> None:
    """Fill the optional fields of ``services`` (a ``bots.web.services.Services``)."""
    for field, module, builder in (
        ("answerer", "agent.qa", "build_answerer"),
        ("predictor", "agent.predict", "build_predictor"),
        ("reports", "agent.report", "build_report_provider"),
        ("searcher", "embeddings", "build_searcher"),
        ("drafter", "governance.drafting", "build_drafter"),
        ("governance", "governance.service", "build_governance"),
    ):
        mod, why = _try_import(module)
        if mod is None:
            services.missing[field] = why or "unknown"
            continue
        factory = globals().get(f"_adapt_{field}")
        if factory is None:
            services.missing[field] = f"{module} exists but no adapter is wired yet"
            continue
        try:
            setattr(services, field, factory(mod, services))
        except Exception as exc:  # noqa: BLE001 - report why, keep serving what works
            services.missing[field] = f"{module} could not be set up: {type(exc).__name__}: {exc}"
