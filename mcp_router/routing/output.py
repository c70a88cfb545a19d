"""Answers written to files: `complete(output_file=PATH, overwrite=false)` (README "Answers to
files").

The target is checked before any model is called (`files.output_path`: the same allowed roots
as local input files, an existing folder, no existing file without `overwrite`), so no money is
spent on an answer that cannot be delivered. The write is atomic: the answer goes to a hidden
temporary file in the same folder, flushed to disk, then hard-linked to the target name, which
fails when a file appeared there meanwhile (no check-then-write race), or with `overwrite`
renamed over it. A crash leaves the old file or the whole new one, never half of one.

The file holds the answer's text only (as UTF-8), so a generated document is the document. Tool
calls stay in the result: the caller must act on them. The reasoning text is left out of the
result: it can be as long as the answer the caller wanted kept out of its context.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path

import anyio.to_thread

from mcp_router.files import FileAccess, local_path, output_path
from mcp_router.routing.types import OutputFile, RoutedCompletion

PREVIEW_CHARS = 200
# A filesystem without hard links answers link() with one of these; the fallback claims the
# name with O_EXCL instead (a crash in between leaves an empty file, never half an answer).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


def write_atomically(target: Path, data: bytes, *, overwrite: bool) -> None:
    """Write `data` to `target` all at once (see the module docstring). Raises
    FileExistsError when `target` exists and `overwrite` is false, OSError on I/O errors."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            _link_new(tmp, target)
        _sync_folder(target.parent)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)


def _link_new(tmp: Path, target: Path) -> None:
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        os.replace(tmp, target)


def _sync_folder(folder: Path) -> None:
    """The new name made durable too (best effort: not every platform opens folders)."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def filed(result: RoutedCompletion, shown: str, size: int) -> RoutedCompletion:
    """The result of an answer written to a file: path, bytes and a preview instead of text."""
    return result.model_copy(
        update={
            "text": "",
            "output_file": OutputFile(path=shown, bytes=size),
            "preview": result.text[:PREVIEW_CHARS],
            "reasoning": None,
        }
    )


async def complete_to_file(
    run: Callable[[], Awaitable[RoutedCompletion]], ref: str, access: FileAccess, *, overwrite: bool
) -> RoutedCompletion:
    """Check the target, run the completion, write its answer. Raises FileRefused before any
    call when the target cannot be written. A write that fails after the answer was paid for
    (a file created meanwhile, a full disk) returns the answer as text with `error` saying so."""
    target = output_path(ref, access, overwrite=overwrite)
    shown = str(local_path(ref))
    result = await run()
    data = result.text.encode("utf-8", "surrogatepass")
    try:
        await anyio.to_thread.run_sync(lambda: write_atomically(target, data, overwrite=overwrite))
    except FileExistsError:
        why = "a file of that name appeared while the model answered"
    except OSError as exc:
        why = f"{type(exc).__name__}: {exc.strerror or 'write failed'}"
    else:
        return filed(result, shown, len(data))
    return result.model_copy(
        update={"error": f"output_file {shown} not written ({why}); the answer is in text"}
    )
