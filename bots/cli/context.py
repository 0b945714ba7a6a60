"""What every CLI command gets: the settings, a lazily opened store, output options."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from ingest.core.settings import ConcordSettings
from ingest.core.store import Store

if TYPE_CHECKING:
    from bots.services import Services

__all__ = ["CliContext", "get_context", "print_json"]


@dataclass
class CliContext:
    settings: ConcordSettings
    debug: bool = False
    console: Console = field(default_factory=lambda: Console(width=_width()))
    err_console: Console = field(default_factory=lambda: Console(stderr=True, width=_width()))
    _store: Store | None = None
    _services: Services | None = None

    def store(self, *, migrate: bool = True) -> Store:
        """The store, opened on first use (and migrated unless ``migrate=False``)."""
        if self._store is None:
            self._store = Store.open(
                self.settings.effective_database_url,
                migrate=migrate,
                connect_timeout_s=self.settings.database_connect_timeout_s,
                statement_timeout_s=self.settings.database_statement_timeout_s,
            )
        return self._store

    def services(self) -> Services:
        """Every service over this command's store, wired once (the same object the bot and dashboard take)."""
        if self._services is None:
            from bots.services import build_services

            self._services = build_services(self.settings, store=self.store())
        return self._services

    def write_json(self, path: Path, data: Any) -> None:
        """Write a results file (parents created) and say so on stderr."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.err_console.print(f"wrote {path}")


def _width() -> int:
    """The terminal's width, or 140 columns when output goes to a file or pipe."""
    return shutil.get_terminal_size((140, 24)).columns


def get_context(ctx: typer.Context) -> CliContext:
    root = ctx.find_root()
    if not isinstance(root.obj, CliContext):
        raise RuntimeError("CLI context missing: commands must run under the `concord` app")
    return root.obj


def print_json(data: Any) -> None:
    """JSON for scripts: on stdout, nothing else on stdout."""
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
