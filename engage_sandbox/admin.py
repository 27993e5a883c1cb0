"""The ``/sandbox/...`` admin endpoints: health, stats, config, settings, faults, reset.

They are the sandbox's own, not RingCX's: never authenticated, never rate limited, never
faulted. ``PUT /sandbox/settings`` changes the live config; a bad combination changes nothing
(everything is validated on a copy first). The dialect can be set by name, by a (partial)
object, or through the old paging shortcuts, which change the current dialect.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import DIALECT_SHORTCUTS, FaultConfig, SandboxConfig
from .dialect import DIALECTS, Dialect, resolve_dialect, with_changes
from .errors import INVALID_PARAM
from .seed import seed as seed_store
from .store import SandboxStore
from .web import body_json, call, errors_text, json_response, parse_model, state_of
from .wire import ApiError


class SettingsUpdate(BaseModel):
    """Run-time knobs of ``PUT /sandbox/settings``; absent fields are left as they are."""

    model_config = ConfigDict(extra="forbid")

    #: A dialect name, or an object: it starts from the dialect its ``name`` names, else
    #: from the current one, and overrides the fields it gives.
    dialect: str | dict[str, Any] | None = None
    # Shortcuts into the dialect (applied after ``dialect``).
    page_base: int | None = None
    max_rows_cap: int | None = Field(default=None, ge=1)
    max_rows_default: int | None = Field(default=None, ge=1)
    rate_limits_enabled: bool | None = None
    rate_limit_scale: float | None = Field(default=None, gt=0)
    rate_limits: dict[str, list[tuple[int, float]]] | None = None
    send_retry_after: bool | None = None
    access_token_ttl_seconds: float | None = Field(default=None, gt=0)
    restricted_account_ids: list[str] | None = None


#: The config fields GET/PUT /sandbox/settings show (the dialect and its shortcuts besides).
SETTINGS_FIELDS = tuple(
    name for name in SettingsUpdate.model_fields if name not in (*DIALECT_SHORTCUTS, "dialect")
)


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int | None = None
    leads: int | None = Field(default=None, ge=0)


def settings_view(cfg: SandboxConfig) -> dict[str, Any]:
    view = cfg.model_dump(mode="json", include=set(SETTINGS_FIELDS))
    view.update({name: getattr(cfg, name) for name in DIALECT_SHORTCUTS})
    view["dialect"] = cfg.dialect.model_dump(mode="json")
    return view


def _new_dialect(current: Dialect, update: SettingsUpdate) -> Dialect:
    try:
        dialect = current if update.dialect is None else resolve_dialect(update.dialect, current)
        shortcuts = {k: getattr(update, k) for k in DIALECT_SHORTCUTS}
        shortcuts = {k: v for k, v in shortcuts.items() if v is not None}
        return with_changes(dialect, **shortcuts) if shortcuts else dialect
    except ValidationError as exc:
        raise ApiError(400, INVALID_PARAM, "Invalid dialect", errors_text(exc)) from exc
    except ValueError as exc:  # UnknownDialect lists the known names
        raise ApiError(400, INVALID_PARAM, str(exc)) from exc


def admin_router() -> APIRouter:
    r = APIRouter(prefix="/sandbox")

    @r.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @r.get("/stats")
    async def stats(request: Request) -> Response:
        state = state_of(request)
        return json_response(
            {
                "store": await call(state.store.stats),
                **state.limiter.stats(),
                "faults_by_kind": state.faults.stats(),
                "auth": state.tokens.stats(),
            }
        )

    @r.get("/config")
    async def config(request: Request) -> Response:
        state = state_of(request)
        view = state.config.public_dump()
        view["faults"] = state.faults.config.model_dump(mode="json")
        view["faults_script_remaining"] = state.faults.remaining_script()
        return json_response(view)

    @r.put("/faults")
    async def put_faults(request: Request) -> Response:
        state = state_of(request)
        faults = parse_model(FaultConfig, await body_json(request))
        state.faults.configure(faults)
        state.config.faults = faults
        return json_response(faults.model_dump(mode="json"))

    @r.delete("/faults")
    async def delete_faults(request: Request) -> Response:
        state = state_of(request)
        state.faults.clear()
        state.config.faults = state.faults.config
        return json_response(state.faults.config.model_dump(mode="json"))

    @r.put("/settings")
    async def put_settings(request: Request) -> Response:
        state = state_of(request)
        update = parse_model(SettingsUpdate, await body_json(request))
        changes: dict[str, Any] = update.model_dump(
            exclude_none=True, exclude={*DIALECT_SHORTCUTS, "dialect"}
        )
        changes["dialect"] = _new_dialect(state.config.dialect, update)
        try:
            # validate a copy first so a bad combination changes nothing
            SandboxConfig.model_validate({**dict(state.config), **changes})
        except ValidationError as exc:
            raise ApiError(400, INVALID_PARAM, "Invalid settings", errors_text(exc)) from exc
        for name, value in changes.items():
            setattr(state.config, name, value)
        return json_response(settings_view(state.config))

    @r.get("/settings")
    async def get_settings(request: Request) -> Response:
        return json_response(settings_view(state_of(request).config))

    @r.get("/dialects")
    async def dialects() -> Response:
        return json_response({name: d.model_dump(mode="json") for name, d in DIALECTS.items()})

    @r.post("/tokens/expire")
    async def expire_tokens(request: Request) -> dict[str, int]:
        return {"expired": state_of(request).tokens.expire_all()}

    @r.post("/tokens/revoke")
    async def revoke_tokens(request: Request) -> dict[str, int]:
        return {"revoked": state_of(request).tokens.revoke_all()}

    @r.post("/reset")
    async def reset(request: Request) -> Response:
        state = state_of(request)
        raw = await request.body()
        body = parse_model(ResetRequest, await body_json(request) if raw.strip() else {})
        seed_value = body.seed if body.seed is not None else (state.config.seed or 1)
        leads = body.leads if body.leads is not None else state.config.leads
        summary = await call(_reseed, state.store, seed_value, leads)
        state.limiter.reset()
        state.faults.reset_counters()
        state.tokens.reset_counters()
        return json_response({"seed": seed_value, "leads": leads, "summary": summary})

    @r.post("/limits/reset")
    async def reset_limits(request: Request) -> dict[str, bool]:
        """Empty every rate-limit window (and its counters) without touching data."""
        state_of(request).limiter.reset()
        return {"reset": True}

    @r.get("/emails")
    async def emails(request: Request) -> Response:
        return json_response(await call(state_of(request).store.email_outbox))

    return r


def _reseed(store: SandboxStore, seed_value: int, leads: int) -> Any:
    store.reset()
    return _jsonable(seed_store(store, seed=seed_value, leads=leads))


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    return json.loads(json.dumps(value, default=str))
