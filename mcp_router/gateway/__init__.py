"""The HTTP gateway: OpenAI- and Anthropic-compatible endpoints over the same `Router` as the
MCP tools, served beside `/mcp` (README "Gateway", docs/architecture.md)."""
