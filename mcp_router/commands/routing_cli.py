"""The click commands that route a request: `plan` (the dry run) and `ask` (a real completion).
Their bodies are in plan.py and ask.py; cli.py registers them on the `mcp-router` group."""

from __future__ import annotations

import sys

import click

from mcp_router.commands.errors import RUNTIME, CliError, cli_words, preflight


def _stdin_prompt(prompt: str | None) -> tuple[str | None, str | None]:
    """(argument, piped text): stdin is read when PROMPT is '-' or when it is not a terminal."""
    if prompt == "-":
        return None, sys.stdin.read()
    if not sys.stdin.isatty():
        return prompt, sys.stdin.read()
    return prompt, None


@click.command()
@click.argument("prompt", required=False)
@click.option("--model", default=None, help="Model id, alias, `auto`, or with :floor / :nitro.")
@click.option("--models", "models", multiple=True, help="Fallback chain: a,b,c (repeatable).")
@click.option("--sort", type=click.Choice(["price", "latency", "throughput"]), default=None)
@click.option("--provider-only", "only", multiple=True, help="Only these providers: a,b (repeatable).")
@click.option("--provider-ignore", "ignore", multiple=True, help="Never these providers (repeatable).")
@click.option("--provider-order", "order", multiple=True, help="These providers first, in order.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None)
@click.option("--key", default=None, help="Plan as this issued key would get it (its model allowlist).")
@click.option("--json", "as_json", is_flag=True)
def plan(
    prompt: str | None, model: str | None, models: tuple[str, ...], sort: str | None, only: tuple[str, ...],
    ignore: tuple[str, ...], order: tuple[str, ...], max_tokens: int | None, key: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Dry run: the endpoints a request would try, in order, and why others are excluded.
    Calls no provider (reads stdin when PROMPT is '-'). Exit code 1 when no candidate is left."""
    import json

    import anyio
    from pydantic import ValidationError

    from mcp_router.commands.plan import plan_command, render_plan

    if prompt == "-":
        prompt = sys.stdin.read()
    preflight()
    args = {"prompt": prompt or "", "model": model, "models": models, "sort": sort, "only": only,
            "ignore": ignore, "order": order, "max_tokens": max_tokens, "client": key}  # fmt: skip
    try:
        result = anyio.run(lambda: plan_command(None, **args))  # type: ignore[arg-type]
    except ValidationError as exc:
        raise click.BadParameter(str(exc).splitlines()[0]) from exc
    click.echo(json.dumps(result, indent=2, default=str) if as_json else render_plan(result))
    if not result["candidates"]:
        raise CliError(
            "no candidate is left, so this request would fail: configure a provider for the model "
            "(`mcp-router doctor`), relax --provider-only/--provider-ignore, or pick another --model "
            "(`mcp-router models --all`).",
            RUNTIME,
        )


class _Answer:
    """stdout as the answer streams: each piece written and flushed at once, and the last line
    ended before anything else is printed."""

    def __init__(self) -> None:
        self._open = False

    def write(self, text: str) -> None:
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            self._open = not text.endswith("\n")

    def end(self) -> None:
        if self._open:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self._open = False


@click.command()
@click.argument("prompt", required=False)
@click.option("-m", "--model", default=None, help="Model id, alias or `auto` (the default).")
@click.option("--models", "models", multiple=True, help="Fallback chain: a,b,c (repeatable).")
@click.option("--system", default=None, help="A system prompt.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None)
@click.option(
    "--image", "images", multiple=True, help="An image to ask about: a path or an https URL (repeatable)."
)
@click.option(
    "--file", "files", multiple=True, help="A PDF or text file to ask about: a path or URL (repeatable)."
)
@click.option(
    "--reasoning", type=click.Choice(["minimal", "low", "medium", "high"]), default=None,
    help="Let the model think first, with this effort (reasoning models only).",
)  # fmt: skip
@click.option("-o", "--output", default=None, help="Write the answer to this file instead of stdout.")
@click.option("--overwrite", is_flag=True, help="Let --output replace an existing file.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
def ask(
    prompt: str | None, model: str | None, models: tuple[str, ...], system: str | None,
    max_tokens: int | None, images: tuple[str, ...], files: tuple[str, ...], reasoning: str | None,
    output: str | None, overwrite: bool, as_json: bool,
) -> None:  # fmt: skip
    """One completion through the router: the answer streamed to stdout, a receipt on stderr. The prompt
    comes from PROMPT, from stdin when piped, or both (stdin first). Exit code 1 when every
    route failed."""
    import os

    import anyio

    from mcp_router.commands.ask import ask_command, failure_lines, join_prompt, receipt
    from mcp_router.commands.info import plural
    from mcp_router.errors import AllRoutesFailed

    arg, piped = _stdin_prompt(prompt)
    try:
        text = join_prompt(arg, piped)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    preflight()
    env = dict(os.environ)
    out = _Answer()
    try:
        result = anyio.run(
            lambda: ask_command(
                env, prompt=text, system=system, model=model, models=models, max_tokens=max_tokens,
                images=images, files=files, write=None if as_json or output else out.write,
                reasoning=reasoning, output=output, overwrite=overwrite,
            )
        )  # fmt: skip
    except AllRoutesFailed as exc:
        out.end()
        if not exc.attempts:
            raise CliError(cli_words(str(exc)), RUNTIME) from exc
        head = f"every route failed ({plural(len(exc.attempts), 'attempt')}):"
        raise CliError("\n".join([head, *failure_lines(exc.attempts)]), RUNTIME) from exc
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    elif result.output_file is not None:
        click.echo(f"wrote {plural(result.output_file.bytes, 'byte')} to {result.output_file.path}", err=True)
    elif output:  # the file could not be written after the answer came: the answer is not lost
        out.write(result.text)
    out.end()
    click.echo(receipt(result), err=True)
    if result.finish_reason == "error":
        raise SystemExit(RUNTIME)
