"""D-Link NIPCA requests, well-formed and hostile (docs/dlink.md): the CGI paths DCS
cameras serve, with query strings a client sends or should never send.

Choices where the public record is silent: the parameters drawn are those nvrsim's
handlers read (motion, user, mydlink registration); anything else rides along as noise,
which real firmware ignores too.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from hypothesis import strategies as st

__all__ = ["PATHS", "hostile_requests", "requests"]

PATHS = (
    "/common/info.cgi",
    "/config/stream_info.cgi",
    "/config/motion.cgi",
    "/config/datetime.cgi",
    "/config/rtspurl.cgi",
    "/config/user.cgi",
    "/config/mydlink.cgi",
    "/config/system_reset.cgi",
    "/config/system_reboot.cgi",
)
_READ_ONLY = PATHS[:5]
_PARAMS = {
    "enable": st.sampled_from(["yes", "no"]),
    "sensitivity": st.integers(0, 100).map(str),
    "name": st.just("admin"),
    "password": st.text("abcdefghijkmnpqrstuvwxyz23456789", min_size=0, max_size=12),
    "action": st.sampled_from(["register", "unregister", "status"]),
}


def requests(read_only: bool = False) -> st.SearchStrategy[tuple[str, str]]:
    """(method, path?query) pairs; `read_only` keeps to the paths that change nothing."""
    paths = st.sampled_from(_READ_ONLY if read_only else PATHS)
    query = st.dictionaries(st.sampled_from(sorted(_PARAMS)), st.just(""), max_size=3).flatmap(
        lambda keys: st.fixed_dictionaries({k: _PARAMS[k] for k in keys})
    )
    return st.builds(
        lambda path, params: ("GET", path + ("?" + urlencode(params) if params else "")),
        paths,
        st.just({}) if read_only else query,
    )


_SAFE = "/?=&%;:@!$'()*+,~"
hostile_requests: st.SearchStrategy[tuple[str, str]] = st.tuples(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS"]),
    st.one_of(
        st.builds(
            lambda path, junk: path + "?" + quote(junk, safe=_SAFE),
            st.sampled_from(PATHS),
            st.text(max_size=60),
        ),
        st.text(max_size=40).map(lambda t: "/" + quote(t, safe=_SAFE)),
        st.builds(
            lambda path, key, value: f"{path}?{quote(key)}={quote(value)}",
            st.sampled_from(PATHS),
            st.sampled_from(sorted(_PARAMS)) | st.text(max_size=8),
            st.text(max_size=80),
        ),
    ),
)
