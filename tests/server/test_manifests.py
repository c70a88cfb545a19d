"""Client manifests load, name the commands that exist, and agree with the server's contract."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from mcp_router.server.app import build_server
from mcp_router.server.transports import ServeConfigError

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MANIFESTS / name).read_text())
    return data


def _command_exists(command: str) -> bool:
    """On PATH, or beside this interpreter (the venv's bin when PATH lacks it)."""
    return shutil.which(command) is not None or (Path(sys.executable).parent / command).exists()


def _stdio_entries(servers: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in servers.values() if "command" in s]


@pytest.mark.parametrize(
    "name", ["claude_desktop_config.json", ".mcp.json", ".cursor/mcp.json", "mcp_config.json"]
)
def test_mcpservers_manifests(name: str) -> None:
    servers = _load(name)["mcpServers"]
    stdio = _stdio_entries(servers)
    assert stdio, name
    for entry in stdio:
        assert _command_exists(entry["command"]), entry["command"]
        assert entry["args"] == ["serve"]
        assert all(k.endswith("_API_KEY") or k == "OLLAMA_HOST" for k in entry.get("env", {}))
    remote = [s for s in servers.values() if "command" not in s]
    url_key = {".mcp.json": "url", ".cursor/mcp.json": "url", "mcp_config.json": "serverUrl"}.get(name)
    if url_key:
        assert remote and all(r[url_key].endswith("/mcp") for r in remote)
        assert all(r["headers"]["Authorization"].startswith("Bearer ") for r in remote)
    if name == ".mcp.json":
        assert all(r["type"] == "http" for r in remote)


def test_vscode_manifest_prompts_for_keys() -> None:
    data = _load(".vscode/mcp.json")
    inputs = {i["id"]: i for i in data["inputs"]}
    assert all(i["type"] == "promptString" and i["password"] is True for i in inputs.values())
    server = data["servers"]["mcp-router"]
    assert server["type"] == "stdio" and _command_exists(server["command"]) and server["args"] == ["serve"]
    for value in server["env"].values():
        assert value.startswith("${input:") and value[len("${input:") : -1] in inputs


def test_mcpb_manifest() -> None:
    import tomllib

    data = _load("manifest.json")
    assert data["manifest_version"] == "0.4"
    server = data["server"]
    # `uv`: the host installs pyproject.toml's dependencies and runs the project from the
    # unpacked bundle (${__dirname}); `python` would need them bundled under server/lib.
    assert server["type"] == "uv"
    assert (ROOT / server["entry_point"]).is_file()
    config = server["mcp_config"]
    assert config["command"] == "uv"
    assert config["args"][:3] == ["run", "--directory", "${__dirname}"]
    script, *rest = config["args"][3:]
    assert rest == ["serve"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert script in scripts and _command_exists(script)  # the project's own console script
    assert not any("PYTHONPATH" in k for k in config["env"])
    user_config = data["user_config"]
    for key in ("openai_api_key", "anthropic_api_key", "gemini_api_key", "openrouter_api_key"):
        assert user_config[key]["sensitive"] is True
    for value in config["env"].values():
        assert value.startswith("${user_config.") and value[len("${user_config.") : -1] in user_config
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
    package = data["packages"][0]
    assert package["registryType"] == "pypi" and package["identifier"] == "mcp-router"
    assert package["transport"] == {"type": "stdio"}
    secrets = {e["name"] for e in package["environmentVariables"] if e["isSecret"]}
    assert {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"} <= secrets
    assert f"mcp-name: {data['name']}" in (ROOT / "README.md").read_text()


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
