"""Small numeric helpers shared by detectors: population baselines on a log
scale, squashing to [0, 1], and reading feature columns as numpy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from distillguard.engine.state import DetectionContext


#: Account-level findings weaker than this are not reported.
MIN_REPORTED = 0.3


def reported(score: np.ndarray) -> np.ndarray:
    """Indices of the rows whose score is worth a finding."""
    return np.flatnonzero(score >= MIN_REPORTED)


def column(table: pa.Table, name: str) -> np.ndarray:
    """A numeric column as float64 with nulls as NaN."""
    col = pc.cast(table.column(name), pa.float64())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def robust_z(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Robust z-score of ``log1p(values)`` against the population (median and
    MAD of the rows in ``mask``). NaN stays NaN."""
    x = np.log1p(np.maximum(values, 0.0))
    ref = x if mask is None else x[mask]
    ref = ref[np.isfinite(ref)]
    if len(ref) == 0:
        return np.zeros_like(x)
    med = float(np.median(ref))
    mad = float(np.median(np.abs(ref - med))) * 1.4826
    z: np.ndarray = (x - med) / max(mad, 0.25)
    return z


def squash(x: np.ndarray | float, at: float, width: float) -> np.ndarray:
    """Logistic map: 0.5 at ``at``, rising over about ``width``."""
    return np.asarray(1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) - at) / width)))


def ratio_text(value: float, base: float) -> str:
    if base <= 0:
        return "far above"
    r = value / base
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×"


def key_groups(
    ctx: DetectionContext, family: str, min_accounts: int, max_accounts: int
) -> list[tuple[str, list[str], int]]:
    """Keys of ``family`` shared by between ``min_accounts`` and
    ``max_accounts`` accounts, with their accounts and request count."""
    rows = ctx.sql(
        """
        SELECT p.key, list(a.account_id ORDER BY a.account_id) AS accounts, p.n
        FROM key_pop p JOIN acct_key a ON a.family = p.family AND a.key = p.key
        WHERE p.family = ? AND p.n_accounts BETWEEN ? AND ?
        GROUP BY p.key, p.n ORDER BY p.key
        """,
        [family, min_accounts, max_accounts],
    ).to_pydict()
    return list(zip(rows["key"], rows["accounts"], rows["n"], strict=True))
