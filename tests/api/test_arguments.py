"""The tools' argument models: one declaration for the schema, the CLI and the RouteRequest."""

from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner

from mcp_router.api.arguments import (
    DEFAULT_OUTPUT_TOKENS,
    CompareArgs,
    CompletionArgs,
    EstimateArgs,
    InvalidArguments,
    ListModelsArgs,
)
from mcp_router.api.options import args_from_options, click_options
from mcp_router.core import CompletionRequest, SamplingParams
from mcp_router.routing.policy import RoutingPolicy
from mcp_router.routing.types import SORT_VALUES, ModelChoice, RouteRequest, RoutingParams


def test_request_fields_are_declared_once() -> None:
    shared = {*SamplingParams.model_fields, *RoutingParams.model_fields, *ModelChoice.model_fields}
    assert shared <= set(RouteRequest.model_fields)
    assert shared <= set(CompletionArgs.model_fields)
    assert set(SamplingParams.model_fields) <= set(CompletionRequest.model_fields)
    for name in shared:  # the same FieldInfo (bounds, defaults, descriptions), not a copy
        assert repr(RouteRequest.model_fields[name]) == repr(CompletionArgs.model_fields[name]), name
    assert CompletionArgs.model_json_schema()["properties"]["sort"]["anyOf"][0]["enum"] == list(SORT_VALUES)
    assert EstimateArgs().output_tokens == DEFAULT_OUTPUT_TOKENS == RoutingPolicy().default_output_tokens


def test_to_route_request() -> None:
    args = CompletionArgs.parse(
        {"prompt": "hi", "system": "be brief", "models": ["a/b", "c/d"], "stop": "END", "max_tokens": 9,
         "provider": {"only": ["OpenAI"]}, "sort": "price"}
    )  # fmt: skip
    req = args.to_route_request(client="laptop", tool="complete", providers=["openai", "groq"])
    assert [m.role for m in req.messages] == ["system", "user"]
    assert (
        req.models == ["a/b", "c/d"] and req.stop == ["END"] and req.max_tokens == 9 and req.sort == "price"
    )
    assert req.provider is not None and req.provider.only == ["openai"]
    assert (req.client, req.tool, req.timeout_s) == ("laptop", "complete", 120)
    compared = CompareArgs.parse({"prompt": "hi", "models": [" a/b ", "a/b", "c/d"]})
    assert compared.models == ["a/b", "c/d"]
    assert compared.to_route_request().models is None  # the compared models are no fallback chain
    assert CompletionRequest(messages=req.messages, **req.sampling()).stop == ["END"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"prompt": "hi", "max_token": 5}, "`max_token` is not an argument (did you mean `max_tokens`?)"),
        ({"prompt": "hi", "top_p": 0}, "`top_p` must be greater than 0"),
        ({"prompt": "hi", "timeout_s": 4000}, "`timeout_s` must be at most 3600"),
        ({"prompt": "hi", "max_price": {"prompt": -1}}, "`max_price.prompt` must be at least 0"),
        ({"prompt": "hi", "models": [" "]}, "`models` is empty"),
    ],
)
def test_completion_args_reject_with_the_fix(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArguments) as caught:
        CompletionArgs.parse(raw)
    assert message in str(caught.value)


def test_json_strings_are_decoded_only_where_no_text_is_taken() -> None:
    args = CompletionArgs.parse(
        {"prompt": '["kept as text"]', "models": '["a/b"]', "provider": '{"only": ["x"]}'}
    )
    assert args.prompt == '["kept as text"]' and args.models == ["a/b"]
    assert args.provider is not None and args.provider.only == ["x"]
    assert ListModelsArgs.parse({"capabilities": '["tools"]'}).capabilities == ["tools"]


def test_click_options_come_from_the_model() -> None:
    seen: list[CompletionArgs] = []

    @click.command()
    @click.argument("prompt")
    @click_options(CompletionArgs, "model", "models", "system", "max_tokens", "temperature", "sort")
    def ask(prompt: str, **options: Any) -> None:
        seen.append(args_from_options(CompletionArgs, options, prompt=prompt))

    runner = CliRunner()
    out = runner.invoke(
        ask, ["hello", "--models", "a/b,c/d", "--models", "e/f", "--max-tokens", "5", "--sort", "price"]
    )
    assert out.exit_code == 0, out.output
    assert seen[-1].models == ["a/b", "c/d", "e/f"] and seen[-1].max_tokens == 5 and seen[-1].sort == "price"
    assert seen[-1].model is None and seen[-1].temperature is None
    assert runner.invoke(ask, ["hi", "--max-tokens", "0"]).exit_code == 2  # ge=1 from the model
    assert runner.invoke(ask, ["hi", "--temperature", "2.5"]).exit_code == 2
    assert runner.invoke(ask, ["hi", "--sort", "cheap"]).exit_code == 2
    helped = runner.invoke(ask, ["--help"]).output
    assert "--max-tokens" in helped and "Fallback chain" in helped and "price|latency|throughput" in helped
    with pytest.raises(KeyError):
        click_options(CompletionArgs, "max_token")
    with pytest.raises(TypeError):
        click_options(CompletionArgs, "provider")(ask)
