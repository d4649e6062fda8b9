"""Simulate ``data/exercise.csv``: within every group the slope is negative, overall positive.

The classic picture of the within/between distinction (Simpson's paradox; the
exercise-and-cholesterol example of Kievit et al. 2013, *Frontiers in Psychology*
4:513). The data are SIMULATED (numpy, fixed seed); they describe no real people.

People fall into 10 age groups (20-24 ... 65-69). Older groups exercise more
and have higher cholesterol, so across everyone more exercise goes with higher
cholesterol; inside every age group more exercise goes with LOWER cholesterol.
Person i in age group j (age_j the group's middle age, 22 ... 67)::

    exercise_ij    = 1 + 0.1 * age_j + v_j + w_ij
    cholesterol_ij = 140 + 1.6 * age_j - 4 * exercise_ij + u_j + e_ij

    v_j ~ N(0, 0.3^2), w_ij ~ N(0, 1.2^2), u_j ~ N(0, 3^2), e_ij ~ N(0, 7^2)

so the within-group slope is -4 mg/dL per weekly hour, and the group means
follow cholesterol ~ 12 * exercise (1.6 per year of age over 0.1 hour per
year, minus 4): a between-group slope of about +12 and a contextual effect of
about +16. Group sizes are drawn uniformly from 20 to 40.

Values are rounded (exercise 2 decimals, cholesterol 1) and the CSV holds
Python's shortest round-trip representation, so R's ``read.csv`` and pandas read
the same doubles. ``SEED`` is the first seed from 1 up for which each age
group's own regression slope is negative and the pooled slope positive
(``main`` checks both); it is the first one tried.

Run ``python data/make_exercise.py`` from the repository root (deterministic, < 1 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 1
AGES = tuple(range(22, 68, 5))  # middle ages of the groups 20-24, ..., 65-69
GROUP_SIZE = (20, 40)  # inclusive range, drawn per group

EXERCISE_BASE, EXERCISE_PER_YEAR = 1.0, 0.1  # weekly hours of exercise
SD_GROUP_EXERCISE, SD_EXERCISE = 0.3, 1.2
CHOL_BASE, CHOL_PER_YEAR = 140.0, 1.6  # mg/dL
WITHIN_SLOPE = -4.0  # mg/dL per weekly hour, inside an age group
SD_GROUP, SD_RESID = 3.0, 7.0

OUT = Path(__file__).resolve().parent / "exercise.csv"


def simulate(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    person = 0
    for age in AGES:
        n = int(rng.integers(GROUP_SIZE[0], GROUP_SIZE[1] + 1))
        v, u = rng.normal(0.0, SD_GROUP_EXERCISE), rng.normal(0.0, SD_GROUP)
        exercise = EXERCISE_BASE + EXERCISE_PER_YEAR * age + v + rng.normal(0.0, SD_EXERCISE, n)
        exercise = np.round(np.clip(exercise, 0.0, None), 2)
        noise = rng.normal(0.0, SD_RESID, n)
        cholesterol = CHOL_BASE + CHOL_PER_YEAR * age + WITHIN_SLOPE * exercise + u + noise
        frames.append(
            pd.DataFrame(
                {
                    "age_group": f"{age - 2}-{age + 2}",
                    "person": [f"P{person + k + 1:03d}" for k in range(n)],
                    "exercise": exercise,
                    "cholesterol": np.round(cholesterol, 1),
                }
            )
        )
        person += n
    return pd.concat(frames, ignore_index=True)


def slopes(frame: pd.DataFrame) -> tuple[float, list[float]]:
    """The pooled OLS slope and each age group's own OLS slope."""

    def slope(d: pd.DataFrame) -> float:
        x, y = d["exercise"].to_numpy(), d["cholesterol"].to_numpy()
        return float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))

    return slope(frame), [slope(d) for _, d in frame.groupby("age_group")]


def main() -> None:
    df = simulate()
    pooled, within = slopes(df)
    assert pooled > 0 and max(within) < 0, (pooled, within)
    df.to_csv(OUT, index=False, lineterminator="\n")
    back = pd.read_csv(OUT)
    for c in ["exercise", "cholesterol"]:
        assert np.array_equal(back[c].to_numpy(), df[c].to_numpy()), c
    print(
        f"wrote {OUT.name}: {len(df)} people in {df['age_group'].nunique()} age groups; "
        f"pooled slope {pooled:.3f}, group slopes {min(within):.3f} to {max(within):.3f}"
    )


if __name__ == "__main__":
    main()
