"""`Simulator`: every simulated provider behind one loopback HTTP server.

sim = Simulator()
async with sim.running():                  # in the current event loop
    client = openai.AsyncOpenAI(base_url=sim.url("openai"), api_key=sim.key("openai"))
with sim.in_thread():                       # from a background thread, for sync code
    ...
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog

from mcp_router.sim import anthropic, gemini, ollama, openai, openai_models, openrouter
from mcp_router.sim.catalogue import DEFAULT_MODELS, ENV_NAMES, provider_url, sim_key
from mcp_router.sim.engine import dumps
from mcp_router.sim.http import Conn, HttpServer, Request
from mcp_router.sim.state import Fault, HitWaiter, ModelProfile, ServedModel, SimRequest, SimState

_log = structlog.get_logger("mcp_router.sim")


def _normalize(provider: str, model: str) -> str:
    return ollama.normalize(model) if provider == "ollama" else model


class Simulator:
    """Simulated LLM providers on 127.0.0.1, each speaking its real wire format."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, catalogue: bool = True) -> None:
        self._host = host
        self._port = port
        self._state = SimState()
        self._server: HttpServer | None = None
        if catalogue:
            for provider, models in DEFAULT_MODELS.items():
                for name, (listing, profile) in models.items():
                    self.add_model(provider, name, profile, **listing)

    # -- addresses and keys ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running: use `running()` or `in_thread()`")
        return self._server.port

    @property
    def root_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def url(self, provider: str) -> str:
        """Base URL for `provider` by its official SDK's convention."""
        return provider_url(self.root_url, provider)

    def key(self, provider: str) -> str:
        """The API key the simulator accepts for `provider` ("" for keyless Ollama)."""
        return sim_key(provider)

    def env(self) -> dict[str, str]:
        """Environment variables that enable every simulated provider."""
        out: dict[str, str] = {}
        for provider, prefix in ENV_NAMES.items():
            out[f"{prefix}_API_KEY"] = self.key(provider)
            out[f"{prefix}_BASE_URL"] = self.url(provider)
        out["OLLAMA_HOST"] = self.root_url
        return out

    # -- models and behaviour ----------------------------------------------------------------------
    def add_model(
        self,
        provider: str,
        model: str,
        profile: ModelProfile | None = None,
        *,
        aliases: tuple[str, ...] | list[str] = (),
        **listing: Any,
    ) -> None:
        """Serve (or replace) `model` at `provider`, also under `aliases` (names the provider
        answers to; listed too when `list_aliases=True`, as Mistral and OpenAI list theirs).
        `listing` feeds the model lists: context_length, max_output_tokens, input_price /
        output_price / cache_read_price / cache_write_price (USD per 1M tokens), display_name,
        ... A prompt over context_length gets the context error."""
        name = self._name(provider, model)
        if name != _normalize(provider, model):  # an alias: replace the model behind it
            behind = self._state.get(provider, name)
            aliases = (*(behind.aliases if behind is not None else ()), *aliases)
        served = ServedModel(
            provider, name, profile or ModelProfile(), dict(listing), tuple(dict.fromkeys(aliases))
        )
        self._state.add(served)

    def remove_model(self, provider: str, model: str) -> None:
        self._state.remove(provider, _normalize(provider, model))

    def models(self, provider: str) -> list[str]:
        """The names `provider` serves models under (not their aliases)."""
        return [m.name for m in self._state.listing(provider)]

    def profile(self, provider: str, model: str) -> ModelProfile:
        return self._served(provider, model).profile

    def set_profile(
        self,
        provider: str,
        model: str,
        *,
        latency_ms: float = 0,
        ttft_ms: float = 0,
        tokens_per_s: float | None = None,
        **more: Any,
    ) -> None:
        """Timing of one model: latency before headers, extra delay before the first content chunk,
        pacing of chunks. Other ModelProfile fields (reasoning_tokens, reply) may be passed too."""
        served = self._served(provider, model)
        served.profile = dataclasses.replace(
            served.profile, latency_ms=latency_ms, ttft_ms=ttft_ms, tokens_per_s=tokens_per_s, **more
        )

    def _name(self, provider: str, model: str) -> str:
        """The served name behind `model` (an alias or an Ollama name without its tag)."""
        return self._state.resolve(provider, _normalize(provider, model))

    def _served(self, provider: str, model: str) -> ServedModel:
        served = self._state.get(provider, _normalize(provider, model))
        if served is None:
            raise KeyError(f"the simulator does not serve {model!r} at {provider!r}")
        return served

    def script(self, provider: str, model: str, *faults: Fault) -> None:
        """Queue faults: each chat request to this model takes the next; then normal answers."""
        key = (provider, self._name(provider, model))
        with self._state.lock:
            self._state.scripts.setdefault(key, deque()).extend(faults)

    def always(self, provider: str, model: str, fault: Fault | None) -> None:
        """Every chat request to this model gets `fault` (after any scripted ones); None clears."""
        key = (provider, self._name(provider, model))
        with self._state.lock:
            if fault is None:
                self._state.always.pop(key, None)
            else:
                self._state.always[key] = fault

    def hits(self, provider: str, model: str) -> int:
        """Chat requests received for this model, failed ones included."""
        key = (provider, self._name(provider, model))
        with self._state.lock:
            return self._state.hits[key]

    async def wait_for_hits(self, provider: str, model: str, n: int = 1) -> None:
        """Return once `hits(provider, model) >= n` (at once if already so). Woken by the hit itself,
        no polling, and from any thread: works whether the simulator serves via `running()` (this
        loop) or `in_thread()`. Counts restart at `reset()`. Never times out by itself, so bound it:
        `with anyio.fail_after(10): await sim.wait_for_hits("openai", "gpt-4o-mini")`."""
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not woken.done():  # the wait may have been cancelled meanwhile
                woken.set_result(None)

        def wake() -> None:
            # Called from the serving loop, which may be another thread's (`in_thread()`).
            with contextlib.suppress(RuntimeError):  # the waiter's loop has closed: nobody waits
                loop.call_soon_threadsafe(resolve)

        waiter = HitWaiter((provider, self._name(provider, model)), n, wake)
        if not self._state.add_hit_waiter(waiter):
            return
        try:
            await woken
        finally:
            self._state.drop_hit_waiter(waiter)

    @property
    def max_in_flight(self) -> int:
        """The most chat requests served at once since start (or the last `reset`)."""
        with self._state.lock:
            return self._state.max_in_flight

    def requests(self, provider: str, model: str) -> list[SimRequest]:
        key = (provider, self._name(provider, model))
        with self._state.lock:
            return list(self._state.requests.get(key, []))

    def reset(self) -> None:
        """Clear scripts, standing faults, hits, recorded requests and remembered cache prefixes."""
        self._state.clear()

    # -- running -----------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        server = HttpServer(self._dispatch, self._host, self._port)
        await server.start()
        self._server = server

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Simulator]:
        """Serve from the current event loop for the duration of the block."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[Simulator]:
        """Serve from a background thread with its own event loop (for sync code and SDKs)."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the caller's thread below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
                loop.run_until_complete(self.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

        thread = threading.Thread(target=serve, name="mcp-router-sim", daemon=True)
        thread.start()
        ready.wait(30)
        if failure:
            thread.join(5)
            loop.close()
            raise RuntimeError("the simulator failed to start") from failure[0]
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)

    # -- routing -----------------------------------------------------------------------------------
    async def _dispatch(self, req: Request, conn: Conn) -> None:
        try:
            await self._route(req, conn)
        except Exception as exc:
            # A simulator bug must show up as a loud 500, not as a hung client.
            _log.error("sim.handler_failed", path=req.path, error=repr(exc))
            if not conn.closed:
                await conn.send(500, dumps({"error": {"message": f"simulator error: {exc!r}"}}))

    async def _route(self, req: Request, conn: Conn) -> None:
        path, method, state = req.path.rstrip("/") or "/", req.method, self._state
        if path.startswith("/compat/"):
            _, _, name, *tail = path.split("/")
            sub = "/" + "/".join(tail)
            if sub == "/v1/chat/completions" and method == "POST":
                return await openai.chat(state, name, req, conn)
            if sub == "/v1/models" and method == "GET":
                return await openai_models.models(state, name, req, conn)
        elif path == "/v1/chat/completions" and method == "POST":
            return await openai.chat(state, "openai", req, conn)
        elif path == "/v1/models" and method == "GET":
            bearer = req.headers.get("authorization", "").partition(" ")[2].strip()
            if {"x-api-key", "anthropic-version"} & req.headers.keys() or bearer == sim_key("anthropic"):
                return await anthropic.models(state, req, conn)
            return await openai_models.models(state, "openai", req, conn)
        elif path == "/v1/messages" and method == "POST":
            return await anthropic.messages(state, req, conn)
        elif path == "/v1/messages/count_tokens" and method == "POST":
            return await anthropic.count_tokens(state, req, conn)
        elif path == "/api/v1/chat/completions" and method == "POST":
            return await openai.chat(state, "openrouter", req, conn)
        elif path == "/api/v1/models" and method == "GET":
            return await openai_models.models(state, "openrouter", req, conn)
        elif path == "/api/v1/key" and method == "GET":
            return await openrouter.key(req, conn)
        elif path.startswith("/v1beta/models"):
            rest = path[len("/v1beta/models") :].lstrip("/")
            if not rest and method == "GET":
                return await gemini.models(state, req, conn)
            if ":" in rest and method == "POST":
                model, _, action = rest.partition(":")
                return await gemini.generate(state, model, action, req, conn)
            if rest and method == "GET":
                return await gemini.models(state, req, conn, model=rest)
        elif path == "/api/chat" and method == "POST":
            return await ollama.chat(state, req, conn)
        elif path == "/api/tags" and method == "GET":
            return await ollama.tags(state, req, conn)
        elif path == "/api/show" and method == "POST":
            return await ollama.show(state, req, conn)
        elif path == "/api/version" and method == "GET":
            return await ollama.version(req, conn)
        elif path == "/" and method in ("GET", "HEAD"):
            return await conn.send(200, b"Ollama is running", "text/plain; charset=utf-8")
        body = {"error": {"message": f"Unknown request URL: {method} {req.path}", "code": "unknown_url"}}
        await conn.send(404, dumps(body))
