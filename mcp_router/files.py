"""Images and files in messages, made safe before any provider call, and where answers may be
written (README "Images and files", "Answers to files").

Local files (an absolute path or a `file://` URL in `image_url.url` / `file.file_data`):
- are read only when their real path (symlinks followed) lies under an allowed root: the
  `[files] roots` of the config, plus, over stdio, the server's working directory (the server
  wiring passes it; over HTTP there is none unless configured);
- are limited in size per part and per request (`[files] max_part_mb`, `max_request_mb`);
- get their media type from their first bytes, never from the name: images must be PNG, JPEG,
  GIF or WebP, files PDF, or UTF-8 text, which becomes a text part every model can read.
Data URLs from the caller pass the same size limits and are relabelled with the type their
bytes show (a PNG sent as `image/jpeg` is refused by some providers).

Remote URLs are left to providers that fetch them; for a wire that takes only bytes (Ollama,
some Gemini paths) the router fetches them itself, under `FileAccess`'s limits and the rules of
`mcp_router.fetch` (public addresses only).

Answers written to files (`complete(output_file=...)`) follow the same roots: `output_path`
checks the target before any model is called (routing/output.py writes it). The router's own
files (`FileAccess.protected`: its data directory, the usage database with its side files, the
config file; bootstrap.py passes them) are never written, even under a root.

Every refusal is a `FileRefused` naming the path or URL and the rule; file bytes never appear
in an error.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import anyio
import anyio.to_thread

from mcp_router.core import (
    FilePart,
    ImagePart,
    MediaPart,
    Message,
    TextPart,
    data_url,
    describe_source,
    has_media,
    parse_data_url,
    sniff,
    source_of,
)
from mcp_router.errors import RouterError

MB = 1024 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_SNIFF_BYTES = 16  # enough base64 for every magic number we know (12 bytes)


class FileRefused(RouterError):
    """A part's file or URL may not be used; the message names it and the rule."""


@dataclass(frozen=True, slots=True)
class FileAccess:
    """Where local files may be read from and how much may be read or fetched."""

    roots: tuple[Path, ...] = ()
    fetch_remote: bool = False
    max_part_bytes: int = 20 * MB
    max_request_bytes: int = 50 * MB
    fetch_timeout_s: float = 10.0
    protected: tuple[Path, ...] = ()  # the router's own files and folders: never written

    def with_roots(self, *roots: str | Path) -> FileAccess:
        extra = tuple(Path(r) for r in roots if Path(r) not in self.roots)
        return replace(self, roots=self.roots + extra)

    def with_protected(self, *paths: str | Path) -> FileAccess:
        extra = tuple(Path(p) for p in paths if Path(p) not in self.protected)
        return replace(self, protected=self.protected + extra)

    def guarded(self, real: Path) -> Path | None:
        """The protected path `real` (symlinks resolved) is or lies under, if any."""
        for path in self.protected:
            try:
                if real == path.resolve() or real.is_relative_to(path.resolve()):
                    return path
            except OSError:
                continue
        return None

    def _roots_text(self) -> str:
        if not self.roots:
            return "none configured: set [files] roots in the config (over stdio the server's folder)"
        return "allowed roots: " + ", ".join(str(r) for r in self.roots)

    def allows(self, real: Path) -> bool:
        """The one rule for reading and writing: a real path (symlinks resolved) under a root."""
        for root in self.roots:
            try:
                if real.is_relative_to(root.resolve()):
                    return True
            except OSError:
                continue
        return False


# ---------------------------------------------------------------------------- local files


def local_path(ref: str) -> Path:
    """The path a `file://` URL or an absolute path names; refuses anything else."""
    if ref[:7].lower() == "file://":
        parts = urlsplit(ref)
        if parts.netloc not in ("", "localhost"):
            raise FileRefused(f"{ref}: a file:// URL must name a local file (no host)")
        return Path(url2pathname(unquote(parts.path)))
    path = Path(ref)
    if not path.is_absolute():
        raise FileRefused(
            f"{describe_source(ref)}: not an https URL, a data URL or an absolute path; "
            "give local files as absolute paths or file:// URLs"
        )
    return path


def _under_roots(path: Path, access: FileAccess) -> Path:
    """The real path when it lies under an allowed root; FileRefused otherwise."""
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise FileRefused(f"{path}: no such file") from None
    except (OSError, RuntimeError) as exc:  # permission, symlink loop
        raise FileRefused(f"{path}: cannot be read ({type(exc).__name__})") from None
    if access.allows(real):
        return real
    raise FileRefused(f"{path}: outside the folders local files may be read from ({access._roots_text()})")


