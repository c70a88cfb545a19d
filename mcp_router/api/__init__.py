"""The library API's arguments, result models and catalog views.

`Router` (mcp_router/router.py) is the one entry point: its `complete`, `compare`, `plan`,
`list_models`, `estimate_cost`, `usage_report` and `usage_summary` methods are what the MCP tools
and the CLI call. This package holds what those methods and their faces share:

- `arguments`: each tool's arguments as one pydantic model (the MCP input schema, the CLI options
  via `options`, and `RouteRequest` via `to_route_request`); `InvalidArguments`.
- `explain`: validation errors in the house style; `names`: provider names checked and normalised.
- `results`: the result models; `views`: pure catalog views and estimates; `digest`: the compact
  `catalog://models` digest and model-id completion.
- `access`: which client's usage a caller may read.

See docs/architecture.md.
"""
