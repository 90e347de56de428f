"""The demo's stage: a throwaway data dir, a config with one sovereign stand-in, and provider endpoints.

Everything the suite server needs is passed the way a real MCP host passes it — in the launch
environment — so the demo exercises the same path a desktop client does. Every provider is served by
`polyroute.testing`'s wire-level fakes on loopback (local stand-ins that echo, clearly labelled as
such, never presented as a model's answer) unless the user asks for `--live`: only then do keys found
in this shell reach a real provider, since "no API keys needed" must also mean "none used behind
your back".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from polyroute.testing import DUMMY_KEYS, FakeProviders

SOVEREIGN_ID = "demo-riyadh-sovereign"
SOVEREIGN_KEY_ENV = "POLYROUTE_DEMO_SOVEREIGN_KEY"

# Which variables make a provider "live", and which fake variables stand in for it otherwise.
LIVE_KEYS: dict[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_API_KEY",),
    "openai": ("OPENAI_API_KEY",),
    "azure_openai": ("AZURE_OPENAI_API_KEY",),
    "bedrock": ("AWS_ACCESS_KEY_ID", "AWS_PROFILE"),
}
FAKE_VARS: dict[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"),
    "openai": ("OPENAI_BASE_URL", "OPENAI_API_KEY"),
    "azure_openai": ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"),
    "bedrock": (
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    ),
}  # fmt: skip
PASS_THROUGH = (
    "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
)  # fmt: skip

SOVEREIGN_TOML = """\
# Written by `polyroute demo`: one user-declared sovereign endpoint, served by a local stand-in.
[[deployments]]
id = "{id}"
provider = "openai_compatible"
model = "riyadh-stand-in"
base_url = "{base_url}"
api_key_env = "{key_env}"
location = "SA"
capabilities = ["arabic"]
context_window = 32768
max_output_tokens = 4096
notes = "demo: a local stand-in for an in-Kingdom OpenAI-compatible endpoint"

[deployments.price]
input_per_mtok = "0.50"
output_per_mtok = "1.50"
"""


@dataclass
class Stage:
    """The running stand-ins and the launch environment for the suite server."""

    workdir: Path
    fakes: FakeProviders
    env: dict[str, str]
    providers: dict[str, str] = field(default_factory=dict[str, str])  # provider → how it is served
    live: frozenset[str] = frozenset()  # providers reached for real (only with --live)

    def close(self) -> None:
        self.fakes.stop()


def live_providers(environ: Mapping[str, str], *, live: bool) -> set[str]:
    """With --live, the providers whose credentials are set in this shell; else none."""
    if not live:
        return set()
    return {provider for provider, names in LIVE_KEYS.items() if any(environ.get(n) for n in names)}


def build_stage(workdir: Path, *, live: bool, environ: Mapping[str, str] | None = None) -> Stage:
    """Start the stand-ins and write the demo config; nothing here touches the user's real data."""
    environ = os.environ if environ is None else environ
    fakes = FakeProviders().start()
    try:
        fake_env = fakes.env()
        live_ones = live_providers(environ, live=live)
        env = {
            "POLYROUTE_DATA_DIR": str(workdir / "data"),
            "POLYROUTE_AUDIT_WITNESS": str(workdir / "state" / "audit-witness.json"),  # not the user's
            "POLYROUTE_CONFIG": str(workdir / "config.toml"),
            SOVEREIGN_KEY_ENV: DUMMY_KEYS["OPENAI_API_KEY"],
        }
        providers: dict[str, str] = {}
        for provider in LIVE_KEYS:
            if provider in live_ones:
                env.update({n: environ[n] for n in PASS_THROUGH if environ.get(n) and _belongs(n, provider)})
                providers[provider] = "live: your credentials from this shell"
            else:
                env.update({n: fake_env[n] for n in FAKE_VARS[provider]})
                providers[provider] = f"LOCAL STAND-IN (echo server) at {_base(fake_env, provider)}"
        providers["openai_compatible"] = f"LOCAL STAND-IN for a sovereign endpoint at {fakes.openai.url}"
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        (workdir / "config.toml").write_text(
            SOVEREIGN_TOML.format(
                id=SOVEREIGN_ID, base_url=f"{fakes.openai.url}/v1", key_env=SOVEREIGN_KEY_ENV
            ),
            encoding="utf-8",
        )
        return Stage(workdir=workdir, fakes=fakes, env=env, providers=providers, live=frozenset(live_ones))
    except BaseException:
        fakes.stop()
        raise


def _belongs(var: str, provider: str) -> bool:
    prefix = {"anthropic": "ANTHROPIC_", "openai": "OPENAI_", "azure_openai": "AZURE_", "bedrock": "AWS_"}[
        provider
    ]
    return var.startswith(prefix)


def _base(fake_env: Mapping[str, str], provider: str) -> str:
    return fake_env[FAKE_VARS[provider][0]]
