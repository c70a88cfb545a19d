"""Bodies of the CLI commands, kept out of cli.py so it stays a thin click group."""
