"""The pacing limiter, driven by a fake clock (time is the one thing we mock)."""

from __future__ import annotations

import asyncio

import pytest

from engage_voice.ratelimit import SlidingWindowLimiter, classify, shared_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_admits_up_to_limit_then_waits_for_oldest_completion():
    clock = FakeClock()
    lim = SlidingWindowLimiter([(3, 10.0)], clock=clock)
    with lim._lock:
        assert lim._delay(clock()) == 0
    for i in range(3):
        lim._inflight += 1
        clock.now += 1
        lim.release()  # completions at 1001, 1002, 1003
        assert lim._done[-1] == 1001 + i
    with lim._lock:
        # 4th request must wait until the completion at 1001 leaves the 10 s window.
        assert lim._delay(clock()) == pytest.approx(1001 + 10 - clock.now)


def test_inflight_requests_count_against_the_window():
    clock = FakeClock()
    lim = SlidingWindowLimiter([(2, 5.0)], clock=clock)
    lim._inflight = 2
    with lim._lock:
        assert lim._delay(clock()) > 0


def test_every_window_must_have_room():
    clock = FakeClock()
    lim = SlidingWindowLimiter([(10, 1.0), (3, 60.0)], clock=clock)
    for _ in range(3):
        lim._inflight += 1
        lim.release()
    clock.now += 2  # short window empty again, long window still full
    with lim._lock:
        assert lim._delay(clock()) == pytest.approx(58.0)


def test_margin_widens_windows():
    lim = SlidingWindowLimiter([(1, 1.0)], margin=0.25)
    assert lim.windows == ((1, 1.25),)


def test_invalid_windows_rejected():
    with pytest.raises(ValueError):
        SlidingWindowLimiter([])
    with pytest.raises(ValueError):
        SlidingWindowLimiter([(0, 1.0)])


async def test_real_pacing_spreads_requests_over_the_window():
    lim = SlidingWindowLimiter([(5, 0.3)])
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def one():
        async with lim.slot():
            starts.append(loop.time())

    await asyncio.gather(*(one() for _ in range(15)))
    starts.sort()
    # No 0.3 s span may contain more than 5 admissions.
    for i in range(len(starts) - 5):
        assert starts[i + 5] - starts[i] >= 0.29
    assert lim.waits >= 10


def test_shared_limiter_is_process_wide_per_key():
    a = shared_limiter(("h", "acct", "lead_actions"), [(30, 10.0)], 0.05)
    b = shared_limiter(("h", "acct", "lead_actions"), [(30, 10.0)], 0.05)
    c = shared_limiter(("h", "other", "lead_actions"), [(30, 10.0)], 0.05)
    assert a is b and a is not c


@pytest.mark.parametrize(
    ("method", "path", "params", "expected"),
    [
        ("POST", "/api/auth/login/rc/accesstoken", None, "token_exchange"),
        ("POST", "/voice/api/v1/admin/accounts/1/campaignLeads/leadSearch", {}, "lead_search"),
        (
            "POST",
            "/voice/api/v1/admin/accounts/1/campaignLeads/leadSearch",
            {"count": "true"},
            "lead_search_count",
        ),
        ("PUT", "/voice/api/v1/admin/accounts/1/campaignLeads/actions", None, "lead_actions"),
        ("POST", "/voice/api/v1/admin/accounts/1/campaigns/5/leadLoader/direct", None, "lead_loader"),
        ("PATCH", "/voice/api/v1/admin/accounts/1/campaignLeads/77", None, "lead_update"),
        ("GET", "/voice/api/v1/admin/accounts", None, "admin_other"),
    ],
)
def test_classify(method, path, params, expected):
    assert classify(method, path, params) == expected


def test_clients_with_other_windows_share_one_stricter_budget():
    # Regression: other settings (scale, margin) forked a second budget for the same
    # sub-account, so two clients together could exceed the service's window.
    a = shared_limiter(("h2", "acct", "lead_actions"), [(30, 10.0)], 0.0)
    b = shared_limiter(("h2", "acct", "lead_actions"), [(10, 1.0)], 0.0)
    assert a is b
    assert set(a.windows) == {(30, 10.0), (10, 1.0)}
