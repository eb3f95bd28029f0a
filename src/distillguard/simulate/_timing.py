"""Arrival times, vectorised. All times are integer microseconds since the epoch.

Three shapes cover every population: independent arrivals under a daily and
weekly rhythm in the sender's local time (:func:`rhythm`), human sessions of
several requests with think-time gaps (:func:`sessions`), and machine runs at a
steady rate with jitter (:func:`runs`).
"""

from __future__ import annotations

import numpy as np

US = 1_000_000
HOUR = 3600 * US
DAY = 24 * HOUR
BIN = 15 * 60 * US

#: Relative activity per local hour (0..23) and weekday (Monday first).
HUMAN_HOURS = np.asarray(
    [
        0.3,
        0.2,
        0.15,
        0.1,
        0.1,
        0.15,
        0.35,
        0.6,
        0.9,
        1.0,
        1.05,
        1.05,
        1.0,
        1.0,
        1.05,
        1.05,
        1.0,
        0.95,
        0.9,
        0.95,
        1.0,
        0.95,
        0.75,
        0.5,
    ]
)
WORK_HOURS = np.asarray(
    [
        0.04,
        0.03,
        0.03,
        0.03,
        0.03,
        0.05,
        0.1,
        0.4,
        0.9,
        1.0,
        1.0,
        0.8,
        0.85,
        1.0,
        1.0,
        0.95,
        0.8,
        0.55,
        0.3,
        0.2,
        0.15,
        0.1,
        0.08,
        0.05,
    ]
)
SCHOOL_HOURS = np.asarray([0.0] * 8 + [1.0, 1.0, 1.0, 0.5, 0.9, 1.0, 0.8, 0.3] + [0.0] * 8)
EVENING_HOURS = np.asarray(
    [
        0.2,
        0.1,
        0.05,
        0.02,
        0.02,
        0.05,
        0.2,
        0.4,
        0.3,
        0.3,
        0.3,
        0.35,
        0.45,
        0.4,
        0.5,
        0.7,
        0.9,
        1.0,
        1.0,
        1.0,
        1.0,
        0.9,
        0.7,
        0.4,
    ]
)
FLAT_HOURS = np.ones(24)
HUMAN_WEEK = np.asarray([1.0, 1.0, 1.0, 1.0, 0.95, 0.8, 0.85])
WORK_WEEK = np.asarray([1.0, 1.0, 1.0, 1.0, 0.9, 0.12, 0.08])
SCHOOL_WEEK = np.asarray([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
FLAT_WEEK = np.ones(7)


class Clock:
    """The simulated window, cut in 15-minute bins."""

    def __init__(self, start_us: int, end_us: int) -> None:
        self.start = start_us
        self.end = end_us
        self.edges = np.arange(start_us, end_us + BIN, BIN, dtype=np.int64)
        self.edges[-1] = end_us
        self._cdf: dict[tuple[float, bytes, bytes], np.ndarray] = {}

    def cdf(self, tz: float, hours: np.ndarray, week: np.ndarray) -> np.ndarray:
        key = (tz, hours.tobytes(), week.tobytes())
        if key not in self._cdf:
            local = self.edges[:-1] + int(tz * HOUR)
            hour = (local // HOUR) % 24
            weekday = (local // DAY + 3) % 7  # 1970-01-01 was a Thursday
            w = hours[hour] * week[weekday] * np.diff(self.edges)
            if w.sum() <= 0:
                w = np.diff(self.edges).astype(np.float64)
            c = np.concatenate([[0.0], np.cumsum(w)])
            self._cdf[key] = c / c[-1]
        return self._cdf[key]

    def rhythm(
        self,
        rng: np.random.Generator,
        tz: np.ndarray,
        hours: np.ndarray,
        week: np.ndarray,
        lo: np.ndarray | int | None = None,
        hi: np.ndarray | int | None = None,
    ) -> np.ndarray:
        """One time per entry of ``tz`` (UTC offset, hours), drawn from the daily
        and weekly rhythm in local time, within ``[lo, hi)`` when given."""
        n = len(tz)
        lo_a = np.broadcast_to(np.asarray(self.start if lo is None else lo, np.int64), (n,))
        hi_a = np.broadcast_to(np.asarray(self.end if hi is None else hi, np.int64), (n,))
        lo_a = np.clip(lo_a, self.start, self.end - 1)
        hi_a = np.clip(np.maximum(hi_a, lo_a + HOUR), self.start + 1, self.end)
        out = np.empty(n, np.int64)
        tz_key = np.round(np.asarray(tz, np.float64) * 2) / 2
        for value in np.unique(tz_key):
            where = np.flatnonzero(tz_key == value)
            c = self.cdf(float(value), hours, week)
            u_lo = np.interp(lo_a[where], self.edges, c)
            u_hi = np.interp(hi_a[where], self.edges, c)
            u = u_lo + rng.random(len(where)) * np.maximum(u_hi - u_lo, 0.0)
            out[where] = np.interp(u, c, self.edges).astype(np.int64)
        return np.clip(out, lo_a, hi_a - 1)


def segment_cumsum(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``values`` restarting at each new value of ``groups``
    (``groups`` sorted); the first element of a segment gets 0."""
    cs = np.cumsum(values)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(values)]))
    out: np.ndarray = cs - cs[first]
    return out


def sessions(
    rng: np.random.Generator,
    clock: Clock,
    owner: np.ndarray,
    tz: np.ndarray,
    hours: np.ndarray,
    week: np.ndarray,
    per_session: float,
    gap_s: float,
    lo: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Human sessions. ``owner`` gives each event's account (local index);
    ``tz``/``lo`` are per account. Returns (times, session id) per event."""
    n_acct = len(tz)
    k = np.bincount(owner, minlength=n_acct)
    mean_len = per_session * rng.lognormal(0.0, 0.4, n_acct)
    n_sess = np.maximum(1, np.round(k / mean_len)).astype(np.int64)
    n_sess = np.minimum(n_sess, np.maximum(k, 1))
    first = np.r_[0, np.cumsum(n_sess)[:-1]]
    sess_owner = np.repeat(np.arange(n_acct), n_sess)
    starts = clock.rhythm(rng, tz[sess_owner], hours, week, None if lo is None else lo[sess_owner])
    sess = first[owner] + (rng.random(len(owner)) * n_sess[owner]).astype(np.int64)
    order = np.argsort(sess, kind="stable")
    gaps = rng.lognormal(np.log(gap_s), 0.9, len(owner)) * US
    offset = segment_cumsum(gaps[order], sess[order]).astype(np.int64)
    ts = np.empty(len(owner), np.int64)
    ts[order] = starts[sess[order]] + offset
    late = ts >= clock.end
    ts[late] = clock.end - 1 - (rng.random(int(late.sum())) * HOUR).astype(np.int64)
    return ts, sess


def runs(
    rng: np.random.Generator,
    start: np.ndarray,
    count: np.ndarray,
    interval_s: np.ndarray,
    jitter: float,
) -> np.ndarray:
    """Machine runs: run ``i`` sends ``count[i]`` requests from ``start[i]``, one
    every ``interval_s[i]`` seconds on average (gamma gaps with coefficient of
    variation ``jitter``). Events come out grouped by run, in order."""
    run = np.repeat(np.arange(len(start)), count)
    shape = 1.0 / max(jitter, 1e-3) ** 2
    gaps = rng.gamma(shape, 1.0 / shape, len(run)) * interval_s[run] * US
    return start[run] + segment_cumsum(gaps, run).astype(np.int64)
