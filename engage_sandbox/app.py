"""The sandbox's HTTP layer: every endpoint of the contract plus ``/sandbox/...`` admin endpoints.

Request order on ``/voice/...``: authenticate (401) -> account permission (403) -> rate
limit (429, not counted) -> parse the body (400) -> the store (its ``SandboxError``s carry
their own status). The store is synchronous and may take a while on large searches or
actions, so every call goes to the threadpool and the event loop keeps serving (and keeps
injecting faults) meanwhile.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, unquote_to_bytes

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .auth import Principal, RcOAuthError, TokenExpired, TokenService
from .config import FaultConfig, SandboxConfig
from .errors import SandboxError
from .faults import ASGIApp, FaultInjector, FaultMiddleware, Receive, Scope, Send
from .limits import RateLimiter, classify
from .seed import seed as seed_store
from .store import SandboxStore
from .wire import JSON, JWT_EXPIRED, TEXT, ApiError, dumps, error_body, retry_after_header

T = TypeVar("T")

ADMIN_PREFIX = "/voice/api/v1/admin"


# --- state -------------------------------------------------------------------------------


@dataclasses.dataclass
class SandboxState:
    config: SandboxConfig
    store: SandboxStore
    tokens: TokenService
    limiter: RateLimiter
    faults: FaultInjector


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox


async def _call(fn: Callable[..., T], *args: Any) -> T:
    return await run_in_threadpool(fn, *args)


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Straight to bytes: jsonable_encoder walks every value of a 1000-row page in Python.
    return Response(content=dumps(obj), status_code=status, media_type=JSON, headers=headers)


# --- request bodies ----------------------------------------------------------------------


class LeadActionParams(BaseModel):
    model_config = ConfigDict(extra="allow")

    paramMap: dict[str, Any] | None = None


class LeadActionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    campaignLeadSearchCriteria: dict[str, Any]
    leadActionParams: LeadActionParams | None = None


class SettingsUpdate(BaseModel):
    """Run-time knobs of ``PUT /sandbox/settings``; absent fields are left as they are."""

    model_config = ConfigDict(extra="forbid")

    page_base: int | None = None
    max_rows_cap: int | None = Field(default=None, ge=1)
    max_rows_default: int | None = Field(default=None, ge=1)
    rate_limits_enabled: bool | None = None
    rate_limit_scale: float | None = Field(default=None, gt=0)
    rate_limits: dict[str, list[tuple[int, float]]] | None = None
    send_retry_after: bool | None = None
    access_token_ttl_seconds: float | None = Field(default=None, gt=0)
    restricted_account_ids: list[str] | None = None


SETTINGS_FIELDS = tuple(SettingsUpdate.model_fields)


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int | None = None
    leads: int | None = Field(default=None, ge=0)


async def _body_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "INVALID_REQUEST", "Required request body is missing")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, "INVALID_REQUEST", "Malformed JSON request body", str(exc)) from exc


async def _body_object(request: Request) -> dict[str, Any]:
    body = await _body_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_REQUEST", "Request body must be a JSON object")
    return body


def _parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "INVALID_REQUEST", "Invalid request body", _errors_text(exc)) from exc


def _errors_text(exc: ValidationError | RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts)


async def _form(request: Request) -> dict[str, str]:
    """URL-encoded form fields, then query parameters for what the form lacks."""
    raw = await request.body()
    fields: dict[str, str] = {}
    if raw:
        try:
            fields = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise ApiError(400, "INVALID_REQUEST", "Malformed form body") from exc
    for key, value in request.query_params.items():
        fields.setdefault(key, value)
    return fields


# --- paging ------------------------------------------------------------------------------


def page_window(cfg: SandboxConfig, page: int | None, max_rows: int | None) -> tuple[int, int]:
    """(offset, limit) of a page, per the contract's paging Decisions.

    A page below the base is clamped to the base rather than refused: a client with the
    wrong page base then sees the first page twice, which it must detect.
    """
    rows = min(max_rows if max_rows and max_rows > 0 else cfg.max_rows_default, cfg.max_rows_cap)
    first = cfg.page_base
    number = first if page is None else max(page, first)
    return (number - first) * rows, rows


def _paged(cfg: SandboxConfig, rows: list[Any], page: int | None, max_rows: int | None) -> list:
    if page is None and max_rows is None:
        return rows
    offset, limit = page_window(cfg, page, max_rows)
    return rows[offset : offset + limit]


# --- /voice guard --------------------------------------------------------------------------


async def voice_guard(request: Request) -> Principal:
    state = _state(request)
    principal = state.tokens.authenticate(
        request.headers.get("authorization"), request.headers.get("x-auth-token")
    )
    account = request.path_params.get("accountId")
    if account is not None and str(account) in state.config.restricted_account_ids:
        raise ApiError(403, "FORBIDDEN", f"No permission on account {account}")
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
        429, "TOO_MANY_REQUESTS", "Too Many Requests", f"Rate limit exceeded: {op_class}", headers
    )


# --- routers -------------------------------------------------------------------------------


def _voice_router() -> APIRouter:
    r = APIRouter(prefix=ADMIN_PREFIX, dependencies=[Depends(voice_guard)])

    @r.get("/accounts")
    async def accounts(request: Request) -> Response:
        state = _state(request)
        rows = await _call(state.store.accounts)
        hidden = set(state.config.restricted_account_ids)
        return _json([a for a in rows if str(a.get("accountId")) not in hidden])

    @r.get("/accounts/{accountId}/dialGroups")
    async def dial_groups(
        request: Request, accountId: str, page: int | None = None, maxRows: int | None = None
    ) -> Response:
        state = _state(request)
        rows = await _call(state.store.dial_groups, accountId)
        return _json(_paged(state.config, rows, page, maxRows))

    @r.get("/accounts/{accountId}/dialGroups/withChildren")
    async def dial_groups_with_children(request: Request, accountId: str) -> Response:
        state = _state(request)
        return _json(await _call(state.store.dial_groups_with_children, accountId))

    @r.get("/accounts/{accountId}/dialGroups/{dialGroupId:int}/campaigns")
    async def campaigns(
        request: Request,
        accountId: str,
        dialGroupId: int,
        page: int | None = None,
        maxRows: int | None = None,
    ) -> Response:
        state = _state(request)
        rows = await _call(state.store.campaigns, accountId, dialGroupId)
        return _json(_paged(state.config, rows, page, maxRows))

    @r.get("/accounts/{accountId}/dialGroups/{dialGroupId:int}/campaigns/{campaignId:int}/lists")
    async def lists(
        request: Request, accountId: str, dialGroupId: int, campaignId: int
    ) -> Response:
        state = _state(request)
        return _json(await _call(state.store.lists, accountId, dialGroupId, campaignId))

    @r.get(
        "/accounts/{accountId}/dialGroups/{dialGroupId:int}/campaigns/{campaignId:int}"
        "/campaignDispositions"
    )
    async def campaign_dispositions(
        request: Request, accountId: str, dialGroupId: int, campaignId: int
    ) -> Response:
        state = _state(request)
        rows = await _call(state.store.campaign_dispositions, accountId, dialGroupId, campaignId)
        return _json(rows)

    @r.get("/accounts/{accountId}/campaignLeads/leadStates")
    async def lead_states(request: Request, accountId: str) -> Response:
        state = _state(request)
        await _call(state.store.require_account, accountId)
        return _json(await _call(state.store.lead_states))

    @r.get("/accounts/{accountId}/campaignLeads/systemDispositions")
    async def system_dispositions(request: Request, accountId: str) -> Response:
        state = _state(request)
        await _call(state.store.require_account, accountId)
        return _json(await _call(state.store.system_dispositions))

    @r.post("/accounts/{accountId}/campaignLeads/leadSearch")
    async def lead_search(
        request: Request,
        accountId: str,
        page: int | None = None,
        maxRows: int | None = None,
        count: bool = False,
    ) -> Response:
        state = _state(request)
        criteria = await _body_object(request)
        if count:
            # Decision (contract section 4): a bare JSON integer.
            return _json(await _call(state.store.count, accountId, criteria))
        offset, limit = page_window(state.config, page, maxRows)
        return _json(await _call(state.store.search, accountId, criteria, offset, limit))

    @r.put("/accounts/{accountId}/campaignLeads/actions")
    async def lead_action(request: Request, accountId: str, leadAction: str) -> Response:
        state = _state(request)
        body: LeadActionRequest = _parse(LeadActionRequest, await _body_object(request))
        params = body.leadActionParams.paramMap if body.leadActionParams else None
        result = await _call(
            state.store.apply_action,
            accountId,
            leadAction,
            body.campaignLeadSearchCriteria,
            params,
        )
        return _json(result)

    @r.post("/accounts/{accountId}/campaigns/{campaignId:int}/leadLoader/direct")
    async def lead_loader(request: Request, accountId: str, campaignId: int) -> Response:
        state = _state(request)
        body = await _body_object(request)
        # HTTP 200 even when processing failed (contract section 6): the body says so.
        return _json(await _call(state.store.load_leads, accountId, campaignId, body))

    async def update_lead(
        request: Request, accountId: str, leadId: int, campaignId: int | None = None
    ) -> Response:
        state = _state(request)
        body = await _body_object(request)
        lead = await _call(state.store.update_lead, accountId, leadId, body, campaignId)
        return _json(lead)

    for method in ("PATCH", "PUT"):  # one route each, so OpenAPI gets distinct operation ids
        r.add_api_route(
            "/accounts/{accountId}/campaignLeads/{leadId:int}",
            update_lead,
            methods=[method],
            name=f"{method.lower()}_campaign_lead",
        )
    return r


def _auth_router() -> APIRouter:
    r = APIRouter()

    @r.post("/restapi/oauth/token")
    async def rc_token(request: Request) -> Response:
        tokens = _state(request).tokens
        form = await _form(request)
        result = tokens.rc_token(request.headers.get("authorization"), form)
        return _json(result.model_dump(), headers={"Cache-Control": "no-store"})

    @r.post("/restapi/oauth/revoke")
    async def rc_revoke(request: Request) -> Response:
        form = await _form(request)
        _state(request).tokens.rc_revoke(form.get("token", ""))
        return Response(status_code=200)

    @r.post("/api/auth/login/rc/accesstoken")
    async def exchange(request: Request) -> Response:
        state = _state(request)
        form = await _form(request)
        client_id = state.tokens.check_rc_access_token(form.get("rcAccessToken"))
        _rate_limit(state, "token_exchange", f"rc-client:{client_id}")
        include = form.get("includeRefresh", "").strip().lower() == "true"
        accounts = await _visible_accounts(state)
        result = state.tokens.exchange(accounts, include, str(request.base_url))
        return _json(result.model_dump())

    @r.post("/api/auth/token/refresh")
    async def refresh(request: Request) -> Response:
        state = _state(request)
        form = await _form(request)
        accounts = await _visible_accounts(state)
        result = state.tokens.refresh(form.get("refresh_token"), accounts, str(request.base_url))
        return _json(result.model_dump())

    return r


async def _visible_accounts(state: SandboxState) -> list[dict[str, Any]]:
    rows = await _call(state.store.accounts)
    hidden = set(state.config.restricted_account_ids)
    return [a for a in rows if str(a.get("accountId")) not in hidden]


def _admin_router() -> APIRouter:
    r = APIRouter(prefix="/sandbox")

    @r.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @r.get("/stats")
    async def stats(request: Request) -> Response:
        state = _state(request)
        return _json(
            {
                "store": await _call(state.store.stats),
                **state.limiter.stats(),
                "faults_by_kind": state.faults.stats(),
                "auth": state.tokens.stats(),
            }
        )

    @r.get("/config")
    async def config(request: Request) -> Response:
        state = _state(request)
        view = state.config.public_dump()
        view["faults"] = state.faults.config.model_dump(mode="json")
        view["faults_script_remaining"] = state.faults.remaining_script()
        return _json(view)

    @r.put("/faults")
    async def put_faults(request: Request) -> Response:
        state = _state(request)
        faults: FaultConfig = _parse(FaultConfig, await _body_json(request))
        state.faults.configure(faults)
        state.config.faults = faults
        return _json(faults.model_dump(mode="json"))

    @r.delete("/faults")
    async def delete_faults(request: Request) -> Response:
        state = _state(request)
        state.faults.clear()
        state.config.faults = state.faults.config
        return _json(state.faults.config.model_dump(mode="json"))

    @r.put("/settings")
    async def put_settings(request: Request) -> Response:
        state = _state(request)
        update: SettingsUpdate = _parse(SettingsUpdate, await _body_json(request))
        changes = update.model_dump(exclude_none=True)
        try:
            # validate a copy first so a bad combination changes nothing
            SandboxConfig.model_validate({**state.config.model_dump(), **changes})
        except ValidationError as exc:
            raise ApiError(400, "INVALID_REQUEST", "Invalid settings", _errors_text(exc)) from exc
        for name, value in changes.items():
            setattr(state.config, name, value)
        return _json(_settings_view(state.config))

    @r.get("/settings")
    async def get_settings(request: Request) -> Response:
        return _json(_settings_view(_state(request).config))

    @r.post("/tokens/expire")
    async def expire_tokens(request: Request) -> dict[str, int]:
        return {"expired": _state(request).tokens.expire_all()}

    @r.post("/tokens/revoke")
    async def revoke_tokens(request: Request) -> dict[str, int]:
        return {"revoked": _state(request).tokens.revoke_all()}

    @r.post("/reset")
    async def reset(request: Request) -> Response:
        state = _state(request)
        raw = await request.body()
        body: ResetRequest = _parse(ResetRequest, await _body_json(request) if raw.strip() else {})
        seed_value = body.seed if body.seed is not None else (state.config.seed or 1)
        leads = body.leads if body.leads is not None else state.config.leads
        summary = await _call(_reseed, state.store, seed_value, leads)
        state.limiter.reset()
        state.faults.reset_counters()
        state.tokens.reset_counters()
        return _json({"seed": seed_value, "leads": leads, "summary": summary})

    @r.post("/limits/reset")
    async def reset_limits(request: Request) -> dict[str, bool]:
        """Empty every rate-limit window (and its counters) without touching data."""
        _state(request).limiter.reset()
        return {"reset": True}

    @r.get("/emails")
    async def emails(request: Request) -> Response:
        return _json(await _call(_state(request).store.email_outbox))

    return r


def _settings_view(cfg: SandboxConfig) -> dict[str, Any]:
    return cfg.model_dump(mode="json", include=set(SETTINGS_FIELDS))


def _reseed(store: SandboxStore, seed_value: int, leads: int) -> Any:
    store.reset()
    return _jsonable(seed_store(store, seed=seed_value, leads=leads))


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    return json.loads(json.dumps(value, default=str))


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
            _state(request).tokens.count_unauthorized()
        body = error_body(code, message, details, request.url.path, request.method)
        return _json(body, status=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return render(request, exc.status, exc.error_code, exc.message, exc.details, exc.headers)

    @app.exception_handler(SandboxError)
    async def sandbox_error(request: Request, exc: SandboxError) -> Response:
        return render(request, exc.status, exc.error_code, exc.message, exc.details)

    @app.exception_handler(TokenExpired)
    async def token_expired(request: Request, exc: TokenExpired) -> Response:
        _state(request).tokens.count_unauthorized()
        return PlainTextResponse(JWT_EXPIRED, status_code=401, media_type=TEXT)

    @app.exception_handler(RcOAuthError)
    async def rc_oauth_error(request: Request, exc: RcOAuthError) -> Response:
        if exc.status == 401:
            _state(request).tokens.count_unauthorized()
        return _json(exc.body(), status=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return render(request, 400, "INVALID_REQUEST", "Invalid request", _errors_text(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        return render(request, exc.status_code, code, str(exc.detail), None, exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return render(request, 500, "INTERNAL_SERVER_ERROR", "Unexpected error", repr(exc))


# --- ASGI shim and app ---------------------------------------------------------------------


class EncodedQueryPath:
    """Split a percent-encoded ``?`` in the raw path back into path and query string.

    The official SDK builds URLs with ``quote_plus(path, safe="/")``, so an endpoint given as
    ``.../actions?leadAction=MOVE_TO_CAMPAIGN`` arrives as ``.../actions%3FleadAction%3D...``.
    It passes ``send`` through untouched, so the fault middleware still sees the server's own.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
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
        return EncodedQueryPath(FaultMiddleware(inner, state.faults, state.config))


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
    app.include_router(_admin_router())
    return app
