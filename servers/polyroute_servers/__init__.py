"""Polyroute's MCP servers and the `polyroute` command: thin layers over the `polyroute` library."""
