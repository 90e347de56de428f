"""API keys: the deployment's env var (or the vendor's) first, then the OS keyring, else a clear error.

Keys live only in the environment or the OS keyring (service `polyroute`, username = a deployment id
or a provider kind), never in the config file, and never in a message: errors name the variable and
the command that stores a key, not the key. A key that cannot go into an HTTP header (a line break,
a non-ASCII character) is refused as malformed before any request. `redact` (from `redaction`) scrubs
every form of a key out of text that came back from a provider; `url_credentials` finds a key put into
an endpoint URL, where it would be served back with the catalog.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from polyroute.errors import ConfigError
from polyroute.redaction import KEY_SHAPED
from polyroute.redaction import redact as redact  # the scrubbing lives there; callers know it here

if TYPE_CHECKING:
    from polyroute.catalog import Deployment
    from polyroute.settings import Settings

SERVICE = "polyroute"
VENDOR_ENV = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "azure_openai": "AZURE_OPENAI_API_KEY",
}
KEY_OPTIONAL = frozenset({"openai_compatible", "bedrock"})  # local endpoints; the AWS credential chain
_SECRET_PARAMS = ("key", "token", "secret", "password", "passwd", "sig", "auth", "credential", "session")


class NoKeyringBackend(ConfigError):
    """This machine has no usable OS keyring (typically headless Linux without a Secret Service)."""


def env_var_for(deployment: Deployment) -> str | None:
    """The variable a deployment's key is read from: its own `api_key_env`, else the vendor's."""
    return deployment.api_key_env or VENDOR_ENV.get(deployment.provider)


def api_key(deployment: Deployment, settings: Settings | None = None) -> str | None:
    """The key to call `deployment` with, or None where a key is optional (local endpoints, Bedrock).

    A key is optional for a local endpoint only while the deployment names no `api_key_env`: naming
    one says the endpoint needs it, so an unset variable refuses the call instead of sending it keyless.

    Raises ConfigError naming the variable and `polyroute keys set …` when a required key is missing.
    """
    del settings  # keys come from the environment and the keyring only, never from the config file
    variable = env_var_for(deployment)
    if variable and os.environ.get(variable):
        return checked(os.environ[variable], f"the environment variable {variable}")
    if deployment.provider == "bedrock":
        return None  # boto3 resolves AWS credentials through its own chain
    keyring_note = ""
    for username in (deployment.id, deployment.provider):
        try:
            stored = get_key(username)
        except NoKeyringBackend:
            keyring_note = " (and this machine has no OS keyring backend, so only the variable can work)"
            break
        if stored:
            return checked(stored, f"the OS keyring entry {SERVICE}/{username}")
    if deployment.provider in KEY_OPTIONAL and not deployment.api_key_env:
        return None  # a deployment that names its key variable needs it: no keyless placeholder is sent
    raise ConfigError(
        f"no API key for deployment {deployment.id!r}: set {variable}{keyring_note}"
        + ("" if keyring_note else f", or run `polyroute keys set {deployment.provider}`")
    )


def _keyring_call(action: str, call: Callable[..., object], *args: str) -> str | None:
    """Run one keyring call, turning 'no backend' into a plain NoKeyringBackend."""
    import keyring.errors

    try:
        result = call(*args)
        return result if isinstance(result, str) else None
    except keyring.errors.NoKeyringError:
        raise NoKeyringBackend(
            f"cannot {action}: no OS keyring backend is available on this machine (headless, no Secret "
            "Service?); put the key in the provider's environment variable instead"
        ) from None
    except keyring.errors.PasswordDeleteError:
        raise ConfigError(f"cannot {action}: no key is stored for {args[-1]!r}") from None
    except keyring.errors.KeyringError as error:
        raise ConfigError(f"cannot {action}: the OS keyring refused ({type(error).__name__})") from None


def get_key(username: str) -> str | None:
    """The key stored in the keyring for a deployment id or provider kind, if any."""
    import keyring

    return _keyring_call("read the OS keyring", keyring.get_password, SERVICE, username)


def set_key(username: str, key: str) -> None:
    """Store a key, then read it back: some backends (the null one) accept and silently drop writes."""
    import keyring

    if not key.strip():
        raise ConfigError("refusing to store an empty key")
    problem = malformed(key.strip())
    if problem:
        raise ConfigError(f"refusing to store a malformed key for {username!r}: {problem}")
    _keyring_call("store the key", keyring.set_password, SERVICE, username, key.strip())
    if get_key(username) != key.strip():
        backend = type(keyring.get_keyring()).__module__
        raise NoKeyringBackend(
            f"the OS keyring backend ({backend}) did not keep the key: no usable keyring on this machine; "
            "put the key in the provider's environment variable instead"
        )


def delete_key(username: str) -> None:
    """Delete a stored key; deleting nothing is an error (the null backend would otherwise "succeed")."""
    import keyring

    if get_key(username) is None:
        raise ConfigError(f"cannot delete the key: no key is stored for {username!r}")
    _keyring_call("delete the key", keyring.delete_password, SERVICE, username)


def last4(key: str) -> str:
    """What may be shown of a key: its last four characters, and only for keys long enough to hide."""
    return f"…{key[-4:]}" if len(key) >= 12 else "…"


def malformed(key: str) -> str | None:
    """What makes `key` unusable in an HTTP header, in words that do not reveal it; None when it is fine.

    Sent as is, a line break or a non-ASCII character makes the HTTP client fail in ways that look like
    a network fault ("dropped the connection") and get retried: better to say what is wrong, once.
    """
    for position, char in enumerate(key, start=1):
        if char in "\r\n":
            return f"it contains a line break (CR/LF) at character {position} of {len(key)}"
        if not char.isascii():
            return f"character {position} of {len(key)} is not ASCII (a pasted quote, dash or space?)"
        if not char.isprintable() or char.isspace():
            return f"character {position} of {len(key)} is whitespace or a control character"
    return None


def checked(key: str, where: str) -> str:
    """`key` if it is usable; else ConfigError naming `where` it came from (never the key) and the fix."""
    problem = malformed(key)
    if problem is None:
        return key
    raise ConfigError(f"malformed API key in {where}: {problem}; set it again with the key alone")


def url_credentials(url: str) -> str | None:
    """What secret an endpoint URL carries (user:password@, a key-like query parameter, a key-shaped
    path segment), without quoting it; None when it carries none."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return "a user name or password before the host (user:password@)"
    for name, _ in parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(parts.fragment):
        if any(word in name.lower().replace("-", "").replace("_", "") for word in _SECRET_PARAMS):
            return f"a {name!r} parameter in the query string"
    if KEY_SHAPED.search(parts.path):
        return "something shaped like an API key in its path"
    return None
