"""The optional TOML configuration file (`MCP_ROUTER_CONFIG`), validated with pydantic.

    [[endpoints]]                       # a custom OpenAI-compatible endpoint (vLLM, LM Studio, a proxy)
    name = "local-vllm"                 # its provider name in results
    base_url = "http://127.0.0.1:8000/v1"
    api_key_env = "VLLM_API_KEY"        # optional: the variable holding its key (never the key itself)
    supports_assistant_prefix = false
    models = [
      { id = "meta-llama/llama-3.3-70b-instruct", native = "llama-3.3-70b",
        input_price = 0.10, output_price = 0.30, context_length = 131072 },
    ]                                   # prices: USD per 1M tokens; omit them for "unknown"

    [aliases]
    fast = "meta-llama/llama-3.3-70b-instruct"

    [routing]                           # see mcp_router.routing.policy.RoutingPolicy for every knob
    default_model = "auto"
    auto_tier = "standard"
    tiers = { standard = ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"] }   # merged over the defaults
    max_retries = 2
    first_token_timeout_s = 30
    retry_after_cap_s = 5

    [catalog]                           # providers' live model lists (see check_models below too)
    max_age_days = 7                    # a cached list older than this is fetched again at start
    startup_timeout_s = 3               # bound on the lists fetched before the first call (0: none)

    [budgets.default]                   # per metering client ("default" is the stdio client, "*" any other)
    daily_usd = 5
    monthly_usd = 50

Unknown keys are errors (a typo should not silently disable a budget). `[routing] tiers` is merged
over the default tier table (`routing.policy.DEFAULT_TIERS`): a tier it names is replaced, the
others keep their defaults (so redefining `standard` does not take `economy` and `premium` away).
`[files]` says where local files in messages may be read from and whether remote ones are fetched
(`roots = ["/data/docs"]`, `fetch_remote = false`, `max_part_mb = 20`, `max_request_mb = 50`,
`fetch_timeout_s = 10`; see `mcp_router.files`).
`[server]` holds `tokens = {client = "token"}` for HTTP and `admins = ["client"]` (see `ServerSettings`;
its keys are checked too).
Environment variables are described in the README ("Configuration"); `environment.py` checks them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from mcp_router.catalog.models import Endpoint, Model, Pricing, Provenance
from mcp_router.errors import RouterError
from mcp_router.files import MB, FileAccess
from mcp_router.jobs.runner import DEFAULT_MAX_RUNNING
from mcp_router.metering.budgets import BudgetLimit
from mcp_router.providers.config import ProviderConfig, usable
from mcp_router.routing.policy import DEFAULT_TIERS, RoutingPolicy

_MILLION = Decimal(1_000_000)


class ConfigError(RouterError):
    """The configuration file is missing, unreadable or invalid; the message names the key."""


class CorruptDatabase(ConfigError):
    """The usage database file is not a SQLite database (a runtime fault of the data, reported
    with the same one-line fix as configuration problems)."""


class CustomModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[^/\s]+/\S+$")  # vendor/model
    native: str | None = None  # the name the endpoint's API wants (default: the id)
    input_price: Decimal | None = Field(default=None, ge=0)  # USD per 1M tokens
    output_price: Decimal | None = Field(default=None, ge=0)
    context_length: int | None = Field(default=None, gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    capabilities: list[str] = []
    name: str | None = None


class CustomEndpoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    base_url: str = Field(pattern=r"^https?://")
    api_key_env: str | None = None
    supports_assistant_prefix: bool = False
    max_tokens_field: str = "max_tokens"
    models: list[CustomModel] = Field(min_length=1)

    @field_validator("max_tokens_field")
    @classmethod
    def _field(cls, v: str) -> str:
        if v not in ("max_tokens", "max_completion_tokens"):
            raise ValueError("must be max_tokens or max_completion_tokens")
        return v

    def provider_config(self, env: Mapping[str, str]) -> ProviderConfig:
        key = usable(env.get(self.api_key_env)) if self.api_key_env else None
        return ProviderConfig(
            name=self.name,
            protocol="openai",
            base_url=self.base_url.rstrip("/"),
            api_key=SecretStr(key) if key else None,
            max_tokens_field=self.max_tokens_field,  # type: ignore[arg-type]
            supports_assistant_prefix=self.supports_assistant_prefix,
        )


class ServerSettings(BaseModel):
    """`[server]`: what only the server reads. Tokens are secrets: a repr or log line of the
    settings shows `**********`, never the token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tokens: dict[str, SecretStr] = {}  # metering client -> bearer token
    admins: list[str] = []  # clients whose tokens may read every client's usage

    def clients_by_token(self) -> dict[str, str]:
        """{token: client} for the HTTP transport; empty tokens are left out."""
        return {t.get_secret_value(): client for client, t in self.tokens.items() if t.get_secret_value()}


