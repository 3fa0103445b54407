"""The D-Link support portal over HTTP: server-rendered pages and a JSON API, one rule set.

Pages (jinja2, French by default, `?lang=en` switches and a cookie remembers)
follow seed 002 step by step; the JSON API under /api does the same for
automation, plus resellers issuing codes. Both translate into `rules.Portal`
calls and `Refusal`s into messages; neither decides anything itself.
Time comes only from the injected clock.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from nvrsim.simulator.clouds.dlink_portal.i18n import LANGUAGES, TEXT, translate
from nvrsim.simulator.clouds.dlink_portal.rules import (
    Account,
    Address,
    Portal,
    PortalError,
    Refusal,
)
from nvrsim.simulator.core.clock import Clock

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "DLPORTALSESSION"
LANG_COOKIE = "lang"
MAX_UPLOAD = 4 * 1024 * 1024  # a scanned invoice


@dataclass
class PortalState:
    portal: Portal
    clock: Clock
    sessions: dict[str, str] = field(default_factory=dict)  # token → account e-mail

    def now(self) -> float:
        return self.clock.now()

    def open_session(self, account: Account) -> str:
        token = secrets.token_urlsafe(24)
        self.sessions[token] = account.email.casefold()
        return token

    def account(self, token: str | None) -> Account | None:
        email = self.sessions.get(token or "")
        return self.portal.accounts.get(email) if email else None


STATE = web.AppKey("dlink_portal", PortalState)


class BadDate(ValueError):
    pass


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadDate(text) from None


def _today(request: web.Request) -> date:
    return datetime.fromtimestamp(request.app[STATE].now(), tz=UTC).date()


def _fmt_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- pages ----------------------------------------------------------------------------------


def _lang(request: web.Request) -> str:
    lang = request.query.get("lang") or request.cookies.get(LANG_COOKIE, "fr")
    return lang if lang in LANGUAGES else "fr"


def _account(request: web.Request) -> Account | None:
    return request.app[STATE].account(request.cookies.get(SESSION_COOKIE))


def render(
    request: web.Request, template: str, status: int = 200, **context: object
) -> web.Response:
    lang = _lang(request)
    other = "en" if lang == "fr" else "fr"
    context |= {
        "lang": lang,
        "other_lang": other,
        # The same page, with what it showed, in the other language.
        "switch_url": f"{request.path}?{urlencode({**request.query, 'lang': other})}",
        "t": lambda key: translate(key, lang),
        "account": _account(request),
        "path": request.path,
        "fmt_time": _fmt_time,
        "today": _today(request).isoformat(),
    }
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    if "lang" in request.query and request.query["lang"] in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, path="/", samesite="Lax")
    return response


def _refused(exc: PortalError | BadDate) -> str:
    if isinstance(exc, BadDate):
        return "bad_date"
    return exc.refusal.value


Page = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]


def signed_in(page: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def wrapper(request: web.Request) -> web.StreamResponse:
        account = _account(request)
        if account is None:
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
        return await page(request, account)

    return wrapper


def _done(path: str, key: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{path}?done={key}")


def _notice(request: web.Request) -> str | None:
    done = request.query.get("done", "")
    return done if done in TEXT else None


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/home" if _account(request) else "/login")


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/home"


async def login_page(request: web.Request) -> web.StreamResponse:
    error = None
    if request.method == "POST":
        form = await request.post()
        state = request.app[STATE]
        try:
            account = state.portal.log_in(str(form.get("email", "")), str(form.get("password", "")))
        except PortalError as exc:
            error = _refused(exc)
        else:
            response = web.HTTPSeeOther(_safe_next(request.query.get("next", "/home")))
            response.set_cookie(
                SESSION_COOKIE, state.open_session(account), path="/", httponly=True, samesite="Lax"
            )
            raise response
    return render(request, "login.html", status=400 if error else 200, error=error)


async def logout(request: web.Request) -> web.StreamResponse:
    request.app[STATE].sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def _address(form) -> Address:
    return Address(
        *(str(form.get(k, "")).strip() for k in ("street", "postcode", "city", "country"))
    )


async def signup_page(request: web.Request) -> web.StreamResponse:
    error, form = None, {}
    if request.method == "POST":
        form = await request.post()
        state = request.app[STATE]
        try:
            account = state.portal.sign_up(
                str(form.get("email", "")),
                str(form.get("password", "")),
                str(form.get("name", "")),
                str(form.get("company", "")),
                _address(form),
            )
        except PortalError as exc:
            error = _refused(exc)
        else:
            response = web.HTTPSeeOther("/home")
            response.set_cookie(
                SESSION_COOKIE, state.open_session(account), path="/", httponly=True, samesite="Lax"
            )
            raise response
    return render(request, "signup.html", status=400 if error else 200, error=error, form=form)


@signed_in
async def home(request: web.Request, account: Account) -> web.StreamResponse:
    return render(request, "home.html")


@signed_in
async def products_page(request: web.Request, account: Account) -> web.StreamResponse:
    portal = request.app[STATE].portal
    return render(
        request, "products.html", products=portal.products_of(account), notice=_notice(request)
    )


@signed_in
async def product_new(request: web.Request, account: Account) -> web.StreamResponse:
    portal, error, form = request.app[STATE].portal, None, {}
    if request.method == "POST":
        form = await request.post()
        proof = form.get("proof_of_purchase")
        proof_name = getattr(proof, "filename", "") or ""
        try:
            portal.register_product(
                account,
                serial=str(form.get("serial", "")),
                model=str(form.get("model", "")),
                hardware_version=str(form.get("hardware_version", "")),
                mac=str(form.get("mac", "")),
                purchase_date=_date(str(form.get("purchase_date", ""))),
                proof_of_purchase=proof_name,
                site=str(form.get("site", "")),
                now=request.app[STATE].now(),
            )
        except (PortalError, BadDate) as exc:
            error = _refused(exc)
        else:
            raise _done("/products", "product_registered_ok")
    return render(
        request,
        "product_new.html",
        status=400 if error else 200,
        error=error,
        form=form,
        sites=account.sites,
    )


@signed_in
async def sites_page(request: web.Request, account: Account) -> web.StreamResponse:
    query = request.query.get("q", "")
    sites = request.app[STATE].portal.find_sites(account, query)
    return render(request, "sites.html", sites=sites, q=query, notice=_notice(request))


@signed_in
async def site_new(request: web.Request, account: Account) -> web.StreamResponse:
    error, form = None, {}
    back = _safe_next(request.query.get("next", "/sites"))
    if request.method == "POST":
        form = await request.post()
        try:
            site = request.app[STATE].portal.create_site(
                account, str(form.get("name", "")), _address(form)
            )
        except PortalError as exc:
            error = _refused(exc)
        else:
            raise web.HTTPSeeOther(f"{back}?done=site_created_ok&q={site.number}")
    return render(
        request, "site_new.html", status=400 if error else 200, error=error, form=form, back=back
    )


@signed_in
async def das_page(request: web.Request, account: Account) -> web.StreamResponse:
    state = request.app[STATE]
    if account.terms_accepted_at is None:
        return render(request, "das_terms.html")
    site_q = request.query.get("q", "")
    return render(
        request,
        "das.html",
        products=[
            (p, state.portal.current_activation(p.serial, state.now()))
            for p in state.portal.products_of(account)
        ],
        sites=state.portal.find_sites(account, site_q) or account.sites,
        q=site_q,
        notice=_notice(request),
    )


@signed_in
async def das_terms(request: web.Request, account: Account) -> web.StreamResponse:
    form = await request.post()
    if form.get("accept") != "yes":
        return render(request, "das_terms.html", status=400, error="terms_not_accepted")
    request.app[STATE].portal.accept_terms(account, request.app[STATE].now())
    raise web.HTTPSeeOther("/das")


@signed_in
async def das_activate(request: web.Request, account: Account) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    try:
        state.portal.activate(
            account,
            serial=str(form.get("serial", "")),
            code=str(form.get("code", "")),
            service_purchase_date=_date(str(form.get("service_purchase_date", ""))),
            site=str(form.get("site", "")),
            now=state.now(),
        )
    except (PortalError, BadDate) as exc:
        products = [
            (p, state.portal.current_activation(p.serial, state.now()))
            for p in state.portal.products_of(account)
        ]
        return render(
            request,
            "das.html",
            status=400,
            products=products,
            sites=account.sites,
            q="",
            error=_refused(exc),
            failed_serial=str(form.get("serial", "")),
            form=form,
        )
    raise _done("/services", "activated_ok")


@signed_in
async def services_page(request: web.Request, account: Account) -> web.StreamResponse:
    state = request.app[STATE]
    query = request.query.get("q", "").strip().casefold()
    services = [
        s
        for s in state.portal.services(account)
        if not query
        or query in s.serial.casefold()
        or query in s.model.casefold()
        or query in s.site.casefold()
    ]
    return render(
        request,
        "services.html",
        services=services,
        now=state.now(),
        q=request.query.get("q", ""),
        notice=_notice(request),
    )


@signed_in
async def search_page(request: web.Request, account: Account) -> web.StreamResponse:
    state = request.app[STATE]
    query = request.query.get("q", "")
    findings = state.portal.find(account, query, state.now()) if query.strip() else []
    return render(request, "search.html", findings=findings, q=query)


# --- JSON API ------------------------------------------------------------------------------


def api_error(refusal: str, status: int = 400, lang: str = "en") -> web.Response:
    return web.json_response({"error": refusal, "message": translate(refusal, lang)}, status=status)


_API_STATUS = {
    Refusal.BAD_CREDENTIALS: 401,
    Refusal.UNKNOWN_RESELLER: 401,
    Refusal.EMAIL_TAKEN: 409,
    Refusal.PRODUCT_TAKEN: 409,
    Refusal.SITE_EXISTS: 409,
    Refusal.ALREADY_ACTIVATED: 409,
    Refusal.CODE_USED: 409,
    Refusal.PRODUCT_NOT_REGISTERED: 404,
    Refusal.UNKNOWN_CODE: 404,
    Refusal.UNKNOWN_SITE: 404,
    Refusal.TERMS_NOT_ACCEPTED: 403,
}


async def _json(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest() from None
    if not isinstance(body, dict) or not all(isinstance(v, str | int) for v in body.values()):
        raise web.HTTPBadRequest()
    return {k: str(v) for k, v in body.items()}


ApiHandler = Callable[[web.Request, dict, Account | None], Awaitable[web.StreamResponse]]


def api(handler: ApiHandler, *, signed: bool = True, body: bool = True):
    async def wrapper(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        account = state.account(token)
        if signed and account is None:
            return api_error("bad_credentials", 401)
        try:
            data = await _json(request) if body else dict(request.query)
        except web.HTTPBadRequest:
            return api_error("missing_field")
        try:
            return await handler(request, data, account)
        except PortalError as exc:
            return api_error(exc.refusal.value, _API_STATUS.get(exc.refusal, 400))
        except BadDate:
            return api_error("bad_date")

    return wrapper


def _product_json(p) -> dict:
    return {
        "serial": p.serial,
        "model": p.model,
        "hardware_version": p.hardware_version,
        "mac": p.mac,
        "purchase_date": p.purchase_date.isoformat(),
        "site": p.site,
    }


def _service_json(a, now: float) -> dict:
    return {
        "number": a.number,
        "serial": a.serial,
        "model": a.model,
        "service": a.service,
        "site": a.site,
        "status": a.status(now),
        "valid_from": datetime.fromtimestamp(a.active_from, tz=UTC).isoformat(),
        "valid_until": datetime.fromtimestamp(a.valid_until, tz=UTC).isoformat(),
    }


async def api_sign_up(request, data, _account) -> web.Response:
    portal = request.app[STATE].portal
    account = portal.sign_up(
        data.get("email", ""),
        data.get("password", ""),
        data.get("name", ""),
        data.get("company", ""),
        Address(
            data.get("street", ""),
            data.get("postcode", ""),
            data.get("city", ""),
            data.get("country", ""),
        ),
    )
    return web.json_response({"email": account.email, "site": account.sites[0].number}, status=201)


async def api_log_in(request, data, _account) -> web.Response:
    state = request.app[STATE]
    account = state.portal.log_in(data.get("email", ""), data.get("password", ""))
    return web.json_response({"token": state.open_session(account)})


async def api_products(request, data, account) -> web.Response:
    return web.json_response(
        [_product_json(p) for p in request.app[STATE].portal.products_of(account)]
    )


async def api_register_product(request, data, account) -> web.Response:
    state = request.app[STATE]
    product = state.portal.register_product(
        account,
        serial=data.get("serial", ""),
        model=data.get("model", ""),
        hardware_version=data.get("hardware_version", ""),
        mac=data.get("mac", ""),
        purchase_date=_date(data.get("purchase_date", "")),
        proof_of_purchase=data.get("proof_of_purchase", ""),
        site=data.get("site", ""),
        now=state.now(),
    )
    return web.json_response(_product_json(product), status=201)


async def api_sites(request, data, account) -> web.Response:
    sites = request.app[STATE].portal.find_sites(account, data.get("q", ""))
    return web.json_response(
        [{"number": s.number, "name": s.name, "address": str(s.address)} for s in sites]
    )


async def api_create_site(request, data, account) -> web.Response:
    site = request.app[STATE].portal.create_site(
        account,
        data.get("name", ""),
        Address(
            data.get("street", ""),
            data.get("postcode", ""),
            data.get("city", ""),
            data.get("country", ""),
        ),
    )
    return web.json_response(
        {"number": site.number, "name": site.name, "address": str(site.address)}, status=201
    )


async def api_terms(request, data, account) -> web.Response:
    if data.get("accept") not in ("yes", "true", "1"):
        return api_error("terms_not_accepted", 403)
    request.app[STATE].portal.accept_terms(account, request.app[STATE].now())
    return web.json_response({"accepted": True})


async def api_activate(request, data, account) -> web.Response:
    state = request.app[STATE]
    activation = state.portal.activate(
        account,
        serial=data.get("serial", ""),
        code=data.get("code", ""),
        service_purchase_date=_date(data.get("service_purchase_date", "")),
        site=data.get("site", ""),
        now=state.now(),
    )
    return web.json_response(_service_json(activation, state.now()), status=201)


async def api_services(request, data, account) -> web.Response:
    state = request.app[STATE]
    return web.json_response(
        [_service_json(a, state.now()) for a in state.portal.services(account)]
    )


async def api_search(request, data, account) -> web.Response:
    state = request.app[STATE]
    findings = state.portal.find(account, data.get("q", ""), state.now())
    return web.json_response(
        [
            {"serial": f.serial, "verdict": f.verdict, "message": translate(f.verdict, "en")}
            for f in findings
        ]
    )


async def api_issue_code(request, data, _account) -> web.Response:
    issued = request.app[STATE].portal.issue_code(
        request.headers.get("X-Reseller-Key", ""),
        model=data.get("model", ""),
        serial=data.get("serial", ""),
        service=data.get("service", "D-Link Assist Next Business Day"),
        years=int(data["years"]) if data.get("years", "").isdigit() else 1,
        # A reseller that names no date sold the pack today.
        sold_on=_date(data["sold_on"]) if data.get("sold_on") else _today(request),
    )
    return web.json_response(
        {
            "code": issued.code,
            "model": issued.model,
            "serial": issued.serial,
            "sold_on": issued.sold_on.isoformat(),
        },
        status=201,
    )


# --- the application ---------------------------------------------------------------------------


@web.middleware
async def _errors(request: web.Request, handler) -> web.StreamResponse:
    """Portal pages for every error: never aiohttp's page, never a 500 for a bad request."""
    try:
        return await handler(request)
    except web.HTTPRedirection:
        raise
    except web.HTTPException as exc:
        if request.path.startswith("/api/"):
            return api_error("not_found" if exc.status == 404 else "missing_field", exc.status)
        return render(request, "error.html", status=exc.status, code=exc.status)
    except Exception:
        log.exception("portal %s %s failed", request.method, request.path)
        if request.path.startswith("/api/"):
            return api_error("internal_error", 500)
        return render(request, "error.html", status=500, code=500)


