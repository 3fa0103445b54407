"""An HTTP request's credentials through the device's one login rule, for every web API.

ISAPI, NIPCA, Dahua's CGI and ONVIF's snapshot judge a request the same way:
`HttpAuthenticator` reads the Authorization header, `Device.login` decides (and
counts), and a refusal carries fresh challenges. Only the refusal's body is the
vendor's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import hdrs, web

from simulator.core.auth import LoginOutcome
from simulator.core.device import Device
from simulator.runtime.http_auth import HttpAuthenticator, Refused


@dataclass(frozen=True)
class Check:
    outcome: LoginOutcome | None  # None: refused before the password was looked at
    stale: bool = False  # the nonce had expired: the client retries with a fresh one

    @property
    def granted(self) -> bool:
        return self.outcome is not None and self.outcome.granted


def accepts_basic(device: Device) -> bool:
    return device.web_auth == "digest/basic"


def check_login(auth: HttpAuthenticator, device: Device, request: web.Request, now: float) -> Check:
    examined = auth.examine(
        request.headers.get(hdrs.AUTHORIZATION),
        method=request.method,
        uri=request.raw_path,
        now=now,
        basic=accepts_basic(device),
    )
    if isinstance(examined, Refused):
        return Check(None, examined.stale)
    return Check(device.login(request.remote or "", examined.proof, now, user=examined.user))


def challenged(
    response: web.Response, auth: HttpAuthenticator, device: Device, now: float, check: Check
) -> web.Response:
    """`response` (the vendor's 401) with a fresh challenge for each scheme accepted."""
    for challenge in auth.challenges(now, basic=accepts_basic(device), stale=check.stale):
        response.headers.add(hdrs.WWW_AUTHENTICATE, challenge)
    return response
