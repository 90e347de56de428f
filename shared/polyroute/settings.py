"""Settings: the config file, `POLYROUTE_*` environment variables, platform paths and defaults.

Precedence: explicit arguments, then environment variables, then the config file, then defaults.
The config file is `$POLYROUTE_CONFIG` or `<platform config dir>/polyroute/config.toml`; see
docs/configuration.md for every table. Secrets never live here: only names of env vars holding them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from polyroute.errors import ConfigError
from polyroute.oauthconfig import OAuthSettings

APP_NAME = "polyroute"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Defaults(_Section):
    """What a request that names no jurisdiction / data class / strategy gets."""

    jurisdiction: str | None = None
    data_class: str | None = None
    strategy: Literal["cheapest", "fastest", "best", "balanced"] = "balanced"

    @field_validator("data_class")
    @classmethod
    def _known_class(cls, value: str | None) -> str | None:
        """A misspelt default would deny every request that relies on it: refuse it at load instead."""
        from polyroute.policy import DATA_CLASSES

        if value is not None and value not in DATA_CLASSES:
            raise ValueError(f"unknown data class {value!r}; expected one of {', '.join(DATA_CLASSES)}")
        return value


class PolicySettings(_Section):
    file: Path | None = None
    mode: Literal["extend", "replace"] = "extend"


class AuditSettings(_Section):
    url: str | None = None
    key_file: Path | None = None
    witness_file: Path | None = None
    keyring: bool = Field(default=False, description="keep the signing key in the OS keyring (opt-in)")
    log_queries: bool = False
    store_content: bool = False
    content_retention_days: int = Field(default=30, ge=1)


class Budget(_Section):
    scope: str = Field(pattern=r"^(principal|team):.+$")
    period: Literal["day", "month"]
    limit_usd: Decimal = Field(gt=0)


class HttpToken(_Section):
    principal: str
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    scopes: list[str] = Field(default_factory=lambda: ["*"])


class HttpSettings(_Section):
    tokens: list[HttpToken] = Field(default_factory=list[HttpToken])
    allowed_hosts: list[str] = Field(default_factory=list[str])
    oauth: OAuthSettings | None = None  # `[http.oauth]`: see oauthconfig.py


class Settings(_Section):
    """Everything configurable, already merged from file and environment."""

    config_file: Path | None = None
    data_dir: Path
    defaults: Defaults = Field(default_factory=Defaults)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    deployments: list[dict[str, Any]] = Field(default_factory=list[dict[str, Any]])
    teams: dict[str, list[str]] = Field(default_factory=dict[str, list[str]])
    budgets: list[Budget] = Field(default_factory=list[Budget])
    http: HttpSettings = Field(default_factory=HttpSettings)

    @property
    def audit_url(self) -> str:
        """SQLAlchemy-style URL of the audit store; default: SQLite under the data dir."""
        return self.audit.url or f"sqlite:///{(self.data_dir / 'audit.db').as_posix()}"

    @property
    def audit_key_file(self) -> Path:
        return self.audit.key_file or self.data_dir / "audit-signing.key"

    @property
    def audit_witness_file(self) -> Path:
        """The last verified audit head, kept apart from the store (default: the platform state dir)."""
        state = Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))
        return self.audit.witness_file or state / "audit-witness.json"

    def teams_of(self, principal: str) -> list[str]:
        return sorted(team for team, members in self.teams.items() if principal in members)


def default_config_file(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("POLYROUTE_CONFIG"):
        return Path(env["POLYROUTE_CONFIG"]).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def read_toml(path: Path, *, what: str) -> dict[str, Any]:
    """A TOML file as a dict, or a ConfigError that names the file and the problem."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{what} {path} is not valid TOML: {error}") from None
    except UnicodeDecodeError as error:
        problem = f"is not UTF-8 text (byte {error.start}): TOML must be UTF-8"
        raise ConfigError(f"{what} {path} {problem}") from None
    except OSError as error:
        raise ConfigError(f"cannot read {what} {path}: {error.strerror}") from None


def load_settings(env: Mapping[str, str] | None = None, *, config_file: Path | None = None) -> Settings:
    """Settings from the config file (if any) with `POLYROUTE_*` variables layered on top."""
    env = os.environ if env is None else env
    explicit = config_file is not None or bool(env.get("POLYROUTE_CONFIG"))
    path = config_file or default_config_file(env)
    raw: dict[str, Any] = {}
    if path.exists() or explicit:
        raw = read_toml(path, what="config file")
    default_data_dir = platformdirs.user_data_dir(APP_NAME, appauthor=False)
    raw.setdefault("data_dir", env.get("POLYROUTE_DATA_DIR") or default_data_dir)
    _policy_beside_config(raw, path)
    _apply_env(raw, env)
    try:
        return Settings(config_file=path if path.exists() else None, **raw)
    except ValidationError as error:
        raise ConfigError(f"config file {path}: {_first_problem(error)}") from None


def _policy_beside_config(raw: dict[str, Any], config_file: Path) -> None:
    """A relative `[policy] file` is read beside the config file, whatever directory a client starts us in."""
    policy: object = raw.get("policy")
    if not isinstance(policy, dict):
        return  # absent, or a type error that validation reports
    table = cast(dict[str, Any], policy)
    name = table.get("file")
    if isinstance(name, str) and not Path(name).expanduser().is_absolute():
        table["file"] = str(config_file.parent / name)


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    audit = raw.setdefault("audit", {})
    if env.get("POLYROUTE_AUDIT_URL"):
        audit["url"] = env["POLYROUTE_AUDIT_URL"]
    if env.get("POLYROUTE_AUDIT_KEY_FILE"):
        audit["key_file"] = env["POLYROUTE_AUDIT_KEY_FILE"]
    if env.get("POLYROUTE_AUDIT_WITNESS"):
        audit["witness_file"] = env["POLYROUTE_AUDIT_WITNESS"]
    if env.get("POLYROUTE_POLICY"):
        raw.setdefault("policy", {})["file"] = env["POLYROUTE_POLICY"]
    if env.get("POLYROUTE_DATA_DIR"):
        raw["data_dir"] = env["POLYROUTE_DATA_DIR"]


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
