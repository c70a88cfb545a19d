"""Errors, not tracebacks: each common mistake, run through the real command in a subprocess,
answers in one line naming the setting and the fix, exit code 2 for configuration and 1 at run
time; `doctor` reports every one of them without failing itself."""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, clean_env, run_cli

SQLITE_HEADER = b"SQLite format 3\x00"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mcp-router.toml"
    path.write_text(text)
    return str(path)


# -- the TOML file ------------------------------------------------------------------------------


def test_missing_config_file(home: Path, tmp_path: Path) -> None:
    env = clean_env(home, MCP_ROUTER_CONFIG=str(tmp_path / "nope.toml"))
    out = run_cli(["models"], env)
    assert_one_line_error(out, 2, "MCP_ROUTER_CONFIG", "nope.toml", "No such file", "unset it")


def test_config_file_that_is_not_toml(home: Path, tmp_path: Path) -> None:
    env = clean_env(home, MCP_ROUTER_CONFIG=_config(tmp_path, "[routing\nmax_retries = 2\n"))
    out = run_cli(["serve"], env)  # serve too: before it answers anything
    assert_one_line_error(out, 2, "MCP_ROUTER_CONFIG", "not valid TOML", "line 1")


def test_config_file_with_an_unknown_key(home: Path, tmp_path: Path) -> None:
    env = clean_env(home, MCP_ROUTER_CONFIG=_config(tmp_path, "[routing]\nmax_retry = 1\n"))
    out = run_cli(["plan", "hi"], env)
    assert_one_line_error(out, 2, "unknown key routing.max_retry", "MCP_ROUTER_CONFIG")


def test_config_file_with_a_wrong_type(home: Path, tmp_path: Path) -> None:
    env = clean_env(home, MCP_ROUTER_CONFIG=_config(tmp_path, '[budgets.default]\ndaily_usd = "lots"\n'))
    out = run_cli(["ask", "hi"], env)
    assert_one_line_error(out, 2, "budgets.default.daily_usd", "MCP_ROUTER_CONFIG")


# -- MCP_ROUTER_HOME ----------------------------------------------------------------------------


def test_home_that_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a directory")
    out = run_cli(["usage"], clean_env(home))
    assert_one_line_error(out, 2, f"MCP_ROUTER_HOME={home}", "is a file", "point MCP_ROUTER_HOME")


def test_home_whose_parent_is_missing(tmp_path: Path) -> None:
    home = tmp_path / "typo" / "mcp-router"
    out = run_cli(["catalog", "refresh"], clean_env(home))
    assert_one_line_error(out, 2, "MCP_ROUTER_HOME", f"{tmp_path / 'typo'} does not exist", "mkdir -p")
    assert not (tmp_path / "typo").exists()  # not created behind the user's back


