"""WS-Security UsernameToken as ONVIF devices check it; the password is `Device.login`'s.

Like `http_auth`, this module only judges whether a token is good enough to be
checked. A token that is becomes an `Attempt` whose `Proof` recomputes the
digest with the true password; the caller hands it to the device's one login
rule, which owns the password and the lockout shared with SADP and ISAPI.

Refused without looking at the password (so never counted as a failed login):
- no token, or one that cannot be read (no Username or Password, a Nonce that
  is not base64);
- a digest without both Nonce and Created (ONVIF requires both);
- a Created outside the freshness window around the device's own clock, in
  either direction: clients that cannot keep time ask GetSystemDateAndTime
  first and sign with the device's time;
- a Nonce already used inside the window (a replay);
- a #PasswordText token, unless the device is configured to take them.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict

from nvrsim.protocols.onvif import UsernameToken, parse_created, password_digest
from nvrsim.simulator.core.auth import plain
from nvrsim.simulator.runtime.http_auth import Attempt, Refused


class UsernameTokenChecker:
    """Freshness and replay checks for one device."""

    # Nonces are remembered for as long as their token could be fresh; a flood
    # of distinct nonces evicts the oldest first rather than growing memory.
    MAX_NONCES = 4096

    def __init__(self, freshness: float = 300.0, *, password_text: bool = False) -> None:
        self.freshness = freshness
        self.password_text = password_text
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # nonce → when it may be forgotten

    def examine(self, token: UsernameToken | None, device_now: float) -> Attempt | Refused:
        if token is None:
            return Refused("no UsernameToken")
        if not token.digest:
            if not self.password_text:
                return Refused("#PasswordText is not accepted")
            return Attempt("PasswordText", token.username, plain(token.password))
        if token.nonce is None or token.created is None:
            return Refused("a digest needs both Nonce and Created")
        created = parse_created(token.created)
        if created is None or abs(created - device_now) > self.freshness:
            return Refused("Created is outside the freshness window")
        if not self._first_use(token.nonce, device_now):
            return Refused("nonce replayed")
        nonce, created_text, sent = token.nonce, token.created, token.password.encode()

        def proof(password: str) -> bool:
            expected = password_digest(nonce, created_text, password).encode()
            return hmac.compare_digest(expected, sent)

        return Attempt("UsernameToken", token.username, proof)

    def _first_use(self, nonce: bytes, now: float) -> bool:
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if nonce in self._seen:
            return False
        self._seen[nonce] = now + 2 * self.freshness  # a token fresh now stays so this long
        while len(self._seen) > self.MAX_NONCES:
            self._seen.popitem(last=False)
        return True
