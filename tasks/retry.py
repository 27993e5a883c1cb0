"""Which layer retries what: one layer per failure, so attempts never multiply.

| failure | retried by | how |
|---|---|---|
| connection error, timeout before the send, 5xx on a read | the client (`engage_voice.transport`) | `max_retries` attempts, capped exponential backoff with jitter (about 7.5 s at the defaults) |
| 429 | the client | waits `Retry-After` or its backoff, `max_rate_limit_wait` in total; never counted as an attempt |
| 401 `Jwt is expired` | the client | one refresh and replay |
| a write that may have been applied (a timeout after the send, a 5xx on a write) | the engine (`tasks.execution`) | reads the chunk back and resends only what is proven unapplied, with the client's backoff for the client's read budget; then the chunk is `deferred` for a re-run with the run key |
| the service unreachable past the client's budget (`OUTAGE`) | the Prefect task, once | after `OUTAGE_DELAY` seconds: an outage of tens of seconds, not a blip the client already rode out |
| 429 past `max_rate_limit_wait` (`RateLimitedError`) | nobody | the sub-account's budget is spent: the run fails, and a re-run with the run key resumes where it stopped |
| 4xx, guards, validation, refusals | nobody | final |

A flow run retried by Prefect (or re-run with the same run key) resumes from its journal:
that is the layer for everything else.
"""

from __future__ import annotations

from typing import Any

from engage_voice import ServerError, TransportError

# The one transient tuple: what the client gave up on and a later attempt may fix.
OUTAGE: tuple[type[BaseException], ...] = (TransportError, ServerError)
OUTAGE_RETRIES = 1
OUTAGE_DELAY = 20


def retry_on(*errors: type[BaseException]) -> Any:
    """A Prefect `retry_condition_fn`: retry only when the task failed with one of `errors`."""

    def condition(task_: Any, task_run: Any, state: Any) -> bool:
        try:
            state.result(raise_on_failure=True)
        except errors:
            return True
        except Exception:
            return False
        return False

    return condition


# The one retry predicate of the tasks (the undo's reload adds ambiguity to it, see there).
retry_outage = retry_on(*OUTAGE)
