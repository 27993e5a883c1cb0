"""The sandbox's HTTP layer: every endpoint of the contract plus the ``/sandbox/...`` admin ones.

Request order on ``/voice/...``: authenticate (401) -> account permission (403) -> rate
limit (429, not counted) -> parse the body (400) -> the store (its ``SandboxError``s carry
their own status). The store is synchronous and may take a while on large searches or
actions, so every call goes to the threadpool and the event loop keeps serving (and keeps
injecting faults) meanwhile.

The dialect in force (``config.dialect``, changeable at run time) is read on every request
and handed to the store, which applies it; the HTTP layer itself only pages the discovery
listings (``paging.py``) and decides whether an encoded ``%3F`` may stand for ``?``.
"""

from __future__ import annotations

import http
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, unquote_to_bytes

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from .admin import admin_router
from .auth import Principal, RcOAuthError, TokenExpired, TokenService
from .config import SandboxConfig
from .errors import (
    ACCESS_DENIED,
    INTERNAL_ERROR,
    INVALID_PARAM,
    INVALID_REQUEST,
    METHOD_NOT_ALLOWED,
    MISSING_PARAM,
    NOT_FOUND,
    TOO_MANY_REQUESTS,
    SandboxError,
    status_code_name,
)
from .faults import ASGIApp, FaultInjector, FaultMiddleware, Receive, Scope, Send
from .limits import InFlight, RateLimiter, classify
from .paging import discovery_page, lead_search_window
from .store import SandboxStore
from .web import (
    SandboxState,
    body_object,
    call,
    errors_text,
    json_response,
    parse_model,
    state_of,
)
from .wire import JWT_EXPIRED, TEXT, ApiError, error_body, retry_after_header

ADMIN_PREFIX = "/voice/api/v1/admin"


# --- request bodies ----------------------------------------------------------------------


class LeadActionParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    paramMap: dict[str, Any] | None = None


class LeadActionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    campaignLeadSearchCriteria: dict[str, Any]
    leadActionParams: LeadActionParams | None = None


async def _form(request: Request) -> dict[str, str]:
    """URL-encoded form fields, then query parameters for what the form lacks."""
    raw = await request.body()
    fields: dict[str, str] = {}
    if raw:
        try:
            fields = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise ApiError(400, INVALID_REQUEST, "Malformed form body") from exc
    for key, value in request.query_params.items():
        fields.setdefault(key, value)
    return fields


# --- /voice guard --------------------------------------------------------------------------


async def voice_guard(request: Request) -> Principal:
    state = state_of(request)
    principal = state.tokens.authenticate(
        request.headers.get("authorization"), request.headers.get("x-auth-token")
    )
    account = request.path_params.get("accountId")
    if account is not None and str(account) in state.config.restricted_account_ids:
        raise ApiError(403, ACCESS_DENIED, f"No permission on account {account}")
    classified = classify(request.method, request.url.path, dict(request.query_params))
    if classified is not None:
        op_class, key = classified
        _rate_limit(state, op_class, key)
    return principal


def _rate_limit(state: SandboxState, op_class: str, key: str) -> None:
    wait = state.limiter.acquire(op_class, key)
    if wait is None:
        return
    headers = retry_after_header(wait) if state.config.send_retry_after else None
    raise ApiError(
        429, TOO_MANY_REQUESTS, "Too Many Requests", f"Rate limit exceeded: {op_class}", headers
    )


# --- routers -------------------------------------------------------------------------------


