"""A real authorization server for the OAuth tests: `oidc-provider` (certified OpenID/OAuth server, npm)
run by `oauth/authserver.mjs` on loopback. Installed and started once per session, from the npm
registry into a temp dir (the machine's npm cache makes that quick). Without npm/node the tests skip
with the reason; with npm, an install that fails is a test failure (CI must run these)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx2
import pytest
from npm_tools import npm_env  # pyright: ignore[reportMissingImports] (tests/clients, on sys.path)

# 8.x is the line whose supported runtimes include Node 20 LTS (9.x asks for Node >= 22 at start-up).
OIDC_PROVIDER = "oidc-provider@8.8.1"
SCRIPT = Path(__file__).parent / "oauth" / "authserver.mjs"


def install(where: Path) -> Path:
    """`oidc-provider` and the script in `where`; skips the test when npm cannot provide it."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node are not installed: the OAuth tests need the oidc-provider authorization server")
    argv = ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(where), OIDC_PROVIDER]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=npm_env())
    if done.returncode != 0:  # npm is here, so CI expects these tests to run: a failure, not a skip
        pytest.fail(f"cannot install {OIDC_PROVIDER} from npm: {done.stderr.strip()[-300:]}")
    shutil.copy(SCRIPT, where / SCRIPT.name)
    return where / SCRIPT.name


class AuthServer:
    """The running authorization server: mint tokens, rotate keys, skew its clock, count JWKS fetches."""

    def __init__(self, script: Path, log: Path) -> None:
        self._log = log.open("w")
        self.process = subprocess.Popen(["node", str(script)], cwd=script.parent, stdout=subprocess.PIPE,
                                        stderr=self._log, text=True)  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.close()
            pytest.fail(f"the authorization server did not start: {log.read_text()[-800:]}")
        started: dict[str, str] = json.loads(line)
        self.issuer, self.rogue = started["issuer"], started["rogue"]

    def token(self, resource: str, scope: str = "route governance:read", *, at: str | None = None) -> str:
        """A client-credentials access token for `resource` (RFC 8707), from this server or `at`."""
        form = {"grant_type": "client_credentials", "client_id": "agent", "client_secret": "agent-secret",
                "resource": resource, "scope": scope}  # fmt: skip
        answer = httpx2.post(f"{at or self.issuer}/token", data=form, timeout=10)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def rotate(self) -> str:
        return str(httpx2.post(f"{self.issuer}/__test/rotate", timeout=10).json()["kid"])

    def skew_clock(self, seconds: int) -> None:
        httpx2.post(f"{self.issuer}/__test/clock", params={"offset": seconds}, timeout=10)

    def jwks_hits(self) -> int:
        return int(httpx2.get(f"{self.issuer}/__test/jwks-hits", timeout=10).json()["hits"])

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self._log.close()


def _part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def header(token: str) -> dict[str, Any]:
    """The header of a JWT, unverified: for tests to look at what the server minted."""
    return _part(token, 0)


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified."""
    return _part(token, 1)
