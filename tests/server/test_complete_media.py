"""Images and files through the MCP `complete` tool, against the simulator, on every wire
protocol: by URL, by data URL, by local path, and a PDF; local files outside the roots refused;
images never planned to text-only endpoints; bytes never in the tool result."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.client import Client

from mcp_router.bootstrap import owning
from mcp_router.catalog.catalog import Catalog
from mcp_router.core import data_url
from mcp_router.fetch import RemoteFetcher
from mcp_router.files import FileAccess
from mcp_router.metering.store import SqliteStore
from mcp_router.metering.writer import MeterWriter
from mcp_router.providers.config import providers_from_env
from mcp_router.providers.factory import build_adapters
from mcp_router.providers.http import make_http_client
from mcp_router.router import Router
from mcp_router.server.app import build_server
from mcp_router.sim import Simulator
from mcp_router.sim.media import pdf, png

pytestmark = pytest.mark.anyio

PNG = png(2, 3)
PDF = pdf(2)
B64_PNG = base64.b64encode(PNG).decode()
B64_PDF = base64.b64encode(PDF).decode()
REMOTE_PNG = "https://images.example.com/cat.png"
PUBLIC = "93.184.216.34"

# protocol -> (model id, provider, native model the simulator records it under)
WIRES = {
    "openai": ("openai/gpt-4o-mini", "openai", "gpt-4o-mini"),
    "anthropic": ("anthropic/claude-haiku-4.5", "anthropic", "claude-haiku-4-5"),
    "gemini": ("google/gemini-2.5-flash", "gemini", "gemini-2.5-flash"),
    "ollama": ("ollama/llava", "ollama", "llava:latest"),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    (root / "cat.png").write_bytes(PNG)
    (root / "report.pdf").write_bytes(PDF)
    return root


def mock_fetches(request: httpx2.Request) -> httpx2.Response:
    """The only 'internet' these tests have: one image at one public address."""
    if str(request.url) == f"https://{PUBLIC}/cat.png" and request.headers["host"] == "images.example.com":
        return httpx2.Response(200, content=PNG)
    return httpx2.Response(404)


async def public_dns(host: str, port: int) -> list[str]:
    return [PUBLIC]


@pytest.fixture
async def router(tmp_path: Path, folder: Path) -> AsyncIterator[tuple[Router, Simulator]]:
    """A router over every simulated provider (Ollama with a vision model), reading local files
    under `folder` and fetching remote images for byte-only wires from a mock internet."""
    sim = Simulator()
    sim.add_model("ollama", "llava:latest", context_length=32768, family="llava")
    async with sim.running():
        http = make_http_client()
        fetch_client = httpx2.AsyncClient(transport=httpx2.MockTransport(mock_fetches))
        access = FileAccess(roots=(folder,), fetch_remote=True)
        store = SqliteStore(tmp_path / "usage.db")
        router = Router(
            Catalog.load_bundled(),
            build_adapters(providers_from_env(sim.env()), http),
            meter=MeterWriter(store),
            store=store,
            resources=owning(http, fetch_client),
            files=access,
            fetcher=RemoteFetcher(access, fetch_client, public_dns),
        )
        async with router:
            await router.refresh_catalog()  # Ollama's list says which of its models see
            yield router, sim


def ask(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, *parts]}]


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def document(ref: str) -> dict[str, Any]:
    return {"type": "file", "file": {"filename": "report.pdf", "file_data": ref}}


async def complete(router: Router, args: dict[str, Any]) -> Any:
    async with Client(build_server(router)) as client:
        return await client.call_tool("complete", args)


def on(wire: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    model, provider, _ = WIRES[wire]
    return {"messages": messages, "model": model, "provider": {"only": [provider]}, "max_tokens": 60}


def no_bytes(result: Any) -> None:
    everything = json.dumps(result.structured_content) + "".join(c.text for c in result.content)
    assert B64_PNG[:24] not in everything and B64_PDF[:24] not in everything


@pytest.mark.parametrize("wire", list(WIRES))
@pytest.mark.parametrize("source", ["url", "data_url", "local_path", "file_url"])
async def test_an_image_reaches_every_wire(
    router: tuple[Router, Simulator], folder: Path, wire: str, source: str
) -> None:
    r, sim = router
    url = {
        "url": REMOTE_PNG,
        "data_url": data_url("image/png", PNG),
        "local_path": str(folder / "cat.png"),
        "file_url": (folder / "cat.png").as_uri(),
    }[source]
    result = await complete(r, on(wire, ask(image(url))))
    assert not result.is_error, result.content
    out = result.structured_content
    _, provider, native = WIRES[wire]
    assert out["provider"] == provider
    passed_by_url = source == "url" and wire in ("openai", "anthropic", "gemini")
    assert (" url]" if passed_by_url else "[saw image/png 2x3]") in out["text"]
    # Billed from the provider's usage, which counts the image by its own rule (a 2x3 PNG: OpenAI's
    # gpt-4o-mini 2833 + 5667 a tile, Anthropic 1, Gemini 258, Ollama 576; Anthropic counts a URL
    # it fetched at its size, 1092x1092 for the simulator).
    image_tokens = {"openai": 8500, "anthropic": 1590 if passed_by_url else 1, "gemini": 258, "ollama": 576}
    assert out["usage"]["input_tokens"] > image_tokens[wire]
    no_bytes(result)
    sent = sim.requests(provider, native)[-1].body
    assert sent is not None
    wire_text = json.dumps(sent)
    if passed_by_url:
        assert REMOTE_PNG in wire_text and B64_PNG not in wire_text
    else:
        assert B64_PNG in wire_text and str(folder) not in wire_text


@pytest.mark.parametrize("wire", ["openai", "anthropic", "gemini"])
async def test_a_pdf_reaches_every_wire_that_reads_documents(
    router: tuple[Router, Simulator], folder: Path, wire: str
) -> None:
    r, _ = router
    result = await complete(r, on(wire, ask(document(str(folder / "report.pdf")))))
    assert not result.is_error, result.content
    assert "[saw application/pdf 2p]" in result.structured_content["text"]
    no_bytes(result)


async def test_ollama_is_never_sent_a_pdf(router: tuple[Router, Simulator], folder: Path) -> None:
    r, sim = router
    result = await complete(r, on("ollama", ask(document(str(folder / "report.pdf")))))
    assert result.is_error
    text = result.content[0].text
    assert "ollama/llava via ollama: lacks capability pdf (the request has PDF documents)" in text
    assert sim.hits("ollama", "llava:latest") == 0


async def test_a_path_outside_the_roots_is_refused(router: tuple[Router, Simulator], tmp_path: Path) -> None:
    r, sim = router
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    result = await complete(r, on("openai", ask(image(str(secret)))))
    assert result.is_error
    text = result.content[0].text
    assert str(secret) in text and "outside the folders local files may be read from" in text
    assert sim.hits("openai", "gpt-4o-mini") == 0


async def test_an_image_is_never_planned_to_a_text_only_endpoint(router: tuple[Router, Simulator]) -> None:
    r, sim = router
    refused = await complete(
        r, {"messages": ask(image(data_url("image/png", PNG))), "model": "deepseek/deepseek-chat"}
    )
    assert refused.is_error
    assert "deepseek/deepseek-chat via deepseek: lacks capability vision" in refused.content[0].text
    chain = {
        "messages": ask(image(data_url("image/png", PNG))),
        "models": ["deepseek/deepseek-chat", "openai/gpt-4o-mini"],
        "provider": {"ignore": ["openrouter"]},
    }
    answered = await complete(r, chain)
    assert not answered.is_error, answered.content
    attempts = answered.structured_content["attempts"]
    assert [(a["model"], a["provider"]) for a in attempts] == [("openai/gpt-4o-mini", "openai")]
    assert sim.hits("deepseek", "deepseek-chat") == 0


async def test_a_remote_image_a_byte_only_wire_cannot_fetch_is_left_out(
    router: tuple[Router, Simulator],
) -> None:
    r, sim = router
    result = await complete(r, on("ollama", ask(image("https://images.example.com/missing.png"))))
    assert result.is_error
    assert "the server answered HTTP 404" in result.content[0].text
    assert sim.hits("ollama", "llava:latest") == 0


async def test_compare_takes_parts_too(router: tuple[Router, Simulator], folder: Path) -> None:
    r, _ = router
    async with Client(build_server(r)) as client:
        result = await client.call_tool(
            "compare",
            {
                "messages": ask(image(str(folder / "cat.png"))),
                "models": ["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"],
                "max_tokens": 40,
            },
        )
    assert not result.is_error, result.content
    texts = [e["text"] for e in result.structured_content["results"]]
    assert len(texts) == 2 and all("[saw image/png 2x3]" in t for t in texts)
    no_bytes(result)


async def test_sixteen_concurrent_calls_with_local_images(
    router: tuple[Router, Simulator], folder: Path
) -> None:
    import anyio

    r, sim = router
    wires = ["openai", "anthropic", "gemini", "ollama"] * 4
    results: list[Any] = []
    async with Client(build_server(r)) as client:

        async def one(wire: str) -> None:
            results.append(await client.call_tool("complete", on(wire, ask(image(str(folder / "cat.png"))))))

        async with anyio.create_task_group() as tg:
            for wire in wires:
                tg.start_soon(one, wire)
    assert [res.is_error for res in results] == [False] * 16
    assert all("[saw image/png 2x3]" in res.structured_content["text"] for res in results)
    assert sum(sim.hits(p, n) for _, p, n in WIRES.values()) == 16
