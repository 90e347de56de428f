"""Polyroute: route each model request to a compliant provider, quote its cost, audit it verifiably.

Importing this package loads no vendor SDK and no price data; those load on first use.
"""

__version__ = "0.1.0"