def portal_app(portal: Portal, clock: Clock) -> web.Application:
    app = web.Application(middlewares=[_errors], client_max_size=MAX_UPLOAD)
    app[STATE] = PortalState(portal, clock)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    r = app.router
    r.add_get("/", root)
    r.add_route("*", "/login", login_page)
    r.add_route("*", "/signup", signup_page)
    r.add_post("/logout", logout)
    r.add_get("/home", home)
    r.add_get("/products", products_page)
    r.add_route("*", "/products/new", product_new)
    r.add_get("/sites", sites_page)
    r.add_route("*", "/sites/new", site_new)
    r.add_get("/das", das_page)
    r.add_post("/das/terms", das_terms)
    r.add_post("/das/activate", das_activate)
    r.add_get("/services", services_page)
    r.add_get("/search", search_page)
    r.add_static("/static", HERE / "static")
    r.add_post("/api/accounts", api(api_sign_up, signed=False))
    r.add_post("/api/session", api(api_log_in, signed=False))
    r.add_get("/api/products", api(api_products, body=False))
    r.add_post("/api/products", api(api_register_product))
    r.add_get("/api/sites", api(api_sites, body=False))
    r.add_post("/api/sites", api(api_create_site))
    r.add_post("/api/terms", api(api_terms))
    r.add_post("/api/activations", api(api_activate))
    r.add_get("/api/services", api(api_services, body=False))
    r.add_get("/api/search", api(api_search, body=False))
    r.add_post("/api/reseller/codes", api(api_issue_code, signed=False))
    return app
