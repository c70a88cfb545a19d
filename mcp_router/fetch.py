"""Remote media fetched for wires that take only bytes (README "Images and files"), under
`files.FileAccess`'s rules: only with `[files] fetch_remote = true`, http(s) only, every address
the host resolves to must be public (no loopback, private, link-local, reserved or multicast
address), the connection goes to the address that was checked (so a second DNS answer cannot
point it elsewhere), redirects are re-checked hop by hop (at most 3), and size and time are
bounded. Every refusal is a `files.FileRefused` naming the URL and the rule.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2

from mcp_router.core import ImagePart, MediaPart, data_url, sniff
from mcp_router.files import IMAGE_TYPES, FileAccess, FileRefused

_MAX_REDIRECTS = 3

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def public_address(address: str) -> bool:
    """Whether a fetch may connect to this address: a global unicast one only."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass
class RemoteFetcher:
    """Fetches remote parts for wires that take only bytes, under `FileAccess`'s rules."""

    access: FileAccess
    client: httpx2.AsyncClient
    resolve: Resolver = field(default=system_resolve)

    async def fetch(self, part: MediaPart) -> str:
        """The part's URL fetched into a data URL of its sniffed type. Raises FileRefused."""
        url = part.url
        if not self.access.fetch_remote:
            raise FileRefused(f"{url}: remote files are not fetched ([files] fetch_remote is false)")
        try:
            with anyio.fail_after(self.access.fetch_timeout_s):
                raw = await self._get(url)
        except TimeoutError:
            raise FileRefused(f"{url}: not fetched within {self.access.fetch_timeout_s} s") from None
        except httpx2.HTTPError as exc:
            raise FileRefused(f"{url}: could not be fetched ({type(exc).__name__})") from None
        kind = sniff(raw)
        wanted = IMAGE_TYPES if isinstance(part, ImagePart) else ("application/pdf",)
        if kind is None or kind not in wanted:
            what = "a PNG, JPEG, GIF or WebP image" if isinstance(part, ImagePart) else "a PDF"
            raise FileRefused(f"{url}: the fetched content is not {what}")
        return data_url(kind, raw)

    async def fetch_all(self, parts: Sequence[MediaPart]) -> tuple[dict[str, str], dict[str, str]]:
        """Each distinct URL fetched once, concurrently: ({url: data URL}, {url: why not})."""
        unique = {p.url: p for p in parts}
        fetched: dict[str, str] = {}
        failed: dict[str, str] = {}

        async def one(url: str, part: MediaPart) -> None:
            try:
                fetched[url] = await self.fetch(part)
            except FileRefused as exc:
                failed[url] = str(exc)

        async with anyio.create_task_group() as tg:
            for url, part in unique.items():
                tg.start_soon(one, url, part)
        return fetched, failed

    async def _get(self, url: str) -> bytes:
        for _ in range(_MAX_REDIRECTS + 1):
            target, headers, extensions = await self._pinned(url)
            async with self.client.stream("GET", target, headers=headers, extensions=extensions) as resp:
                if resp.is_redirect and "location" in resp.headers:
                    url = str(httpx2.URL(url).join(resp.headers["location"]))
                    continue
                if resp.status_code != 200:
                    raise FileRefused(f"{url}: the server answered HTTP {resp.status_code}")
                return await self._body(url, resp)
        raise FileRefused(f"{url}: more than {_MAX_REDIRECTS} redirects")

    async def _pinned(self, url: str) -> tuple[str, dict[str, str], dict[str, object]]:
        """The URL rewritten to a checked public address, with the Host header and TLS name."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FileRefused(f"{url}: only http(s) URLs are fetched")
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = [host] if _is_ip(host) else await self.resolve(host, port)
        except OSError:
            raise FileRefused(f"{url}: the host does not resolve") from None
        if not addresses or not all(public_address(a) for a in addresses):
            raise FileRefused(
                f"{url}: resolves to a loopback, private, link-local or reserved address; "
                "the router fetches only from public addresses"
            )
        ip = addresses[0]
        netloc = f"[{ip}]" if ":" in ip else ip
        if parts.port is not None:
            netloc += f":{port}"
        target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        headers = {"host": parts.netloc.rsplit("@", 1)[-1]}
        extensions: dict[str, object] = {"sni_hostname": host} if parts.scheme == "https" else {}
        return target, headers, extensions

    async def _body(self, url: str, resp: httpx2.Response) -> bytes:
        limit = self.access.max_part_bytes
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FileRefused(f"{url}: {declared} bytes, over the per-part limit of {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise FileRefused(f"{url}: over the per-part limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def make_fetch_client() -> httpx2.AsyncClient:
    """A client for remote fetches: no redirects of its own (each hop is checked), no proxy
    from the environment (a proxy would connect wherever the checked name now points)."""
    return httpx2.AsyncClient(follow_redirects=False, trust_env=False, timeout=httpx2.Timeout(10.0))
