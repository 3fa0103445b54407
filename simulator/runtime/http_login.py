"""An HTTP request's credentials through the device's one login rule, for every web API.

ISAPI, NIPCA, Dahua's CGI, ONVIF's snapshot and RTSP (whose Authorization header is
HTTP's) judge a request the same way:
`HttpAuthenticator` reads the Authorization header, `Device.login` decides (and
counts), and a refusal carries fresh challenges. Only the refusal's body is the
vendor's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import hdrs, web

from nvrsim.simulator.core.auth import LoginOutcome
from nvrsim.simulator.core.device import Device
from nvrsim.simulator.runtime.http_auth import HttpAuthenticator, Refused


@dataclass(frozen=True)
class Check:
    outcome: LoginOutcome | None  # None: refused before the password was looked at
    stale: bool = False  # the nonce had expired: the client retries with a fresh one
    user: str = ""  # who the credential names, for rules that depend on the user's level

    @property
    def granted(self) -> bool:
        return self.outcome is not None and self.outcome.granted


def accepts_basic(device: Device) -> bool:
    return device.web_auth == "digest/basic"


def check_login(auth: HttpAuthenticator, device: Device, request: web.Request, now: float) -> Check:
    return check_credentials(
        auth,
        device,
        request.headers.get(hdrs.AUTHORIZATION),
        method=request.method,
        uri=request.raw_path,
        client=request.remote or "",
        now=now,
    )


def check_credentials(
    auth: HttpAuthenticator,
    device: Device,
    authorization: str | None,
    *,
    method: str,
    uri: str,
    client: str,
    now: float,
) -> Check:
    """`check_login` for a request that is not aiohttp's (RTSP's)."""
    examined = auth.examine(
        authorization, method=method, uri=uri, now=now, basic=accepts_basic(device)
    )
    if isinstance(examined, Refused):
        return Check(None, examined.stale)
    outcome = device.login(client, examined.proof, now, user=examined.user)
    return Check(outcome, user=examined.user)


def challenges(auth: HttpAuthenticator, device: Device, now: float, check: Check) -> list[str]:
    """Fresh WWW-Authenticate values, one for each scheme the device accepts."""
    return auth.challenges(now, basic=accepts_basic(device), stale=check.stale)


def challenged(
    response: web.Response, auth: HttpAuthenticator, device: Device, now: float, check: Check
) -> web.Response:
    """`response` (the vendor's 401) with a fresh challenge for each scheme accepted."""
    for challenge in challenges(auth, device, now, check):
        response.headers.add(hdrs.WWW_AUTHENTICATE, challenge)
    return response