def output_path(ref: str, access: FileAccess, *, overwrite: bool) -> Path:
    """Where an answer may be written: an absolute path or file:// URL whose folder exists, is
    writable and lies under an allowed root; an existing file only with `overwrite` (and never
    a folder or a symlink). Checked before the model is called; raises FileRefused."""
    if ref[:7].lower() != "file://" and not Path(ref).is_absolute():
        raise FileRefused(f"{describe_source(ref)}: output_file must be an absolute path or a file:// URL")
    path = local_path(ref)
    try:
        folder = path.parent.resolve(strict=True)
    except (OSError, RuntimeError):
        raise FileRefused(f"{path}: its folder {path.parent} does not exist; create it first") from None
    if not access.allows(folder):
        raise FileRefused(f"{path}: outside the folders answers may be written to ({access._roots_text()})")
    if path.name in ("", "..") or not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise FileRefused(f"{path}: not a file name in a writable folder")
    target = folder / path.name
    guarded = access.guarded(target.resolve())
    if guarded is not None:
        raise FileRefused(
            f"{path}: the router's own file or folder ({guarded}: its data, usage database or config); "
            "write answers elsewhere"
        )
    if os.path.lexists(target):
        if not overwrite:
            raise FileRefused(f"{path}: already exists; pass overwrite=true to replace it, or another name")
        if target.is_symlink() or not target.is_file():
            raise FileRefused(f"{path}: exists and is not a regular file; choose another name")
    return target


def _read(path: Path, access: FileAccess) -> bytes:
    real = _under_roots(path, access)
    if not real.is_file():
        raise FileRefused(f"{path}: not a regular file")
    size = real.stat().st_size
    if size > access.max_part_bytes:
        raise FileRefused(f"{path}: {size} bytes, over the per-part limit of {access.max_part_bytes} bytes")
    try:
        raw = real.read_bytes()
    except OSError as exc:
        raise FileRefused(f"{path}: cannot be read ({type(exc).__name__})") from None
    if len(raw) > access.max_part_bytes:  # it grew since stat
        raise FileRefused(f"{path}: over the per-part limit of {access.max_part_bytes} bytes")
    return raw


# ---------------------------------------------------------------------------- parts


def typed_part(part: MediaPart, raw: bytes, where: str) -> MediaPart | TextPart:
    """The part with its bytes as a data URL of the sniffed type (a text file as a text part)."""
    kind = sniff(raw)
    if isinstance(part, ImagePart):
        if kind not in IMAGE_TYPES:
            raise FileRefused(f"{where}: not a PNG, JPEG, GIF or WebP image (by its content)")
        return part.model_copy(
            update={"image_url": part.image_url.model_copy(update={"url": data_url(kind, raw)})}
        )
    if kind == "application/pdf":
        return part.model_copy(
            update={"file": part.file.model_copy(update={"file_data": data_url(kind, raw)})}
        )
    text = _text(raw)
    if text is None:
        raise FileRefused(f"{where}: not a PDF or a UTF-8 text file (by its content)")
    name = part.file.filename or Path(where).name
    return TextPart(text=f"<file name={name!r}>\n{text}\n</file>", cache_control=part.cache_control)


def _text(raw: bytes) -> str | None:
    if b"\x00" in raw[:4096]:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _checked_inline(part: MediaPart, access: FileAccess) -> tuple[MediaPart | TextPart, int]:
    """A caller's data URL: size checked, relabelled with its sniffed type (decoded in full
    only when it must become text)."""
    url = part.url
    parsed = parse_data_url(url)
    if parsed is None:
        raise FileRefused(f"{describe_source(url)}: a data URL must be base64 (data:<type>;base64,...)")
    if parsed.size > access.max_part_bytes:
        raise FileRefused(f"{describe_source(url)}: over the per-part limit of {access.max_part_bytes} bytes")
    try:
        head = parsed.decode() if isinstance(part, FilePart) else _head(parsed.data)
    except ValueError:
        raise FileRefused(f"{describe_source(url)}: its data is not valid base64") from None
    kind = sniff(head)
    if isinstance(part, ImagePart) and kind == parsed.media_type:
        return part, parsed.size
    if isinstance(part, FilePart) and kind == "application/pdf" == parsed.media_type:
        return part, parsed.size
    raw = head if isinstance(part, FilePart) else parsed.decode()
    return typed_part(part, raw, describe_source(url)), parsed.size


def _head(data: str) -> bytes:
    return base64.b64decode(data[:_SNIFF_BYTES], validate=True)


async def localize(messages: Sequence[Message], access: FileAccess) -> list[Message]:
    """The messages with every local file read into its part (see the module docstring) and
    every data URL checked. Remote URLs are left as they are. Raises FileRefused."""
    if not has_media(messages):
        return list(messages)
    out: list[Message] = []
    total = 0
    for message in messages:
        if not message.media:
            out.append(message)
            continue
        parts: list[TextPart | ImagePart | FilePart] = []
        for part in message.parts:
            if isinstance(part, TextPart) or source_of(part.url) == "remote":
                parts.append(part)
                continue
            new, size = await _resolve(part, access)
            total += size
            if total > access.max_request_bytes:
                raise FileRefused(
                    f"{describe_source(part.url)}: the request's files pass the per-request limit of "
                    f"{access.max_request_bytes} bytes"
                )
            parts.append(new)
        out.append(message.model_copy(update={"content": parts}))
    return out


async def _resolve(part: MediaPart, access: FileAccess) -> tuple[MediaPart | TextPart, int]:
    if source_of(part.url) == "data":
        return _checked_inline(part, access)
    path = local_path(part.url)
    raw = await anyio.to_thread.run_sync(_read, path, access)
    return typed_part(part, raw, str(path)), len(raw)
