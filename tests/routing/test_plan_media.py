"""Planning requests with images and documents: capabilities, what each wire takes, remote URLs
on byte-only wires, the fetch step's plan surgery (pure; hand-made catalogs)."""

from __future__ import annotations

from random import Random
from typing import Any

from routing_helpers import ManualClock, catalog_of, ep, model

from mcp_router.core import Message, data_url
from mcp_router.routing.filters import ExclusionKind
from mcp_router.routing.health import HealthTracker
from mcp_router.routing.plan import Plan, plan, without
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.requirements import bytes_needed
from mcp_router.routing.types import RouteRequest
from mcp_router.sim.media import pdf, png

PNG_URL = data_url("image/png", png(4, 4))
PDF_URL = data_url("application/pdf", pdf(1))
GIF_URL = data_url("image/gif", b"GIF89a\x04\x00\x04\x00" + b"\x00" * 8)
REMOTE = "https://example.com/cat.png"

CATALOG = catalog_of(
    model("t/text-only", ep("openai", 0.1, 0.1, native="text-only"), caps=("tools",)),
    model("t/seeing", ep("openai", 1, 1, native="seeing"), ep("openrouter", 1, 1), caps=("vision",)),
    model("t/reader", ep("anthropic", 2, 2, native="reader"), caps=("vision", "pdf")),
    model("t/gem", ep("gemini", 1, 1, native="gemini-2.5-flash"), caps=("vision", "pdf")),
    model("t/old-gem", ep("gemini", 1, 1, native="gemini-2.0-flash"), caps=("vision",)),
    model("t/local", ep("ollama", 0, 0, native="llava"), caps=("vision",)),
)
ALL = {"openai", "openrouter", "anthropic", "gemini", "ollama"}


def ask(*parts: dict[str, Any]) -> list[Message]:
    content = [{"type": "text", "text": "What is this?"}, *parts]
    return [Message.model_validate({"role": "user", "content": content})]


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def document(ref: str) -> dict[str, Any]:
    return {"type": "file", "file": {"filename": "r.pdf", "file_data": ref}}


def run(messages: list[Message], models: list[str], *, fetch_remote: bool = False) -> Plan:
    return plan(
        RouteRequest(messages=messages, models=models),
        CATALOG,
        available=ALL,
        health=HealthTracker(ManualClock()),
        policy=RoutingPolicy(),
        rng=Random(1),
        prompt_tokens=10,
        fetch_remote=fetch_remote,
    )


def kept(p: Plan) -> list[str]:
    return [c.model.id for c in p.candidates]


def why(p: Plan) -> dict[str, str]:
    return {e.model: e.reason for e in p.exclusions}


def test_an_image_is_never_planned_to_a_text_only_endpoint() -> None:
    p = run(ask(image(PNG_URL)), ["t/text-only", "t/seeing", "t/reader"])
    assert kept(p) == ["t/seeing", "t/seeing", "t/reader"]
    assert why(p) == {"t/text-only": "lacks capability vision (the request has images)"}
    assert [e.kind for e in p.exclusions] == [ExclusionKind.CAPABILITY]
    assert "lacks capability vision" in str(p.as_dict()["exclusions"])


def test_an_image_under_auto_picks_only_models_that_see() -> None:
    policy = RoutingPolicy(tiers={"standard": ["t/text-only", "t/seeing"]})
    p = plan(
        RouteRequest(messages=ask(image(PNG_URL))),
        CATALOG,
        available=ALL,
        health=HealthTracker(ManualClock()),
        policy=policy,
        rng=Random(1),
    )
    assert set(kept(p)) == {"t/seeing"} and why(p)["t/text-only"].startswith("lacks capability vision")


def test_a_pdf_needs_the_pdf_capability_and_a_wire_that_takes_documents() -> None:
    p = run(ask(document(PDF_URL)), ["t/seeing", "t/reader", "t/gem"])
    assert kept(p) == ["t/reader", "t/gem"]
    assert why(p) == {"t/seeing": "lacks capability pdf (the request has PDF documents)"}
    text_file = run(ask(document("/srv/notes.txt")), ["t/text-only"])  # read into the prompt
    assert kept(text_file) == ["t/text-only"]


def test_a_wire_that_refuses_the_type_is_left_out() -> None:
    p = run(ask(image(GIF_URL)), ["t/gem", "t/reader"])
    assert kept(p) == ["t/reader"] and why(p) == {"t/gem": "gemini does not take image/gif images"}


def test_remote_urls_on_byte_only_wires_need_fetch_remote() -> None:
    models = ["t/local", "t/old-gem", "t/gem", "t/seeing"]
    p = run(ask(image(REMOTE)), models)
    assert kept(p) == ["t/gem", "t/seeing", "t/seeing"]
    assert why(p)["t/local"] == (
        "ollama takes this image only as bytes: set [files] fetch_remote = true, "
        "or pass a local file or a data URL"
    )
    assert why(p)["t/old-gem"].startswith("gemini takes this image only as bytes")
    fetching = run(ask(image(REMOTE)), models, fetch_remote=True)
    assert kept(fetching) == ["t/local", "t/old-gem", "t/gem", "t/seeing", "t/seeing"]
    needs = {
        c.model.id: [p.url for p in bytes_needed(c.provider, c.endpoint.native_model, ask(image(REMOTE)))]
        for c in fetching.candidates
    }
    assert needs == {"t/local": [REMOTE], "t/old-gem": [REMOTE], "t/gem": [], "t/seeing": []}
    inline = run(ask(image(PNG_URL)), models)
    assert kept(inline)[:2] == ["t/local", "t/old-gem"]


def test_without_moves_candidates_to_the_exclusions_with_the_reason() -> None:
    p = run(ask(image(REMOTE)), ["t/local", "t/seeing"], fetch_remote=True)
    dropped = without(p, {("ollama", "t/local"): "https://example.com/cat.png: the server answered HTTP 404"})
    assert kept(dropped) == ["t/seeing", "t/seeing"]
    assert why(dropped) == {"t/local": "https://example.com/cat.png: the server answered HTTP 404"}
    assert without(p, {}) is p


def test_each_endpoint_counts_the_image_by_its_own_wire() -> None:
    tight = catalog_of(
        model("t/claude", ep("anthropic", 1, 1, native="claude", ctx=1200), caps=("vision",)),
        model("t/gemini", ep("gemini", 1, 1, native="gemini-2.5-flash", ctx=1200), caps=("vision",)),
    )
    messages = ask(image(data_url("image/png", png(1000, 1000))))  # anthropic 1334, gemini 1032
    p = plan(
        RouteRequest(messages=messages, models=["t/claude", "t/gemini"]),
        tight,
        available=ALL,
        health=HealthTracker(ManualClock()),
        policy=RoutingPolicy(),
        rng=Random(1),
    )
    assert kept(p) == ["t/gemini"]
    assert why(p)["t/claude"].startswith("context 1200 too small for ~13")
    assert p.prompt_tokens > 1334  # holds and metering estimates take the largest rule
