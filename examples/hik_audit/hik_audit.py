"""hik_audit: what an installer runs on a site it takes over.

For each Hikvision recorder or camera it is given, it finds the admin password among
the candidates the previous installer left (a list, a spreadsheet), then reads the
model, serial and firmware, and whether the device is still bound to someone's
Hik-Connect account (a second-hand device the new owner cannot add until it is unbound).

    python hik_audit.py 192.0.2.10:80 192.0.2.11 --passwords candidates.txt

A device locks a client out after a few wrong passwords (seven, for 30 minutes, on
most firmware), and a locked-out recorder on a customer's site is a lost afternoon.
So the audit reads what each refusal says (`retryLoginTime`, `lockStatus` in the
userCheck document) and stops while one try is still left, and a device that is
already locked is reported as such, not as "no password fits".
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import aiohttp

OK, LOCKED, NOT_ACTIVATED = "ok", "locked", "not-activated"
NO_PASSWORD_FITS, STOPPED, UNREACHABLE = "no-password-fits", "stopped-before-lockout", "unreachable"


@dataclass(frozen=True)
class Finding:
    url: str
    status: str  # one of the constants above
    password: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    bound: bool | None = None  # still bound to a Hik-Connect account
    tries_left: int | None = None


def _text(document: bytes, tag: str) -> str | None:
    """A field of an ISAPI document, whatever namespace its firmware writes."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError:
        return None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == tag:
            return (element.text or "").strip()
    return None


async def _get(url: str, user: str, password: str, path: str) -> tuple[int, bytes]:
    auth = aiohttp.DigestAuthMiddleware(user, password)
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(middlewares=(auth,), timeout=timeout) as session,
        session.get(url + path) as reply,
    ):
        return reply.status, await reply.read()


async def audit(url: str, candidates: list[str], user: str = "admin") -> Finding:
    """Find the password of the device at `url` among `candidates`, never locking it."""
    tries_left = None
    for password in dict.fromkeys(candidates):  # each candidate once
        try:
            status, body = await _get(url, user, password, "/ISAPI/System/deviceInfo")
        except aiohttp.ClientError:
            return Finding(url, UNREACHABLE)
        if status == 200:
            return await _inventory(url, user, password, body)
        if status == 403 and _text(body, "subStatusCode") == "notActivated":
            return Finding(url, NOT_ACTIVATED)
        if status != 401:
            return Finding(url, UNREACHABLE)
        if _text(body, "lockStatus") == "lock":
            return Finding(url, LOCKED, tries_left=0)
        left = _text(body, "retryLoginTime")
        tries_left = int(left) if left and left.isdigit() else None
        if tries_left is not None and tries_left <= 1:
            return Finding(url, STOPPED, tries_left=tries_left)  # the last one is not ours
    return Finding(url, NO_PASSWORD_FITS, tries_left=tries_left)


async def _inventory(url: str, user: str, password: str, info: bytes) -> Finding:
    status, ezviz = await _get(url, user, password, "/ISAPI/System/Network/EZVIZ")
    bound = _text(ezviz, "bindStatus") == "bind" if status == 200 else None
    return Finding(
        url,
        OK,
        password,
        _text(info, "model"),
        _text(info, "serialNumber"),
        _text(info, "firmwareVersion"),
        bound,
    )


async def audit_all(urls: list[str], candidates: list[str]) -> list[Finding]:
    return list(await asyncio.gather(*(audit(url, candidates) for url in urls)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("devices", nargs="+", metavar="HOST[:PORT]")
    parser.add_argument("--passwords", required=True, help="a file of candidates, one a line")
    args = parser.parse_args(argv)
    with open(args.passwords, encoding="utf-8") as f:
        candidates = [line.rstrip("\n") for line in f if line.strip()]
    urls = [d if d.startswith("http") else f"http://{d}" for d in args.devices]
    for found in asyncio.run(audit_all(urls, candidates)):
        bound = {True: "BOUND to Hik-Connect", False: "not bound", None: ""}[found.bound]
        print(f"{found.url}\t{found.status}\t{found.model or ''}\t{found.serial or ''}\t{bound}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
