"""Dahua devices: the login hashes every front end shares, RPC2, CGI and /OutsideCmd.

`hashes` is pure; `rpc` and `cgi` are pure handlers of one request each
(request + client + now → reply) over the device model; `http` is the thin
aiohttp app that serves them on the device's own address.
"""
