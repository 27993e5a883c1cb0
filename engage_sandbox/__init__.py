"""A RingCX (Engage Voice) sandbox: a real HTTP server that behaves like the service per the
project's API contract (state, auth, limits, faults), for the demo, tests and users without
a live account. It shares no code with ``engage_voice``. Where the official material leaves a
question open, a dialect (``dialect.py``) picks the reading; see ``README.md`` here."""

from .config import FaultConfig, FaultRule, SandboxConfig
from .dialect import DIALECTS, Dialect, get_dialect
from .server import SandboxServer, serve_forever
from .store import SandboxStore

__all__ = [
    "DIALECTS",
    "Dialect",
    "FaultConfig",
    "FaultRule",
    "SandboxConfig",
    "SandboxServer",
    "SandboxStore",
    "get_dialect",
    "serve_forever",
]
