"""Helpers for the residency tests: deployments and policies built in code (real files on disk)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from polyroute.catalog import Deployment
from polyroute.residency import Policy, load_policy
from polyroute.settings import load_settings

MakeDeployment = Callable[..., Deployment]


def build_deployment(
    id: str = "test-model",
    *,
    processing: Sequence[str] = ("SA",),
    storage: Sequence[str] | None = None,
    provider: str = "openai_compatible",
    **extra: Any,
) -> Deployment:
    """A deployment that may process in `processing` and store in `storage` (default: the same)."""
    fields: dict[str, Any] = {
        "id": id,
        "provider": provider,
        "model": "test-model",
        "api_model": "test-model",
        "processing_locations": tuple(processing),
        "storage_locations": tuple(storage if storage is not None else processing),
        "context_window": 8192,
        "max_output_tokens": 1024,
    }
    if provider == "openai_compatible":
        fields["base_url"] = "http://127.0.0.1:9/v1"
    if provider == "bedrock":
        fields["aws_region"] = "eu-central-1"
    fields.update(extra)
    return Deployment.model_validate(fields)


def policy_with(tmp_path: Path, text: str, *, mode: str = "extend") -> Policy:
    """The policy Polyroute would load with `text` as the user's policy file (a real file on disk)."""
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[policy]\nfile = "{path.as_posix()}"\nmode = "{mode}"\n', encoding="utf-8")
    return load_policy(load_settings({"POLYROUTE_DATA_DIR": str(tmp_path / "data")}, config_file=config))