class FilesSettings(BaseModel):
    """`[files]`: local files and remote media in messages (see `mcp_router.files`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    roots: list[Path] = []  # folders local files may be read from (absolute; `~` allowed)
    fetch_remote: bool = False  # fetch remote URLs for providers that take only bytes
    max_part_mb: float = Field(default=20, gt=0)
    max_request_mb: float = Field(default=50, gt=0)
    fetch_timeout_s: float = Field(default=10, gt=0, le=300)

    @field_validator("roots")
    @classmethod
    def _absolute(cls, roots: list[Path]) -> list[Path]:
        out = [r.expanduser() for r in roots]
        relative = [str(r) for r in out if not r.is_absolute()]
        if relative:
            raise ValueError(f"roots must be absolute paths: {', '.join(relative)}")
        return out

    def access(self, extra_roots: Sequence[str | Path] = ()) -> FileAccess:
        """The router's file rules; `extra_roots` come from the server (its folder over stdio)."""
        return FileAccess(
            roots=tuple(self.roots),
            fetch_remote=self.fetch_remote,
            max_part_bytes=int(self.max_part_mb * MB),
            max_request_bytes=int(self.max_request_mb * MB),
            fetch_timeout_s=self.fetch_timeout_s,
        ).with_roots(*extra_roots)


class CatalogSettings(BaseModel):
    """`[catalog]`: how long a provider's cached live model list is trusted before it is fetched
    again at start, and how long start-up may wait for the lists it fetches (local servers'
    always, others when missing or older than `max_age_days`); 0 fetches none at start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_age_days: float = Field(default=7.0, gt=0)
    startup_timeout_s: float = Field(default=3.0, ge=0, le=60)


class JobsSettings(BaseModel):
    """`[jobs]`: how long a finished background job (its result or error) is kept, and how many
    background jobs one client may have running at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keep_hours: float = Field(default=24.0, gt=0, le=24 * 366)
    max_running: int = Field(default=DEFAULT_MAX_RUNNING, ge=1, le=10_000)


class ConversationsSettings(BaseModel):
    """`[conversations]`: how long a stored conversation is kept after its last turn, its caps
    (README "Conversations"; a turn past a cap is refused, never truncated), and how many one
    client keeps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ttl_hours: float = Field(default=168.0, gt=0)
    max_turns: int = Field(default=200, ge=1)
    max_bytes: int = Field(default=64_000_000, ge=1000)
    max_per_client: int = Field(default=1000, ge=1)  # past it a client's least recently updated go


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    files: FilesSettings = FilesSettings()
    catalog: CatalogSettings = CatalogSettings()
    endpoints: list[CustomEndpoint] = []
    aliases: dict[str, str] = {}
    routing: RoutingPolicy = RoutingPolicy()
    budgets: dict[str, BudgetLimit] = {}
    server: ServerSettings = ServerSettings()
    jobs: JobsSettings = JobsSettings()
    conversations: ConversationsSettings = ConversationsSettings()

    @field_validator("routing", mode="before")
    @classmethod
    def _merge_tiers(cls, v: Any) -> Any:
        if isinstance(v, Mapping) and isinstance(v.get("tiers"), Mapping):
            return {**v, "tiers": {**DEFAULT_TIERS, **v["tiers"]}}
        return v

    @field_validator("endpoints")
    @classmethod
    def _unique(cls, v: list[CustomEndpoint]) -> list[CustomEndpoint]:
        names = [e.name for e in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate endpoint names: {', '.join(dupes)}")
        return v

    def provider_configs(self, env: Mapping[str, str]) -> list[ProviderConfig]:
        return [e.provider_config(env) for e in self.endpoints]

    def custom_models(self, existing: Mapping[str, Model]) -> list[Model]:
        """The config's endpoints as catalog models: a known id gains an endpoint, a new id is added."""
        out: dict[str, Model] = {}
        for ep in self.endpoints:
            for cm in ep.models:
                pricing = None
                if cm.input_price is not None or cm.output_price is not None:
                    pricing = Pricing(
                        input=None if cm.input_price is None else cm.input_price / _MILLION,
                        output=None if cm.output_price is None else cm.output_price / _MILLION,
                        provenance=Provenance(source=f"config:{ep.name}"),
                    )
                endpoint = Endpoint(
                    provider=ep.name,
                    native_model=cm.native or cm.id,
                    pricing=pricing,
                    context_length=cm.context_length,
                    max_output_tokens=cm.max_output_tokens,
                )
                base = out.get(cm.id) or existing.get(cm.id.lower())
                if base is None:
                    base = Model(
                        id=cm.id,
                        name=cm.name or cm.id,
                        context_length=cm.context_length,
                        max_output_tokens=cm.max_output_tokens,
                        capabilities=frozenset(cm.capabilities),
                    )
                kept = tuple(e for e in base.endpoints if e.provider != ep.name)
                out[cm.id] = base.model_copy(update={"endpoints": (*kept, endpoint)})
        return list(out.values())


