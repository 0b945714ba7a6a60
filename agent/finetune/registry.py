"""Tuned models registered by name under ``<data_dir>/models/<name>/`` so configuration can select them.

``settings.llm.lora_adapter = "<name>"`` makes the embedded server load that model's adapter GGUF next to
the base; ``settings.llm.merged_model = "<name>"`` makes it serve the merged GGUF instead. For vLLM the same
name is the ``--lora-modules`` name and the request's ``model``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ingest.core.errors import InputError, NotFoundError
from ingest.core.settings import ConcordSettings

__all__ = [
    "TunedModel",
    "get_model",
    "list_models",
    "models_dir",
    "register_model",
    "resolve_lora_adapter",
    "resolve_merged_model",
    "resolve_tuned_gguf",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


@dataclass
class TunedModel:
    """What a fine-tuning run produced and how it was made."""

    name: str
    base: str
    adapter_dir: str
    adapter_gguf: str | None
    dao: str
    steps: int
    config: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    merged_gguf: str | None = None

    @classmethod
    def from_manifest(cls, path: Path) -> TunedModel:
        """Read a manifest; keys this version does not know are ignored, missing optional ones take defaults."""
        data = json.loads(path.read_text())
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def vllm_lora_module(self) -> str:
        """The ``--lora-modules`` argument for vLLM."""
        return f"{self.name}={self.adapter_dir}"


def models_dir(settings: ConcordSettings) -> Path:
    return settings.data_dir / "models"


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InputError(f"Model name {name!r} is not usable: use lowercase letters, digits, '.', '_' or '-' (e.g. compound-stance).")
    return name


def register_model(settings: ConcordSettings, model: TunedModel) -> Path:
    """Write the model's manifest; return its path."""
    path = models_dir(settings) / _check_name(model.name) / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(model), indent=2, default=str))
    return path


def get_model(settings: ConcordSettings, name: str) -> TunedModel:
    path = models_dir(settings) / _check_name(name) / "manifest.json"
    if not path.exists():
        known = ", ".join(m.name for m in list_models(settings)) or "none yet"
        raise NotFoundError(f"No tuned model named {name!r} in {models_dir(settings)} (known: {known}). Train one with `concord finetune train --name {name}`.")
    return TunedModel.from_manifest(path)


def list_models(settings: ConcordSettings) -> list[TunedModel]:
    root = models_dir(settings)
    return [TunedModel.from_manifest(p) for p in sorted(root.glob("*/manifest.json"))] if root.exists() else []


def resolve_tuned_gguf(models_root: Path, value: str | None, *, kind: str) -> Path | None:
    """The GGUF that ``value`` (a tuned model's name, or a path ending in .gguf) selects; ``kind`` is 'adapter' or 'merged'.

    Names are looked up in ``models_root`` (``<data_dir>/models``); paths are taken as they are.
    """
    if not value:
        return None
    if Path(value).suffix == ".gguf":
        return Path(value)
    if "/" in value or "\\" in value:
        raise InputError(f"{value!r} is neither a tuned model's name nor a .gguf file: name a model from `concord finetune list` or a GGUF path.")
    path = models_root / _check_name(value) / "manifest.json"
    if not path.exists():
        known = ", ".join(p.parent.name for p in sorted(models_root.glob("*/manifest.json"))) or "none yet"
        raise NotFoundError(
            f"No tuned model named {value!r} in {models_root} (known: {known}). Train one with `concord finetune train --name {value}` "
            "or check data_dir."
        )
    model = TunedModel.from_manifest(path)
    if kind == "adapter":
        if not model.adapter_gguf:
            raise InputError(f"Tuned model {value!r} has no adapter GGUF (its base is not the embedded model); serve it with vLLM instead.")
        return Path(model.adapter_gguf)
    if kind == "merged":
        if not model.merged_gguf:
            raise InputError(f"Tuned model {value!r} has no merged GGUF yet: build it with `concord finetune merge {value}`.")
        return Path(model.merged_gguf)
    raise ValueError(f"kind must be 'adapter' or 'merged', not {kind!r}")


def resolve_lora_adapter(settings: ConcordSettings) -> Path | None:
    """The adapter GGUF the embedded server should load for ``settings.llm.lora_adapter`` (a name or a path)."""
    return resolve_tuned_gguf(models_dir(settings), settings.llm.lora_adapter, kind="adapter")


def resolve_merged_model(settings: ConcordSettings) -> Path | None:
    """The merged GGUF the embedded server should serve for ``settings.llm.merged_model`` (a name or a path)."""
    return resolve_tuned_gguf(models_dir(settings), settings.llm.merged_model, kind="merged")
