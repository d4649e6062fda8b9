"""Parse cost of lme4 formulas with lib.model.formula (target: < 1 ms for a typical one).

    python benchmarks/bench_formula.py

Prints one row per formula: characters, median and best time per parse over
repeated runs (time.perf_counter), in microseconds.
"""

from __future__ import annotations

import statistics
import time

from lib.model.formula import parse_formula

FORMULAS = {
    "one factor": "y ~ x + (1 | g)",
    "Exam interaction": "normexam ~ standLRT * schgend + (standLRT | school)",
    "HSB cross-level": "mAch ~ meanses * cses + sector * cses + (cses | school)",
    "oats split-plot": "yield ~ nitro + Variety + (1 | Block/Variety)",
    "brief's example": "y ~ a * b + c + a:c + (1 + x | g) + (1 | g1/g2) + (x || h)",
    "three-way, backticks": "`my y` ~ `dose (mg)` * `arm 2` * sex + (1 + `dose (mg)` || site/ward)",
    "(a+...+h)^3": "y ~ (a + b + c + d + e + f + g + h)^3 + (1 | s)",
}


def time_parse(text: str, repeats: int = 7, number: int = 200) -> tuple[float, float]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            parse_formula(text)
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs), min(runs)


def main() -> None:
    print(f"{'formula':<22} {'chars':>5} {'median us':>10} {'best us':>8}")
    for name, text in FORMULAS.items():
        median, best = time_parse(text)
        print(f"{name:<22} {len(text):>5} {median * 1e6:>10.1f} {best * 1e6:>8.1f}")


if __name__ == "__main__":
    main()
