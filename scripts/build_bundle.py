"""Build the MCPB bundle (Claude Desktop's one-click install): `python scripts/build_bundle.py`.

The bundle is a `uv`-type MCPB: manifest.json at its root, the `mcp_router` package, a
pyproject.toml with only what installing it needs, and `server/main.py`, the entry point that
starts `serve`. The host runs `uv run --directory <bundle> server/main.py`, which builds an
environment from pyproject.toml (dependencies come from the package index, not the bundle).

    python scripts/build_bundle.py [--stage build/mcpb] [--out dist]

writes the unpacked layout to --stage (what `mcpb validate` / `mcpb pack` accept) and the
packed `dist/mcp-llm-router-<version>.mcpb` (a zip, as `mcpb pack` makes). Files matching
manifests/mcpb/.mcpbignore are left out. Prints the bundle's path.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import shutil
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRA = ROOT / "manifests" / "mcpb"  # bundle-only files: server/main.py, .mcpbignore
# pyproject tables an install needs; the test extra and tool settings stay behind (uv would
# otherwise resolve the test dependencies too when it locks the bundle's environment).
KEEP_TABLES = ("build-system", "project", "project.scripts", "tool.hatch.build.targets.wheel")


def runtime_pyproject(text: str) -> str:
    """`text` (a pyproject.toml) without the tables installing the package does not need."""
    out: list[str] = []
    keep = True
    for line in text.splitlines():
        header = re.match(r"^\[([^\[\]]+)\]\s*$", line)
        if header:
            keep = header.group(1).strip() in KEEP_TABLES
        if keep:
            out.append(line)
    return "\n".join(out).strip() + "\n"


def ignore_patterns(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def ignored(rel: Path, is_dir: bool, patterns: list[str]) -> bool:
    """gitignore-style matching, as far as our patterns need: `name/` matches a directory of
    that name anywhere, `*.ext` or `name` any file or directory name, `a/b` a path from the root."""
    for pattern in patterns:
        if pattern.endswith("/"):
            if is_dir and fnmatch.fnmatch(rel.name, pattern[:-1]):
                return True
        elif "/" in pattern:
            if fnmatch.fnmatch(rel.as_posix(), pattern.lstrip("/")):
                return True
        elif fnmatch.fnmatch(rel.name, pattern):
            return True
    return False


def walk(base: Path, patterns: list[str], rel: Path = Path()) -> Iterator[Path]:
    """Files under `base / rel` (relative to `base`), sorted, minus ignored ones."""
    for entry in sorted((base / rel).iterdir()):
        sub = rel / entry.name
        if ignored(sub, entry.is_dir(), patterns):
            continue
        if entry.is_dir():
            yield from walk(base, patterns, sub)
        elif entry.is_file():
            yield sub


def stage(dest: Path) -> dict[str, str]:
    """Write the bundle's unpacked layout to `dest` (emptied first); returns the manifest."""
    manifest = json.loads((ROOT / "manifests" / "manifest.json").read_text(encoding="utf-8"))
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    version = tomllib.loads(pyproject)["project"]["version"]
    if manifest["version"] != version:
        raise SystemExit(f"manifests/manifest.json has version {manifest['version']}, pyproject {version}")
    patterns = ignore_patterns(EXTRA / ".mcpbignore")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "manifests" / "manifest.json", dest / "manifest.json")
    (dest / "pyproject.toml").write_text(runtime_pyproject(pyproject), encoding="utf-8")
    shutil.copy2(ROOT / "README.md", dest / "README.md")  # pyproject's `readme`
    for base, root in ((ROOT, Path("mcp_router")), (EXTRA, Path())):
        for rel in walk(base, patterns, root):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(base / rel, target)
    return dict(manifest)


def pack(source: Path, bundle: Path) -> None:
    """Zip `source` into `bundle`, manifest.json first, in a stable order."""
    files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.as_posix() != "manifest.json")
    bundle.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
        for rel in files:
            z.write(source / rel, rel.as_posix())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the MCPB bundle.")
    parser.add_argument("--stage", type=Path, default=ROOT / "build" / "mcpb", help="unpacked layout")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="directory for the .mcpb")
    args = parser.parse_args(argv)
    manifest = stage(args.stage)
    bundle = args.out / f"{manifest['name']}-{manifest['version']}.mcpb"
    pack(args.stage, bundle)
    print(bundle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
