"""Dahua's JSON-RPC error codes and texts (docs/protocols/dahua.md §2.3 table)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RpcError:
    code: int
    message: str


LOGIN_CHALLENGE = RpcError(268632079, "Component error: login challenge!")
PASSWORD_NOT_VALID = RpcError(268632085, "Component error: User or password not valid!")
LOCKED = RpcError(268632081, "Component error: User has been locked!")
NOT_INITIALISED = RpcError(268632086, "Component error: Device not initialized!")
INTERFACE_NOT_FOUND = RpcError(268632064, "Component error: interface not found!")
INVALID_REQUEST = RpcError(268894209, "Invalid request!")
METHOD_NOT_FOUND = RpcError(268894210, "Method not found!")
INVALID_PARAM = RpcError(268894211, "Invalid param!")
UNKNOWN = RpcError(268959743, "Unknown error! error code was not set in service!")
NO_DATA = RpcError(285409284, "No data!")
INVALID_SESSION = RpcError(287637505, "Invalid session in request data!")
ALREADY_INITIALISED = RpcError(268632087, "Component error: Device has been initialized!")  # [I]
