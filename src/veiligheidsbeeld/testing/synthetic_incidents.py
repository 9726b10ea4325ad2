"""SYNTHETIC incident extracts for tests and the demo (there is no open incident-level police data).

Deterministic for a seed. Woninginbraken follow a seasonal pattern (more in the Donkere Dagen,
October–March), cluster in a few neighbourhoods per area, have a pleegdatum window of 0–3 days
(a burglary is often found after a weekend away), and a share of them start a planted
near-repeat chain: follow-ups within ``chain_distance`` metres and ``chain_days`` days. Every
registration id starts with ``SYN-`` and the file carries a column ``synthetisch``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

#: Other crime codes mixed in (straatroof, overval, fietsdiefstal), at these shares of burglaries.
OTHER_TYPES = {"1.4.6": 0.15, "1.4.7": 0.02, "1.2.3": 0.6}


@dataclass(frozen=True)
class Area:
    """Where incidents happen: a code (a gemeente) and a sampler of points inside it."""

    code: str
    bounds: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax in RD New
    polygon: object | None = None  # a shapely polygon; points outside it are redrawn
    weight: float = 1.0
    #: Buurt codes of the area: each incident gets the code of the nearest of one random centre
    #: per buurt (synthetic Voronoi buurten, for when no buurt boundaries are at hand).
    buurten: tuple[str, ...] = ()


def seasonal_weights(days: pd.DatetimeIndex) -> np.ndarray:
    """Relative intensity per day: about 1.6x in December against June (Donkere Dagen)."""
    doy = days.dayofyear.to_numpy()
    return 1.0 + 0.3 * np.cos(2 * np.pi * (doy - 355) / 365.25)


def _points_in(area: Area, n: int, rng: np.random.Generator, centres: np.ndarray, spread: float) -> np.ndarray:
    from shapely import contains_xy

    xmin, ymin, xmax, ymax = area.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        k = n - len(out)
        # 70% around the area's neighbourhood centres, 30% spread over the area.
        around = rng.random(k) < 0.7
        pick = centres[rng.integers(0, len(centres), k)]
        pts = np.where(
            around[:, None],
            pick + rng.normal(0, spread, (k, 2)),
            np.column_stack([rng.uniform(xmin, xmax, k), rng.uniform(ymin, ymax, k)]),
        )
        ok = (pts[:, 0] >= xmin) & (pts[:, 0] <= xmax) & (pts[:, 1] >= ymin) & (pts[:, 1] <= ymax)
        if area.polygon is not None:
            ok &= contains_xy(area.polygon, pts[:, 0], pts[:, 1])
        out = np.vstack([out, pts[ok]])
    return out[:n]


def generate_incidents(
    areas: list[Area],
    start: date,
    end: date,
    *,
    burglaries_per_year: float = 400.0,
    chain_share: float = 0.25,
    chain_length: tuple[int, int] = (1, 3),
    chain_distance: float = 150.0,
    chain_days: int = 7,
    other_types: bool = True,
    seed: int = 18,
) -> pd.DataFrame:
    """A synthetic extract with the default column names of ``[incidenten].kolommen``.

    ``burglaries_per_year`` is spread over ``areas`` by weight; ``chain_share`` of the burglaries
    seed a near-repeat chain of ``chain_length`` follow-ups (uniform) within ``chain_distance``
    metres (Euclidean) and 1..``chain_days`` days later.
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end - timedelta(days=1), freq="D")
    weights = seasonal_weights(days)
    total_w = sum(a.weight for a in areas)
    rows: list[dict] = []
    for area in areas:
        xmin, ymin, xmax, ymax = area.bounds
        centres = _points_in(Area(area.code, area.bounds, area.polygon), 4, rng, np.array([[(xmin + xmax) / 2, (ymin + ymax) / 2]]), 1e9) \
            if area.polygon is not None else np.column_stack([rng.uniform(xmin, xmax, 4), rng.uniform(ymin, ymax, 4)])
        expected = burglaries_per_year * len(days) / 365.25 * area.weight / total_w
        n = int(rng.poisson(expected / (1 + chain_share * np.mean(chain_length))))
        day_index = rng.choice(len(days), size=n, p=weights / weights.sum())
        pts = _points_in(area, n, rng, centres, 400.0)
        for d, (px, py) in zip(day_index, pts):
            rows.append({"code": "1.1.1", "day": days[d], "x": px, "y": py, "area": area.code, "chain": False})
        first_row = len(rows) - n
        seeds = np.flatnonzero(rng.random(n) < chain_share)
        for s in seeds:
            for _ in range(int(rng.integers(chain_length[0], chain_length[1] + 1))):
                angle, radius = rng.uniform(0, 2 * np.pi), chain_distance * np.sqrt(rng.random())
                fx, fy = pts[s, 0] + radius * np.cos(angle), pts[s, 1] + radius * np.sin(angle)
                if area.polygon is not None:
                    from shapely import contains_xy

                    if not contains_xy(area.polygon, fx, fy):
                        continue
                day = days[day_index[s]] + timedelta(days=int(rng.integers(1, chain_days + 1)))
                if day > days[-1]:
                    continue
                rows.append({"code": "1.1.1", "day": day, "x": fx, "y": fy, "area": area.code, "chain": True})
        if other_types:
            for code, share in OTHER_TYPES.items():
                m = int(rng.poisson(expected * share))
                di = rng.choice(len(days), size=m, p=weights / weights.sum())
                for d, (px, py) in zip(di, _points_in(area, m, rng, centres, 600.0)):
                    rows.append({"code": code, "day": days[d], "x": px, "y": py, "area": area.code, "chain": False})
        if area.buurten:
            from scipy.spatial import cKDTree

            buurt_centres = _points_in(area, len(area.buurten), rng, centres, 2000.0)
            mine = rows[first_row:]
            _, nearest = cKDTree(buurt_centres).query(np.array([[r["x"], r["y"]] for r in mine]))
            for r, k in zip(mine, nearest):
                r["buurt"] = area.buurten[k]
    frame = pd.DataFrame(rows).sort_values(["day", "x"], kind="stable").reset_index(drop=True)
    # Burglary windows: 45% same day, else 1-3 days (found after a weekend or holiday).
    width = np.where(frame["code"] == "1.1.1", np.where(rng.random(len(frame)) < 0.45, 0, rng.integers(1, 4, len(frame))), 0)
    van = frame["day"] - pd.to_timedelta(width // 2, unit="D")
    tot = van + pd.to_timedelta(width, unit="D")
    return pd.DataFrame(
        {
            "registratienummer": [f"SYN-{i + 1:07d}" for i in range(len(frame))],
            "soort_misdrijf": frame["code"],
            "pleegdatum_van": van.dt.strftime("%Y-%m-%d"),
            "pleegdatum_tot": tot.dt.strftime("%Y-%m-%d"),
            "x": frame["x"].round(1),
            "y": frame["y"].round(1),
            "buurtcode": frame["buurt"] if "buurt" in frame else "",
            "gebied": frame["area"],
            "keten": frame["chain"],
            "synthetisch": True,
        }
    )


def uniform_incidents(n: int, *, seed: int, size: float = 5000.0, days: int = 365,
                      origin: tuple[float, float] = (200_000.0, 450_000.0)) -> pd.DataFrame:
    """SYNTHETIC incidents without any space-time interaction: places and days independent."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": origin[0] + rng.uniform(0, size, n),
            "y": origin[1] + rng.uniform(0, size, n),
            "t": rng.integers(0, days, n).astype(float),
        }
    )
