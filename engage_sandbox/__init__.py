"""A RingCX (Engage Voice) sandbox: a real HTTP server that behaves like the service per the
project's API contract (state, auth, limits, faults), for the demo, tests and users without
a live account. It shares no code with ``engage_voice``."""

from .config import FaultConfig, FaultRule, SandboxConfig
from .server import SandboxServer, serve_forever
from .store import SandboxStore

__all__ = [
    "FaultConfig",
    "FaultRule",
    "SandboxConfig",
    "SandboxServer",
    "SandboxStore",
    "serve_forever",
]
