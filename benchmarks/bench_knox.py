"""Knox test (near-repeat) at the issue's size: 10,000 incidents, 99 permutations, on this machine.

Standalone (not part of run.py's sections): ``.venv/bin/python benchmarks/bench_knox.py``.

SYNTHETIC incidents (``testing.synthetic_incidents.generate_incidents``): woninginbraken with a
seasonal pattern and planted near-repeat chains over an area the size of a large city (Enschede,
12 × 12 km), two years — the density a police analyst's yearly extract of a district has. Each
configuration runs ``--repeat`` times in this process (after one warm-up run); reported: the
median wall time and CPU time of ``knox_test`` alone, the number of close pairs, and the peak
memory of the process. No brute-force baseline is run: its n×n = 10^8 distances per permutation
are what the k-d tree avoids (the number of pairs it would visit is reported next to the close ones).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from datetime import date

import numpy as np
import pandas as pd

from veiligheidsbeeld.incidents.knox import days_since, knox_test
from veiligheidsbeeld.testing.synthetic_incidents import Area, generate_incidents

CONFIGS = [
    # (label, distance edges, time edges, metric)
    ("issue: 0,1,100,200,300 m × 0,7,14,21 d, manhattan", (0, 1, 100, 200, 300), (0, 7, 14, 21), "manhattan"),
    ("wide: 0..1000 m by 100 × 0..56 d by 7, euclidean", tuple(range(0, 1001, 100)), tuple(range(0, 57, 7)), "euclidean"),
]


def incidents(n: int, seed: int) -> pd.DataFrame:
    area = Area("SYNTH", (252_000.0, 462_000.0, 264_000.0, 474_000.0))
    frame = generate_incidents([area], date(2023, 1, 1), date(2025, 1, 1), burglaries_per_year=n / 2 * 1.05,
                               other_types=False, seed=seed)
    frame = frame.head(n)
    van = pd.to_datetime(frame["pleegdatum_van"])
    tot = pd.to_datetime(frame["pleegdatum_tot"])
    return pd.DataFrame({"x": frame["x"], "y": frame["y"], "moment": van + (tot - van) / 2})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--permutations", type=int, default=99)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = incidents(args.n, seed=1)
    t = days_since(data["moment"])
    x, y = data["x"].to_numpy(), data["y"].to_numpy()
    out = {"n": len(data), "permutations": args.permutations, "repeat": args.repeat, "cpus": os.cpu_count(),
           "load_avg_before": os.getloadavg()[0], "python": platform.python_version(),
           "numpy": np.__version__, "configs": []}
    for label, d_edges, t_edges, metric in CONFIGS:
        knox_test(x, y, t, d_edges, t_edges, metric=metric, permutations=args.permutations, seed=1)  # warm-up
        walls, cpus = [], []
        for k in range(args.repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            result = knox_test(x, y, t, d_edges, t_edges, metric=metric, permutations=args.permutations, seed=k)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        out["configs"].append({
            "label": label, "close_pairs": result.close_pairs, "all_pairs": result.n_pairs,
            "wall_s_median": round(statistics.median(walls), 3), "wall_s_max": round(max(walls), 3),
            "cpu_s_median": round(statistics.median(cpus), 3),
        })
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["load_avg_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
