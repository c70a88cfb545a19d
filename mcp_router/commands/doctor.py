"""`mcp-router doctor`: where every error message sends people, so it never crashes. It lists
the problems in the environment (each with its fix), checks each provider's key with one cheap
authenticated request, and shows the catalog's age, the database, and endpoints cooling down."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mcp_router.api.catalog_report import live_lists, render_live_lists
from mcp_router.commands.info import _env


def _parse_time(value: object) -> datetime | None:
    """An ISO time or date from a file we wrote; naive values are UTC."""
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 1)


def catalog_ages(meta: Mapping[str, Any], providers: Sequence[str], now: datetime) -> dict[str, Any]:
    """Per configured provider: its last live model list (`meta.fetched_at`, from `catalog
    refresh` or a serving router's refresh, cached in catalog.db), else the bundled snapshot."""
    built = _parse_time(meta.get("snapshot_date"))
    fetched = meta.get("fetched_at")
    fetched = fetched if isinstance(fetched, Mapping) else {}
    out: dict[str, Any] = {}
    for name in sorted(providers):
        live = _parse_time(fetched.get(name))
        stamp = live or built
        out[name] = {
            "source": "live" if live else "snapshot",
            "as_of": stamp.isoformat() if stamp else None,
            "age_s": _seconds(now - stamp) if stamp else None,
        }
    return out


def cooldowns(health: Mapping[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Endpoints still cooling down, from the state a router persisted in health.json."""
    out = []
    for e in health.get("endpoints", []):
        until = _parse_time(e.get("cooling_down_until")) if isinstance(e, Mapping) else None
        if until is None or until <= now:
            continue
        since = _parse_time(e.get("changed_at"))
        out.append(
            {
                "provider": e.get("provider"),
                "model": e.get("model"),
                "until": until.isoformat(),
                "frees_in_s": _seconds(until - now),
                "since": since.isoformat() if since else None,
                "age_s": _seconds(now - since) if since else None,
                "error_rate": e.get("error_rate"),
                "p50_latency_ms": e.get("p50_latency_ms"),
            }
        )
    return sorted(out, key=lambda c: c["until"])


async def doctor_command(
    env: Mapping[str, str] | None = None,
    *,
    timeout_s: float = 5.0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """The report (`render_doctor` prints it). `problems` lists what needs fixing; an empty list
    and every provider `ok` mean all is well."""
    from mcp_router.environment import env_problems
    from mcp_router.metering.ops import describe_store
    from mcp_router.metering.paths import default_home, default_store_location
    from mcp_router.routing.health_file import FILE_NAME, read_health_file

    env = _env(env)
    found = env_problems(env, router=True, serve=True)
    problems = [str(p) for p in found] + _placeholder_problems(env)
    home = default_home(env)
    part = await _router_part(env, timeout_s, problems, build_router=not found)
    at = now()
    meta = part["meta"]
    stamp = _parse_time(meta.get("snapshot_date"))
    try:
        health = read_health_file(home / FILE_NAME)
    except Exception as exc:  # doctor reports, it does not fail
        problems.append(f"cannot read {home / FILE_NAME}: {exc}")
        health = {}
    return {
        "problems": problems,
        "providers": part["providers"],
        "catalog": {
            "models": part["models"],
            "built": meta.get("snapshot_date"),
            "age_days": round((at - stamp).total_seconds() / 86400, 1) if stamp else None,
            "providers": catalog_ages(meta, list(part["providers"]), at),
            "live": live_lists(part["catalog"], list(part["providers"]), at),
        },
        "home": str(home),
        "database": describe_store(default_store_location(env)),
        "health_file": {"path": str(home / FILE_NAME), "written_at": health.get("written_at")},
        "cooldowns": cooldowns(health, at),
    }


def _database_lines(db: Mapping[str, Any]) -> list[str]:
    """Backend, its version, where, size and migration level (README "Several routers on
    PostgreSQL")."""
    head = f"database: {db.get('backend', 'sqlite')} {db.get('version', '?')} at {db['path']}"
    if "error" in db:
        return [head, f"  cannot be read: {db['error']}"]
    level = f"migration {db.get('migration', '?')}/{db.get('latest_migration', '?')}"
    return [f"{head} ({db.get('bytes', 0):,} bytes), {level}"]


def _placeholder_problems(env: Mapping[str, str]) -> list[str]:
    from mcp_router.providers.config import placeholder_settings

    return [
        f"{var} is {reason}, so it is ignored: set the real value or remove the setting"
        for var, reason in placeholder_settings(env).items()
        if reason != "empty"  # an empty value is how templates leave a provider off
    ]


async def _router_part(
    env: Mapping[str, str], timeout_s: float, problems: list[str], *, build_router: bool
) -> dict[str, Any]:
    """Provider checks and catalog figures from the router `serve` would build; when it cannot
    be built (the reason joins `problems`), from adapters built alone and the bundled catalog."""
    from mcp_router.commands.errors import cli_error
    from mcp_router.commands.keycheck import check_providers
    from mcp_router.router import Router

    if build_router:
        try:
            router = Router.from_env(env)
        except Exception as exc:  # any failure is a finding to report, not a crash
            mapped = cli_error(exc, env)
            problems.append(mapped.message if mapped is not None else f"{type(exc).__name__}: {exc}")
        else:
            async with router:
                return {
                    "providers": await check_providers(router.adapters, timeout_s),
                    "meta": dict(router.catalog.meta),
                    "models": len(router.catalog),
                    "catalog": router.catalog,
                }
    return await _standalone_part(env, timeout_s)


async def _standalone_part(env: Mapping[str, str], timeout_s: float) -> dict[str, Any]:
    from mcp_router.catalog.catalog import Catalog
    from mcp_router.commands.keycheck import check_providers
    from mcp_router.providers.config import providers_from_env
    from mcp_router.providers.factory import build_adapters
    from mcp_router.providers.http import make_http_client
    from mcp_router.settings import ConfigError, load_settings

    try:
        custom = load_settings(env).provider_configs(env)
    except ConfigError:
        custom = []  # already among the problems
    catalog = Catalog.load_bundled()
    async with make_http_client() as http:
        adapters = build_adapters([*providers_from_env(env), *custom], http)
        providers = await check_providers(adapters, timeout_s)
    return {"providers": providers, "meta": dict(catalog.meta), "models": len(catalog), "catalog": catalog}


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def render_doctor(report: Mapping[str, Any]) -> str:
    problems = report.get("problems", [])
    lines = ["problems:" + ("" if problems else " none")]
    lines += [f"  {p}" for p in problems]
    lines.append("providers:")
    lines += [f"  {name:<12} {state}" for name, state in report["providers"].items()] or [
        '  (none configured: set a key such as OPENAI_API_KEY, see README "Configuration")'
    ]
    cat = report["catalog"]
    lines += render_live_lists(cat["live"])
    lines += [
        f"  {name:<12} {'live list' if a['source'] == 'live' else 'snapshot'}, {_age(a['age_s'])} old"
        for name, a in cat.get("providers", {}).items()
    ]
    lines += _database_lines(report["database"])
    cool = report["cooldowns"]
    lines.append("cooldowns:" + ("" if cool else " none"))
    lines += [
        f"  {c['model']} via {c['provider']}: until {c['until']} (frees in {_age(c['frees_in_s'])}, "
        f"opened {_age(c['age_s'])} ago)"
        for c in cool
    ]
    return "\n".join(lines)
