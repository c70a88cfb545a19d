"""The library API's argument checks, result models and catalog views.

`Router` (mcp_router/router.py) is the one entry point: its `complete`, `compare`, `plan`,
`list_models`, `estimate_cost`, `usage_report` and `usage_summary` methods are what the MCP tools
and the CLI call. This package holds what those methods share: `arguments` (tool arguments ->
`RouteRequest`, `InvalidArguments`), `results` (the result models) and `views` (pure catalog
views and estimates). See docs/architecture.md.
"""