_CONFIG_HINT = "fix it, or unset MCP_ROUTER_CONFIG (examples/mcp-router.toml shows every key)"


def _format_errors(exc: ValidationError, limit: int = 3) -> str:
    """Pydantic's errors on one line: `routing.max_retries: Input should be a valid integer`,
    unknown keys named as such."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"unknown key {loc}" if err["type"] == "extra_forbidden" else f"{loc}: {err['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse_settings(text: str, *, source: str = "<config>") -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} (MCP_ROUTER_CONFIG) is not valid TOML: {exc}; {_CONFIG_HINT}.") from exc
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"{source} (MCP_ROUTER_CONFIG) has invalid settings: {_format_errors(exc)}; {_CONFIG_HINT}."
        ) from exc


def config_file(env: Mapping[str, str] | None = None, path: str | Path | None = None) -> Path | None:
    """The config file `load_settings` reads: `path`, else `MCP_ROUTER_CONFIG`; None for none."""
    env = os.environ if env is None else env
    chosen = path or usable(env.get("MCP_ROUTER_CONFIG"))
    return Path(chosen).expanduser() if chosen else None


def load_settings(env: Mapping[str, str] | None = None, path: str | Path | None = None) -> Settings:
    """Settings from `path`, else `MCP_ROUTER_CONFIG`, else the defaults (no file is fine)."""
    p = config_file(env, path)
    if p is None:
        return Settings()
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"cannot read config file {p} (MCP_ROUTER_CONFIG): {reason}; "
            "point MCP_ROUTER_CONFIG at a readable TOML file or unset it."
        ) from exc
    return parse_settings(text, source=str(p))


class ModelLookup(Protocol):
    """What `check_models` needs of a catalog."""

    def lookup(self, name: str) -> Model | None: ...

    def suggest(self, name: str, n: int = 3) -> list[str]: ...


def _unknown(what: str, name: str, catalog: ModelLookup, verb: str = "names") -> str:
    close = catalog.suggest(name)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    fix = "use an id from `mcp-router models --all`, or remove it"
    return f"{what} {verb} unknown model {name!r}: {hint}{fix}"


def check_models(settings: Settings, catalog: ModelLookup) -> None:
    """Every model the configuration names must resolve in the catalog (the bundled snapshot,
    cached live lists and the config's own endpoint models): the routing default, each tier's
    models and each alias's target. Raises ConfigError listing every unknown one with the fix."""
    problems = []
    routing = settings.routing
    if routing.default_model != "auto" and catalog.lookup(routing.default_model) is None:
        problems.append(_unknown("[routing] default_model", routing.default_model, catalog))
    for tier, ids in sorted(routing.tiers.items()):
        problems += [
            _unknown(f"[routing] tiers.{tier}", i, catalog) for i in ids if catalog.lookup(i) is None
        ]
    for alias, target in sorted(settings.aliases.items()):
        if catalog.lookup(target) is None:
            problems.append(_unknown(f"[aliases] {alias}", target, catalog, "points to"))
    if problems:
        source = "the configuration file (MCP_ROUTER_CONFIG)"
        raise ConfigError(f"{source}: " + "; ".join(problems))