def _voice_router() -> APIRouter:
    r = APIRouter(prefix=ADMIN_PREFIX, dependencies=[Depends(voice_guard)])

    @r.get("/accounts")
    async def accounts(request: Request) -> Response:
        state = state_of(request)
        rows = await call(state.store.accounts)
        hidden = set(state.config.restricted_account_ids)
        return json_response([a for a in rows if str(a.get("accountId")) not in hidden])

    @r.get("/accounts/{accountId}/dialGroups")
    async def dial_groups(
        request: Request, accountId: str, page: int | None = None, maxRows: int | None = None
    ) -> Response:
        state = state_of(request)
        rows = await call(state.store.dial_groups, accountId)
        return json_response(discovery_page(state.config.dialect, rows, page, maxRows))

    @r.get("/accounts/{accountId}/dialGroups/withChildren")
    async def dial_groups_with_children(
        request: Request, accountId: str, page: int | None = None, maxRows: int | None = None
    ) -> Response:
        state = state_of(request)
        rows = await call(state.store.dial_groups_with_children, accountId)
        return json_response(discovery_page(state.config.dialect, rows, page, maxRows))

    @r.get("/accounts/{accountId}/dialGroups/{dialGroupId:int}/campaigns")
    async def campaigns(
        request: Request,
        accountId: str,
        dialGroupId: int,
        page: int | None = None,
        maxRows: int | None = None,
    ) -> Response:
        state = state_of(request)
        rows = await call(state.store.campaigns, accountId, dialGroupId)
        return json_response(discovery_page(state.config.dialect, rows, page, maxRows))

    @r.get("/accounts/{accountId}/dialGroups/{dialGroupId:int}/campaigns/{campaignId:int}/lists")
    async def lists(
        request: Request, accountId: str, dialGroupId: int, campaignId: int
    ) -> Response:
        state = state_of(request)
        return json_response(await call(state.store.lists, accountId, dialGroupId, campaignId))

    @r.get(
        "/accounts/{accountId}/dialGroups/{dialGroupId:int}/campaigns/{campaignId:int}"
        "/campaignDispositions"
    )
    async def campaign_dispositions(
        request: Request, accountId: str, dialGroupId: int, campaignId: int
    ) -> Response:
        state = state_of(request)
        rows = await call(state.store.campaign_dispositions, accountId, dialGroupId, campaignId)
        return json_response(rows)

    @r.get("/accounts/{accountId}/campaignLeads/leadStates")
    async def lead_states(request: Request, accountId: str) -> Response:
        state = state_of(request)
        await call(state.store.require_account, accountId)
        return json_response(await call(state.store.lead_states))

    @r.get("/accounts/{accountId}/campaignLeads/systemDispositions")
    async def system_dispositions(request: Request, accountId: str) -> Response:
        state = state_of(request)
        await call(state.store.require_account, accountId)
        return json_response(await call(state.store.system_dispositions))

    @r.post("/accounts/{accountId}/campaignLeads/leadSearch")
    async def lead_search(
        request: Request,
        accountId: str,
        page: int | None = None,
        maxRows: int | None = None,
        count: bool = False,
    ) -> Response:
        state = state_of(request)
        dialect = state.config.dialect
        criteria = await body_object(request)
        if count:
            # Decision (contract section 4): a bare JSON integer.
            return json_response(await call(state.store.count, accountId, criteria, dialect))
        window = lead_search_window(dialect, page, maxRows)
        if window is None:  # below the base, read as "no such page": criteria still checked
            await call(state.store.count, accountId, criteria, dialect)
            return json_response([])
        offset, limit = window
        rows = await call(state.store.search, accountId, criteria, offset, limit, dialect)
        return json_response(rows)

    @r.put("/accounts/{accountId}/campaignLeads/actions")
    async def lead_action(request: Request, accountId: str, leadAction: str) -> Response:
        state = state_of(request)
        body = parse_model(LeadActionRequest, await body_object(request))
        params = body.leadActionParams.paramMap if body.leadActionParams else None
        result = await call(
            state.store.apply_action,
            accountId,
            leadAction,
            body.campaignLeadSearchCriteria,
            params,
            state.config.dialect,
        )
        return json_response(result)

    @r.post("/accounts/{accountId}/campaigns/{campaignId:int}/leadLoader/direct")
    async def lead_loader(request: Request, accountId: str, campaignId: int) -> Response:
        state = state_of(request)
        body = await body_object(request)
        # HTTP 200 even when processing failed (contract section 6): the body says so.
        result = await call(
            state.store.load_leads, accountId, campaignId, body, state.config.dialect
        )
        return json_response(result)

    def update_route(method: Literal["PATCH", "PUT"]) -> Any:
        async def update_lead(
            request: Request, accountId: str, leadId: int, campaignId: int | None = None
        ) -> Response:
            state = state_of(request)
            body = await body_object(request)
            lead = await call(
                state.store.update_lead,
                accountId,
                leadId,
                body,
                campaignId,
                state.config.dialect,
                method,
            )
            return json_response(lead)

        return update_lead

    for method in ("PATCH", "PUT"):  # one route each, so OpenAPI gets distinct operation ids
        r.add_api_route(
            "/accounts/{accountId}/campaignLeads/{leadId:int}",
            update_route(method),
            methods=[method],
            name=f"{method.lower()}_campaign_lead",
        )
    return r


def _auth_router() -> APIRouter:
    r = APIRouter()

    @r.post("/restapi/oauth/token")
    async def rc_token(request: Request) -> Response:
        tokens = state_of(request).tokens
        form = await _form(request)
        result = tokens.rc_token(request.headers.get("authorization"), form)
        return json_response(result.model_dump(), headers={"Cache-Control": "no-store"})

    @r.post("/restapi/oauth/revoke")
    async def rc_revoke(request: Request) -> Response:
        form = await _form(request)
        state_of(request).tokens.rc_revoke(form.get("token", ""))
        return Response(status_code=200)

    @r.post("/api/auth/login/rc/accesstoken")
    async def exchange(request: Request) -> Response:
        state = state_of(request)
        form = await _form(request)
        client_id = state.tokens.check_rc_access_token(form.get("rcAccessToken"))
        _rate_limit(state, "token_exchange", f"rc-client:{client_id}")
        include = form.get("includeRefresh", "").strip().lower() == "true"
        accounts = await _visible_accounts(state)
        result = state.tokens.exchange(accounts, include, str(request.base_url))
        return json_response(result.model_dump())

    @r.post("/api/auth/token/refresh")
    async def refresh(request: Request) -> Response:
        state = state_of(request)
        form = await _form(request)
        accounts = await _visible_accounts(state)
        result = state.tokens.refresh(form.get("refresh_token"), accounts, str(request.base_url))
        return json_response(result.model_dump())

    return r


