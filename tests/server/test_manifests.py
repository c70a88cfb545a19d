"""Client manifests load, name the commands that exist, and agree with the server's contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcp_router.providers.config import placeholder_reason
from mcp_router.server.app import build_server
from mcp_router.server.transports import ServeConfigError

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MANIFESTS / name).read_text())
    return data


def _console_scripts() -> dict[str, str]:
    import tomllib

    scripts: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return scripts


def _assert_uvx_serve(entry: dict[str, Any]) -> None:
    """`uvx mcp-llm-router serve`: the published distribution's own console script (GUI clients
    do not inherit the shell's PATH; README "Client setup" says how to use an absolute path)."""
    assert entry["command"] == "uvx"
    assert entry["args"] == ["mcp-llm-router", "serve"]
    assert "mcp-llm-router" in _console_scripts()


def _keys_only(env: dict[str, str]) -> None:
    assert all(k.endswith("_API_KEY") or k == "OLLAMA_HOST" for k in env)


@pytest.mark.parametrize("name", ["claude_desktop_config.json", ".cursor/mcp.json", "mcp_config.json"])
def test_stdio_manifests_start_uvx_and_ship_only_placeholders(name: str) -> None:
    servers = _load(name)["mcpServers"]
    # stdio files carry no entry for an HTTP server that may not be running (see manifests/remote/).
    assert list(servers) == ["mcp-router"] and "url" not in servers["mcp-router"]
    entry = servers["mcp-router"]
    _assert_uvx_serve(entry)
    _keys_only(entry["env"])
    for value in entry["env"].values():
        assert placeholder_reason(value) is not None, value  # an unedited file enables nothing


def test_claude_code_manifest_defaults_unset_variables() -> None:
    # Claude Code leaves an unset ${VAR} as literal text; ${VAR:-} expands to "" instead.
    entry = _load(".mcp.json")["mcpServers"]["mcp-router"]
    _assert_uvx_serve(entry)
    _keys_only(entry["env"])
    for name, value in entry["env"].items():
        assert value == f"${{{name}:-}}"
    assert list(_load(".mcp.json")["mcpServers"]) == ["mcp-router"]


@pytest.mark.parametrize(
    ("name", "url_key"),
    [
        ("remote/.mcp.json", "url"),
        ("remote/.cursor/mcp.json", "url"),
        ("remote/mcp_config.json", "serverUrl"),
    ],
)
def test_remote_manifests(name: str, url_key: str) -> None:
    (remote,) = _load(name)["mcpServers"].values()
    assert "command" not in remote and remote[url_key].endswith("/mcp")
    assert remote["headers"]["Authorization"].startswith("Bearer ")
    if name == "remote/.mcp.json":
        assert (
            remote["type"] == "http" and remote["headers"]["Authorization"] == "Bearer ${MCP_ROUTER_TOKEN:-}"
        )


def test_vscode_manifest_prompts_for_keys() -> None:
    data = _load(".vscode/mcp.json")
    inputs = {i["id"]: i for i in data["inputs"]}
    assert all(i["type"] == "promptString" and i["password"] is True for i in inputs.values())
    server = data["servers"]["mcp-router"]
    assert server["type"] == "stdio"
    _assert_uvx_serve(server)
    for value in server["env"].values():
        assert value.startswith("${input:") and value[len("${input:") : -1] in inputs


def test_mcpb_manifest() -> None:
    data = _load("manifest.json")
    assert data["manifest_version"] == "0.4"
    assert data["name"] == "mcp-llm-router"
    server = data["server"]
    # `uv`: the host installs pyproject.toml's dependencies and runs the entry point from the
    # unpacked bundle (${__dirname}); `python` would need them bundled under server/lib.
    assert server["type"] == "uv"
    assert server["entry_point"] == "server/main.py"
    assert (MANIFESTS / "mcpb" / server["entry_point"]).is_file()  # copied by scripts/build_bundle.py
    config = server["mcp_config"]
    assert config["command"] == "uv"
    assert config["args"] == ["run", "--directory", "${__dirname}", server["entry_point"]]
    assert not any("PYTHONPATH" in k for k in config["env"])
    user_config = data["user_config"]
    for key in ("openai_api_key", "anthropic_api_key", "gemini_api_key", "openrouter_api_key"):
        assert user_config[key]["sensitive"] is True
    for value in config["env"].values():
        assert value.startswith("${user_config.") and value[len("${user_config.") : -1] in user_config
        # A host that leaves an optional value unexpanded must not enable anything with it.
        assert placeholder_reason(value) is not None
    assert {t["name"] for t in data["tools"]} == {
        "complete",
        "list_models",
        "compare",
        "estimate_cost",
        "usage_report",
    }


def test_registry_server_json_matches_readme() -> None:
    data = _load("server.json")
    assert data["$schema"].endswith("/2025-12-11/server.schema.json")
    # The index name `mcp-router` belongs to another project: ours is published as mcp-llm-router.
    assert data["name"].endswith("/mcp-llm-router")
    package = data["packages"][0]
    assert package["registryType"] == "pypi" and package["identifier"] == "mcp-llm-router"
    assert package["transport"] == {"type": "stdio"}
    secrets = {e["name"] for e in package["environmentVariables"] if e["isSecret"]}
    assert {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"} <= secrets
    readme = (ROOT / "README.md").read_text()
    assert f"mcp-name: {data['name']}" in readme
    assert "pip install mcp-llm-router" in readme and "uvx mcp-llm-router serve" in readme


def test_examples_are_valid() -> None:
    from mcp_router.settings import load_settings

    settings = load_settings({}, ROOT / "examples" / "mcp-router.toml")
    assert settings.endpoints[0].name == "local-vllm"
    assert settings.aliases["fast"] == "meta-llama/llama-3.3-70b-instruct"
    assert set(settings.budgets) == {"default", "*"}
    assert set(settings.server.tokens) == {"laptop", "ci"}
    assert "PLACEHOLDER" not in repr(settings) and "PLACEHOLDER" not in str(settings)
    # Its tokens are placeholders the server refuses to serve with.
    tokens = settings.server.clients_by_token()
    assert set(tokens.values()) == {"laptop", "ci"}
    with pytest.raises(ServeConfigError, match="placeholder") as refused:
        build_server(object(), tokens=tokens)
    assert "laptop" in str(refused.value) and "PLACEHOLDER-not" not in str(refused.value)
    for script in ("client.py", "delegate_cheapest.py"):
        compile((ROOT / "examples" / script).read_text(), script, "exec")
