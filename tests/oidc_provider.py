"""A real OpenID Connect provider for sign-in tests: oidc-provider-mock in its own process.

`running_oidc_provider` starts `python -m oidc_provider_mock` on 127.0.0.1 and a free port,
waits until its discovery document answers, and kills it on exit. The issuer is
http://127.0.0.1:<port>; it accepts any client id, secret and redirect URI, requires a nonce
and issues RS256 ID tokens carrying every claim set for the user (standard ones filtered by
scope: email/email_verified need "email", name needs "profile"; others such as "groups"
always). Its keys are made at start, so a restart on the same port rotates them.

Who signs in: set a user's claims (`set_user`, or `users=` at start), then `sign_in` submits
the provider's authorization form as that subject and returns the redirect back to the
client's redirect_uri (not followed), whose query holds code and state. `deny` presses the
form's Deny button instead (the redirect then carries error=access_denied).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp

START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class OidcProvider:
    issuer: str  # http://127.0.0.1:<port>, discovery at issuer + /.well-known/openid-configuration
    port: int
    pid: int
    log_path: Path  # the provider's stderr (its request log)

    async def set_user(
        self, http: aiohttp.ClientSession, sub: str, claims: Mapping[str, object]
    ) -> None:
        """Create or replace the user `sub` with these claims (email, name, groups, ...)."""
        async with http.put(f"{self.issuer}/users/{quote(sub, safe='')}", json=dict(claims)) as r:
            assert r.status == 204, await r.text()

    async def sign_in(self, http: aiohttp.ClientSession, authorization_url: str, sub: str) -> str:
        """Sign in as `sub` on the provider's form; the redirect back (with code and state)."""
        return await self._submit(http, authorization_url, {"sub": sub})

    async def deny(self, http: aiohttp.ClientSession, authorization_url: str) -> str:
        """Refuse on the provider's form; the redirect back (with error=access_denied)."""
        return await self._submit(http, authorization_url, {"action": "deny"})

    async def _submit(
        self, http: aiohttp.ClientSession, authorization_url: str, form: Mapping[str, str]
    ) -> str:
        assert authorization_url.startswith(self.issuer + "/"), authorization_url
        # As a browser would: the form page first (it validates the request), then the post
        # to the same URL.
        async with http.get(authorization_url) as page:
            assert page.status == 200, await page.text()
            assert 'name="sub"' in await page.text()
        async with http.post(authorization_url, data=dict(form), allow_redirects=False) as r:
            assert r.status == 302, await r.text()
            return r.headers["Location"]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running_oidc_provider(
    log_path: Path,
    *,
    port: int | None = None,
    users: Mapping[str, Mapping[str, object]] | None = None,
) -> Iterator[OidcProvider]:
    """The provider as a separate process (blocking: enter it from a sync fixture).

    `users` maps subjects to their claims, set at start; `port` reuses a port (to restart)."""
    port = port or free_port()
    issuer = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    cmd.append("--require-nonce")
    for sub, claims in (users or {}).items():
        cmd += ["--user-claims", json.dumps({**claims, "sub": sub})]
    env = {**os.environ, "NO_COLOR": "1", "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        discovery = f"{issuer}/.well-known/openid-configuration"
        while not _answers(discovery):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"oidc-provider-mock did not start on port {port}:\n" + log_path.read_text()
                )
            time.sleep(0.1)
        if proc.poll() is not None:  # another server answered on that port
            raise AssertionError(f"oidc-provider-mock exited:\n{log_path.read_text()}")
        yield OidcProvider(issuer=issuer, port=port, pid=proc.pid, log_path=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