def _unprivileged() -> list[str]:
    """A command prefix under which permission bits apply: as root, drop the capabilities that
    bypass them (root ignores a read-only mode otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test permissions as root"
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


def test_read_only_home(tmp_path: Path) -> None:
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    try:
        out = subprocess.run(
            [*_unprivileged(), sys.executable, "-m", "mcp_router", "models"],
            env=clean_env(home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        home.chmod(0o755)
    assert_one_line_error(out, 2, f"MCP_ROUTER_HOME={home}", "not writable", "permissions")


# -- the databases ------------------------------------------------------------------------------


def test_usage_db_that_is_not_sqlite(home: Path) -> None:
    home.mkdir()
    db = home / "usage.db"
    db.write_bytes(os.urandom(4096))
    out = run_cli(["usage"], clean_env(home))
    assert_one_line_error(out, 1, str(db), "move it aside", f"mv '{db}' '{db}.corrupt'")


def test_usage_db_damaged_inside(home: Path) -> None:
    # A SQLite header with garbage after it: only opening it finds out.
    home.mkdir()
    db = home / "usage.db"
    db.write_bytes(SQLITE_HEADER + os.urandom(8192))
    out = run_cli(["usage", "--json"], clean_env(home))
    assert_one_line_error(out, 1, str(db), "corrupt", "move it aside")
    assert out.stdout == ""


def test_corrupt_catalog_db_is_rebuilt_and_said_once(home: Path) -> None:
    home.mkdir()
    (home / "catalog.db").write_bytes(os.urandom(4096))
    env = clean_env(home)
    first = run_cli(["models", "--all", "-q", "gpt-4o-mini", "--json"], env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["total"] > 0
    assert first.stderr.count("discarded the unreadable catalog cache") == 1
    assert "Traceback" not in first.stderr
    again = run_cli(["models", "--all", "-q", "gpt-4o-mini", "--json"], env)
    assert again.returncode == 0 and "catalog cache" not in again.stderr


# -- ports ----------------------------------------------------------------------------------------


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("command", [["serve", "--transport", "http"], ["simulate"]])
def test_port_in_use(command: list[str], busy_port: int, home: Path) -> None:
    out = run_cli([*command, "--port", str(busy_port)], clean_env(home))
    assert_one_line_error(out, 1, f"port {busy_port}", "already in use", "--port")


# -- environment variables ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["soon", "-5", "nan"])
def test_bad_refresh_interval(value: str, home: Path) -> None:
    out = run_cli(["serve"], clean_env(home, MCP_ROUTER_REFRESH_S=value))
    assert_one_line_error(out, 2, "MCP_ROUTER_REFRESH_S", "number of seconds", "0 to turn")


@pytest.mark.parametrize("command", [["models"], ["demo"], ["simulate"]])
def test_bad_log_level(command: list[str], home: Path) -> None:
    out = run_cli(command, clean_env(home, MCP_ROUTER_LOG_LEVEL="loud"))
    assert_one_line_error(out, 2, "MCP_ROUTER_LOG_LEVEL='loud'", "DEBUG, INFO, WARNING")


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("OPENAI_BASE_URL", "api.openai.com/v1"),
        ("ANTHROPIC_BASE_URL", "ftp://api.anthropic.com"),
        ("OPENROUTER_BASE_URL", "https://openrouter.ai:port/api/v1"),
        ("OLLAMA_HOST", "http://"),
    ],
)
def test_malformed_base_url(var: str, value: str, home: Path) -> None:
    out = run_cli(["estimate", "hi"], clean_env(home, **{var: value, "OPENAI_API_KEY": "sk-test-123456789"}))
    assert_one_line_error(out, 2, var, "is not a URL", "unset it")


# -- doctor reports every one of them, never failing itself ------------------------------------


def _file_home(tmp: Path) -> dict[str, str]:
    (tmp / "h").write_text("x")
    return clean_env(tmp / "h")


def _corrupt_db(tmp: Path) -> dict[str, str]:
    (tmp / "h").mkdir()
    (tmp / "h" / "usage.db").write_bytes(SQLITE_HEADER + os.urandom(8192))
    return clean_env(tmp / "h")


CASES: dict[str, tuple[Callable[[Path], dict[str, str]], str]] = {
    "missing toml": (lambda t: clean_env(t / "h", MCP_ROUTER_CONFIG=str(t / "no.toml")), "MCP_ROUTER_CONFIG"),
    "bad toml": (lambda t: clean_env(t / "h", MCP_ROUTER_CONFIG=_config(t, "[x")), "not valid TOML"),
    "home is a file": (_file_home, "is a file"),
    "home parent missing": (lambda t: clean_env(t / "a" / "b"), "does not exist"),
    "corrupt usage.db": (_corrupt_db, "move it aside"),
    "refresh": (lambda t: clean_env(t / "h", MCP_ROUTER_REFRESH_S="x"), "MCP_ROUTER_REFRESH_S"),
    "log level": (lambda t: clean_env(t / "h", MCP_ROUTER_LOG_LEVEL="loud"), "MCP_ROUTER_LOG_LEVEL"),
    "base url": (
        lambda t: clean_env(t / "h", OPENAI_API_KEY="sk-test-123456789", OPENAI_BASE_URL="nope"),
        "OPENAI_BASE_URL",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_doctor_reports_instead_of_failing(case: str, tmp_path: Path) -> None:
    make_env, needle = CASES[case]
    out = run_cli(["doctor", "--json", "--timeout", "2"], make_env(tmp_path))
    assert out.returncode == 1, out.stderr  # something needs fixing
    assert "Traceback" not in out.stderr
    report = json.loads(out.stdout)
    assert any(needle in p for p in report["problems"]), report["problems"]
