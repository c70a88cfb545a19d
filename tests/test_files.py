"""Local files and remote media in messages (mcp_router/files.py): roots, limits, sniffing, and
the remote-fetch guard. No test reaches the network: remote fetches go to a mock transport."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from mcp_router.core import FilePart, ImagePart, Message, TextPart, data_url, parse_data_url
from mcp_router.fetch import RemoteFetcher, public_address
from mcp_router.files import FileAccess, FileRefused, localize
from mcp_router.settings import ConfigError, load_settings
from mcp_router.sim.media import pdf, png

PNG = png(3, 2)
PDF = pdf(1)
PUBLIC = "93.184.216.34"


def user(*parts: dict[str, Any]) -> Message:
    return Message.model_validate({"role": "user", "content": [{"type": "text", "text": "look"}, *parts]})


def image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def document(ref: str, filename: str | None = None) -> dict[str, Any]:
    return {"type": "file", "file": {"file_data": ref, **({"filename": filename} if filename else {})}}


async def one(part: dict[str, Any], access: FileAccess) -> Any:
    [message] = await localize([user(part)], access)
    return message.parts[1]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    (folder / "cat.png").write_bytes(PNG)
    (folder / "report.pdf").write_bytes(PDF)
    (folder / "notes.txt").write_text("line one\nline two\n")
    (folder / "fake.png").write_bytes(b"this is not an image")
    return folder


# ---------------------------------------------------------------------------- local files


@pytest.mark.anyio
async def test_local_files_under_a_root_become_data_urls_of_their_sniffed_type(root: Path) -> None:
    access = FileAccess(roots=(root,))
    by_path = await one(image(str(root / "cat.png")), access)
    assert isinstance(by_path, ImagePart) and by_path.url == data_url("image/png", PNG)
    by_url = await one(image((root / "cat.png").as_uri()), access)
    assert by_url.url == by_path.url
    doc = await one(document(str(root / "report.pdf")), access)
    assert isinstance(doc, FilePart) and doc.url == data_url("application/pdf", PDF)
    (root / "disguised.txt").write_bytes(PNG)  # the name lies; the bytes decide
    assert (await one(image(str(root / "disguised.txt")), access)).url == by_path.url


@pytest.mark.anyio
async def test_a_text_file_becomes_a_text_part(root: Path) -> None:
    part = await one(document(str(root / "notes.txt"), filename="notes.txt"), FileAccess(roots=(root,)))
    assert isinstance(part, TextPart)
    assert part.text == "<file name='notes.txt'>\nline one\nline two\n\n</file>"


@pytest.mark.anyio
async def test_a_path_outside_the_roots_is_refused_naming_the_path_and_the_rule(
    root: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(PNG)
    with pytest.raises(FileRefused) as refused:
        await one(image(str(secret)), FileAccess(roots=(root,)))
    assert str(secret) in str(refused.value) and "outside the folders" in str(refused.value)
    assert str(root) in str(refused.value)
    (root / "link.png").symlink_to(secret)  # a link inside pointing out is outside
    with pytest.raises(FileRefused, match="outside the folders"):
        await one(image(str(root / "link.png")), FileAccess(roots=(root,)))
    with pytest.raises(FileRefused, match=r"\.\./secret\.png: outside"):
        await one(image(str(root / ".." / "secret.png")), FileAccess(roots=(root,)))


@pytest.mark.anyio
async def test_no_roots_means_no_local_files(root: Path) -> None:
    with pytest.raises(FileRefused, match=r"none configured: set \[files\] roots"):
        await one(image(str(root / "cat.png")), FileAccess())


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("ref", "rule"),
    [
        ("cat.png", "absolute path"),
        ("file://otherhost/etc/passwd", "no host"),
        ("/definitely/not/here.png", "no such file"),
    ],
)
async def test_unusable_references(root: Path, ref: str, rule: str) -> None:
    with pytest.raises(FileRefused, match=rule):
        await one(image(ref), FileAccess(roots=(root, Path("/"))))


@pytest.mark.anyio
async def test_content_that_is_not_what_the_part_says_is_refused_without_echoing_it(root: Path) -> None:
    with pytest.raises(FileRefused) as refused:
        await one(image(str(root / "fake.png")), FileAccess(roots=(root,)))
    assert "not a PNG, JPEG, GIF or WebP image" in str(refused.value)
    assert "this is not an image" not in str(refused.value)
    (root / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(FileRefused, match="not a PDF or a UTF-8 text file"):
        await one(document(str(root / "blob.bin")), FileAccess(roots=(root,)))


@pytest.mark.anyio
async def test_size_limits_per_part_and_per_request(root: Path) -> None:
    small = FileAccess(roots=(root,), max_part_bytes=len(PNG) - 1)
    with pytest.raises(FileRefused, match="per-part limit"):
        await one(image(str(root / "cat.png")), small)
    with pytest.raises(FileRefused, match="per-part limit"):
        await one(image(data_url("image/png", PNG)), small)
    tight = FileAccess(roots=(root,), max_request_bytes=len(PNG) + 10)
    two = user(image(str(root / "cat.png")), image(data_url("image/png", PNG)))
    with pytest.raises(FileRefused, match="per-request limit"):
        await localize([two], tight)


@pytest.mark.anyio
async def test_data_urls_are_checked_and_relabelled_by_content() -> None:
    access = FileAccess()
    labelled_wrong = await one(image(data_url("image/jpeg", PNG)), access)
    assert labelled_wrong.url == data_url("image/png", PNG)
    fine = data_url("image/png", PNG)
    assert (await one(image(fine), access)).url == fine
    with pytest.raises(FileRefused, match="not valid base64"):
        await one(image("data:image/png;base64,@@@@not-base64"), access)
    with pytest.raises(FileRefused, match="must be base64"):
        await one(image("data:image/png,rawbytes"), access)
    text = await one(document(data_url("text/markdown", b"# Title"), filename="a.md"), access)
    assert isinstance(text, TextPart) and "# Title" in text.text


@pytest.mark.anyio
async def test_text_only_requests_take_the_fast_path() -> None:
    messages = [Message(role="user", content="hi")]
    assert await localize(messages, FileAccess()) == messages


# ---------------------------------------------------------------------------- remote fetch


class Transport:
    """A mock transport that records requests and answers from a table (no network)."""

    def __init__(self, answers: dict[str, httpx2.Response]) -> None:
        self.answers = answers
        self.seen: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        return self.answers.get(str(request.url), httpx2.Response(404))


def fetcher(transport: Transport, resolve_to: str = PUBLIC, **rules: Any) -> RemoteFetcher:
    async def resolve(host: str, port: int) -> list[str]:
        return [resolve_to]

    access = FileAccess(fetch_remote=True, **rules)
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(transport))
    return RemoteFetcher(access, client, resolve)


def remote(url: str) -> ImagePart:
    part = user(image(url)).media[0]
    assert isinstance(part, ImagePart)
    return part


@pytest.mark.anyio
async def test_a_fetch_connects_to_the_checked_address_with_the_original_host() -> None:
    transport = Transport({f"https://{PUBLIC}/cat.png": httpx2.Response(200, content=PNG)})
    got = await fetcher(transport).fetch(remote("https://images.example.com/cat.png"))
    assert got == data_url("image/png", PNG)
    [sent] = transport.seen
    assert sent.headers["host"] == "images.example.com"
    assert sent.extensions["sni_hostname"] == "images.example.com"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.1.9", "169.254.169.254", "::1", "fe80::1", "::ffff:127.0.0.1"],
)
async def test_non_public_addresses_are_refused_before_connecting(address: str) -> None:
    transport = Transport({})
    with pytest.raises(FileRefused, match="only from public addresses"):
        await fetcher(transport, resolve_to=address).fetch(remote("https://sneaky.example.com/x.png"))
    assert transport.seen == []  # never connected


@pytest.mark.anyio
async def test_ip_literals_and_redirects_are_checked_too() -> None:
    transport = Transport(
        {
            f"https://{PUBLIC}/a.png": httpx2.Response(
                302, headers={"location": "http://169.254.169.254/latest/meta-data"}
            )
        }
    )
    with pytest.raises(FileRefused, match="only from public addresses"):
        await fetcher(transport).fetch(remote("https://127.0.0.1/x.png"))
    with pytest.raises(FileRefused, match="only from public addresses"):
        await fetcher(transport).fetch(remote("https://cdn.example.com/a.png"))
    assert [str(r.url) for r in transport.seen] == [f"https://{PUBLIC}/a.png"]


@pytest.mark.anyio
async def test_fetch_limits_and_content() -> None:
    url = f"https://{PUBLIC}/x.png"
    big = Transport({url: httpx2.Response(200, content=PNG)})
    with pytest.raises(FileRefused, match="per-part limit"):
        await fetcher(big, max_part_bytes=len(PNG) - 1).fetch(remote("https://e.example/x.png"))
    html = Transport({url: httpx2.Response(200, content=b"<html>nope</html>")})
    with pytest.raises(FileRefused, match="not a PNG, JPEG, GIF or WebP image"):
        await fetcher(html).fetch(remote("https://e.example/x.png"))
    missing = Transport({})
    with pytest.raises(FileRefused, match="HTTP 404"):
        await fetcher(missing).fetch(remote("https://e.example/x.png"))
    with pytest.raises(FileRefused, match="only http"):
        await fetcher(missing).fetch(remote("ftp://e.example/x.png"))


@pytest.mark.anyio
async def test_a_slow_server_is_given_up_on() -> None:
    async def never(request: httpx2.Request) -> httpx2.Response:
        await anyio.sleep_forever()
        raise AssertionError

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(never))

    async def resolve(host: str, port: int) -> list[str]:
        return [PUBLIC]

    slow = RemoteFetcher(FileAccess(fetch_remote=True, fetch_timeout_s=0.05), client, resolve)
    with pytest.raises(FileRefused, match=r"not fetched within 0\.05 s"):
        await slow.fetch(remote("https://e.example/x.png"))


@pytest.mark.anyio
async def test_nothing_is_fetched_unless_fetch_remote_is_on() -> None:
    plain = RemoteFetcher(FileAccess(), httpx2.AsyncClient(transport=httpx2.MockTransport(Transport({}))))
    with pytest.raises(FileRefused, match="fetch_remote is false"):
        await plain.fetch(remote("https://e.example/x.png"))


def test_public_address() -> None:
    assert public_address(PUBLIC) and public_address("2606:4700:4700::1111")
    for address in ("0.0.0.0", "100.64.0.1", "224.0.0.1", "fd00::1", "::ffff:10.0.0.1"):
        assert not public_address(address)


# ---------------------------------------------------------------------------- settings


def test_files_settings(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[files]\nroots = ["{tmp_path}", "~/docs"]\nfetch_remote = true\nmax_part_mb = 1\n')
    settings = load_settings({}, config)
    access = settings.files.access(["/srv/work"])
    assert access.roots == (tmp_path, Path(os.path.expanduser("~/docs")), Path("/srv/work"))
    assert access.fetch_remote and access.max_part_bytes == 1024 * 1024
    assert load_settings({}, None).files.access().roots == ()
    config.write_text('[files]\nroots = ["relative/dir"]\n')
    with pytest.raises(ConfigError, match="absolute"):
        load_settings({}, config)


def test_data_url_parse_roundtrip() -> None:
    parsed = parse_data_url(data_url("image/png", PNG))
    assert parsed is not None and base64.b64decode(parsed.data) == PNG