async def _visible_accounts(state: SandboxState) -> list[dict[str, Any]]:
    rows = await call(state.store.accounts)
    hidden = set(state.config.restricted_account_ids)
    return [a for a in rows if str(a.get("accountId")) not in hidden]


# --- errors --------------------------------------------------------------------------------


def _install_error_handlers(app: FastAPI) -> None:
    def render(
        request: Request,
        status: int,
        code: str,
        message: str,
        details: str | None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if status == 401:
            state_of(request).tokens.count_unauthorized()
        body = error_body(code, message, details, request.url.path, request.method)
        return json_response(body, status=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return render(request, exc.status, exc.error_code, exc.message, exc.details, exc.headers)

    @app.exception_handler(SandboxError)
    async def sandbox_error(request: Request, exc: SandboxError) -> Response:
        return render(request, exc.status, exc.error_code, exc.message, exc.details)

    @app.exception_handler(TokenExpired)
    async def token_expired(request: Request, exc: TokenExpired) -> Response:
        state_of(request).tokens.count_unauthorized()
        return PlainTextResponse(JWT_EXPIRED, status_code=401, media_type=TEXT)

    @app.exception_handler(RcOAuthError)
    async def rc_oauth_error(request: Request, exc: RcOAuthError) -> Response:
        if exc.status == 401:
            state_of(request).tokens.count_unauthorized()
        return json_response(exc.body(), status=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # A required query parameter that is absent (leadAction) is "missing", like Spring's.
        missing = all(err.get("type") == "missing" for err in exc.errors())
        code = MISSING_PARAM if missing else INVALID_PARAM
        return render(request, 400, code, "Invalid request", errors_text(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}
        code = codes.get(exc.status_code) or _phrase_code(exc.status_code)
        headers = dict(exc.headers) if exc.headers else None
        return render(request, exc.status_code, code, str(exc.detail), None, headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return render(request, 500, INTERNAL_ERROR, "Unexpected error", repr(exc))


def _phrase_code(status: int) -> str:
    try:
        return status_code_name(http.HTTPStatus(status).phrase)
    except ValueError:
        return INVALID_REQUEST


# --- ASGI shim and app ---------------------------------------------------------------------


class EncodedQueryPath:
    """With lenient inputs, split a percent-encoded ``?`` in the raw path back into a query.

    The official SDK builds URLs with ``quote_plus(path, safe="/")``, so an endpoint given as
    ``.../actions?leadAction=MOVE_TO_CAMPAIGN`` arrives as ``.../actions%3FleadAction%3D...``.
    A real server routes on the decoded path, where that ``?`` is part of a path segment, so
    no endpoint matches (404); only the lenient (legacy) sandbox repairs it. It passes
    ``send`` through untouched, so the fault middleware still sees the server's own.
    """

    def __init__(self, app: ASGIApp, config: SandboxConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.config.dialect.lenient_inputs:
            raw: bytes = scope.get("raw_path") or scope.get("path", "").encode()
            cut = raw.lower().find(b"%3f")
            if cut >= 0:
                head, tail = raw[:cut], raw[cut + 3 :]
                query = unquote_to_bytes(tail)
                existing = scope.get("query_string") or b""
                scope = dict(scope)
                scope["raw_path"] = head
                scope["path"] = unquote(head.decode("latin-1"))
                scope["query_string"] = query + (b"&" + existing if existing else b"")
        await self.app(scope, receive, send)


class SandboxApp(FastAPI):
    """FastAPI whose middleware stack is wrapped by the fault layer *outside* Starlette's."""

    def build_middleware_stack(self) -> ASGIApp:
        state: SandboxState = self.state.sandbox
        inner = super().build_middleware_stack()
        faulty = FaultMiddleware(inner, state.faults, state.config)
        return EncodedQueryPath(InFlight(faulty, state.limiter), state.config)


def create_app(config: SandboxConfig, store: SandboxStore) -> FastAPI:
    app = SandboxApp(
        title="RingCX sandbox",
        summary="A stand-in for RingCentral RingCX (Engage Voice) per the project's API contract",
        docs_url="/sandbox/docs",
        openapi_url="/sandbox/openapi.json",
        redoc_url=None,
    )
    app.state.sandbox = SandboxState(
        config=config,
        store=store,
        tokens=TokenService(config),
        limiter=RateLimiter(config),
        faults=FaultInjector(config.faults),
    )
    _install_error_handlers(app)
    app.include_router(_auth_router())
    app.include_router(_voice_router())
    app.include_router(admin_router())
    return app
