"""Settings: the config file, `POLYROUTE_*` environment variables, platform paths and defaults.

Precedence: explicit arguments, then environment variables, then the config file, then defaults.
The config file is `$POLYROUTE_CONFIG` or `<platform config dir>/polyroute/config.toml`; see
docs/configuration.md for every table. Secrets never live here: only names of env vars holding them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast, get_args

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

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
    """One `[[budgets]]` entry: the limits of one principal or team — spend per UTC day or month
    (`period` with `limit_usd`), requests per minute, or both (docs/configuration.md)."""

    scope: str = Field(pattern=r"^(principal|team):.+$")
    period: Literal["day", "month"] | None = None
    limit_usd: Decimal | None = Field(default=None, gt=0)
    requests_per_minute: StrictInt | None = Field(default=None, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _a_whole_limit(self) -> Budget:
        """A period without an amount (or the reverse) limits nothing: refuse it at load, not silently."""
        if (self.period is None) != (self.limit_usd is None):
            raise ValueError("period and limit_usd go together (spend per day or month)")
        if self.limit_usd is None and self.requests_per_minute is None:
            raise ValueError("no limit given: set period with limit_usd, requests_per_minute, or both")
        return self


class HttpToken(_Section):
    principal: str
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    scopes: list[str] = Field(default_factory=lambda: ["*"])


class HttpSettings(_Section):
    tokens: list[HttpToken] = Field(default_factory=list[HttpToken])
    allowed_hosts: list[str] = Field(default_factory=list[str])
    oauth: OAuthSettings | None = None  # `[http.oauth]`: see oauthconfig.py


class TelemetrySettings(_Section):
    """`[telemetry]`: Prometheus `/metrics` on the HTTP server, and whether spans may carry text (opt-in)."""

    prometheus: bool = False
    capture_content: bool = False
    content_locations: list[str] = Field(
        default_factory=list[str], description="where the telemetry backend keeps data (for captured text)"
    )


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
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

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

    def teams_of(self, principal: str, carried: Iterable[str] = ()) -> list[str]:
        """The teams a call by `principal` counts in: its `[teams]` membership and the teams its identity
        carries (an OAuth token's team claim), passed per call: nothing learnt from a token is kept."""
        configured = (team for team, members in self.teams.items() if principal in members)
        return sorted({*configured, *carried})

    def limit_scopes(self, principal: str, carried: Iterable[str] = ()) -> frozenset[str]:
        """Every `[[budgets]]` scope a call counts against: `principal:<it>` and `team:<t>` for each team."""
        return frozenset(
            {f"principal:{principal}", *(f"team:{t}" for t in self.teams_of(principal, carried))}
        )


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
    except RecursionError:
        raise ConfigError(f"{what} {path} is nested too deeply to read") from None
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
    if "config_file" in raw:
        raise ConfigError(
            f"config file {path}: 'config_file' is not a setting: the config file is chosen with "
            "POLYROUTE_CONFIG (or is <config dir>/polyroute/config.toml)"
        )
    _paths_beside_config(raw, path)
    default_data_dir = platformdirs.user_data_dir(APP_NAME, appauthor=False)
    raw.setdefault("data_dir", default_data_dir)
    _apply_env(raw, env)
    try:
        return Settings(config_file=path if path.exists() else None, **raw)
    except ValidationError as error:
        raise ConfigError(f"config file {path}: {_first_problem(error)}") from None
    except RecursionError:
        raise ConfigError(f"config file {path}: nested too deeply to be a Polyroute config") from None


def _paths_beside_config(raw: dict[str, Any], config_file: Path) -> None:
    """Relative paths in the file (`data_dir`, `[policy] file`, `[audit] key_file`) are read beside the
    config file, whatever directory a client starts us in; `~` is the user's home."""
    _beside(raw, "data_dir", config_file)
    for table_name, key in (("policy", "file"), ("audit", "key_file"), ("audit", "witness_file")):
        table: object = raw.get(table_name)
        if isinstance(table, dict):  # else absent, or a type error that validation reports
            _beside(cast(dict[str, Any], table), key, config_file)


def _beside(table: dict[str, Any], key: str, config_file: Path) -> None:
    name = table.get(key)
    if isinstance(name, str) and name:
        path = Path(name).expanduser()
        table[key] = str(path if path.is_absolute() else config_file.parent.absolute() / path)


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """Variables win over the file; a relative path in one is taken from the current directory, now."""
    overrides = {
        ("audit", "url"): env.get("POLYROUTE_AUDIT_URL"),
        ("audit", "key_file"): _absolute(env.get("POLYROUTE_AUDIT_KEY_FILE")),
        ("audit", "witness_file"): _absolute(env.get("POLYROUTE_AUDIT_WITNESS")),
        ("policy", "file"): _absolute(env.get("POLYROUTE_POLICY")),
    }
    for (table_name, key), value in overrides.items():
        if not value:
            continue
        table: object = raw.setdefault(table_name, {})
        if isinstance(table, dict):  # else a type error that validation reports, naming the table
            cast(dict[str, Any], table)[key] = value
    if env.get("POLYROUTE_METRICS", "").strip().lower() in ("1", "true", "yes", "on"):
        telemetry: object = raw.setdefault("telemetry", {})
        if isinstance(telemetry, dict):
            cast(dict[str, Any], telemetry)["prometheus"] = True
    if env.get("POLYROUTE_DATA_DIR"):
        raw["data_dir"] = _absolute(env["POLYROUTE_DATA_DIR"])


def _absolute(value: str | None) -> str | None:
    return str(Path(value).expanduser().absolute()) if value else None


def _first_problem(error: ValidationError) -> str:
    problems = error.errors()
    unknown = [problem for problem in problems if problem["type"] == "extra_forbidden"]
    first = (unknown or problems)[0]  # a misspelt key also makes its right spelling 'missing': name the cause
    location = first["loc"]
    where = ".".join(str(part) for part in location)
    if first["type"] == "extra_forbidden" and location:
        return _unknown_key(location)
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _unknown_key(location: tuple[int | str, ...]) -> str:
    """'unknown key defaults.jurisdicton; did you mean jurisdiction?' instead of pydantic's wording."""
    *parent, _ = location
    model = _model_at(parent)
    known = [name for name in (model.model_fields if model else {}) if name != "config_file"]
    table = ".".join(str(part) for part in parent)
    return unknown_key(".".join(str(part) for part in location), known, table=table)


def unknown_key(key: str, known: Sequence[str], *, table: str = "") -> str:
    """A misspelt key named with the closest known one (what pydantic calls 'Extra inputs')."""
    import difflib

    close = difflib.get_close_matches(key.rsplit(".", 1)[-1], list(known), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = 0 < len(known) <= 12  # a short list helps; a long one buries the hint
    listing = f" (known keys{f' in [{table}]' if table else ''}: {', '.join(known)})" if shown else ""
    return f"unknown key {key!r}{hint}{listing}"


def _model_at(path: list[int | str]) -> type[BaseModel] | None:
    """The settings model that a table at `path` (e.g. ['http', 'tokens', 0]) is validated against."""
    model: type[BaseModel] = Settings
    for part in path:
        if isinstance(part, int):
            continue  # an item of an array of tables: same model
        field = model.model_fields.get(part)
        inner = _model_in(field.annotation) if field else None
        if inner is None:
            return None
        model = inner
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
