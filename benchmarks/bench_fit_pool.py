"""What going through ``lib.serve.fit_pool`` costs: worker start-up and per-fit overhead.

Start-up: seconds from ``Process.start()`` to the worker's "ready" message
(limits set, ``lib.lmm`` imported), as ``FitPool.stats().startup_seconds``
records them. With ``forkserver`` the first worker also waits for the fork server
to start and import ``lib.lmm``; later ones (replacements) only fork. ``spawn`` is
shown for comparison (every worker imports everything).

Per fit: a no-op job (the floor: pickling and the pipe both ways), then the
tutorial's models on ``schools`` (183 rows, 3 schools), each timed ``--repeats``
times in process (``fit_lmm``) and through the pool (``submit`` -> ``result``:
pickling the frame and spec, the pipe both ways, unpickling the result); medians
after one warm-up each. Jobs are submitted without a key so none is shared.

Usage::

    python benchmarks/bench_fit_pool.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time

from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.serve.fit_pool import FitPool
from lib.table.catalogue import load_bundled

MODELS = {
    "random intercept": ModelSpec.one_factor("test_score", "school", fixed=["study_time"]),
    "random intercept and slope": ModelSpec.one_factor(
        "test_score", "school", fixed=["study_time"], random_slopes=["study_time"]
    ),
}


def _median_ms(run, repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    frame = load_bundled("schools")

    for method in ("forkserver", "spawn"):
        start = time.perf_counter()
        with FitPool(2, start_method=method) as pool:
            pool.wait_ready(timeout=120)
            ready = time.perf_counter() - start
            # Replacements: kill both workers by timing out a sleep on each.
            for handle in [pool.submit("time:sleep", 5, time_limit=0.2) for _ in range(2)]:
                try:
                    handle.result(timeout=30)
                except Exception:  # noqa: BLE001 - the time-out is the point
                    pass
            pool.wait_ready(timeout=120)
            startup = pool.stats().startup_seconds
        print(
            f"{method:10s} pool ready after {ready:.3f} s; worker start-up "
            + ", ".join(f"{s * 1e3:.0f}" for s in startup)
            + " ms (first two at pool start, then two replacements)"
        )

    with FitPool(1) as pool:
        pool.wait_ready(timeout=120)
        print(f"\nper fit, median of {args.repeats} (ms)")
        print(f"{'model':28s} {'in process':>10s} {'via pool':>10s} {'overhead':>10s}")
        noop = _median_ms(lambda: pool.submit("operator:add", 1, 2).result(timeout=60), 200)
        print(f"{'no-op job (median of 200)':28s} {'':10s} {noop:10.2f}")
        for name, spec in MODELS.items():
            local = _median_ms(lambda spec=spec: fit_lmm(frame, spec), args.repeats)
            remote = _median_ms(
                lambda spec=spec: pool.submit(fit_lmm, frame, spec).result(timeout=60),
                args.repeats,
            )
            print(f"{name:28s} {local:10.1f} {remote:10.1f} {remote - local:10.1f}")
        result = fit_lmm(frame, MODELS["random intercept"])
        sizes = [len(pickle.dumps(x, protocol=pickle.HIGHEST_PROTOCOL)) for x in (frame, result)]
        print(f"pickled: schools frame {sizes[0]:,} bytes, its fit {sizes[1]:,} bytes")


if __name__ == "__main__":
    main()
