"""A typed async client for the RingCentral RingCX (Engage Voice) REST API."""

from .client import CampaignRef, EngageClient
from .errors import (
    ActionFailedError,
    AmbiguousNameError,
    AmbiguousWriteError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    EngageError,
    InvalidRequestError,
    LeadLoadFailedError,
    NameResolutionError,
    NotFoundError,
    PagingMismatchError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnknownNameError,
    UnsafeCriteriaError,
)
from .settings import EngageSettings, SettingsError
from .sync import SyncEngageClient

__all__ = [
    "ActionFailedError",
    "AmbiguousNameError",
    "AmbiguousWriteError",
    "ApiError",
    "AuthenticationError",
    "CampaignRef",
    "ConfigurationError",
    "EngageClient",
    "EngageError",
    "EngageSettings",
    "SettingsError",
    "InvalidRequestError",
    "LeadLoadFailedError",
    "NameResolutionError",
    "NotFoundError",
    "PagingMismatchError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServerError",
    "SyncEngageClient",
    "TransportError",
    "UnknownNameError",
    "UnsafeCriteriaError",
]
