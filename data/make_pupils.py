"""Simulate the three-level teaching data set ``data/pupils.csv``.

Pupils are nested in classes, classes in schools.  The data are SIMULATED (numpy, fixed
seed); nothing here describes real pupils.  The point of the data set is teaching:

* three levels: ``school`` (30 schools) > ``class`` (4-6 per school) > pupil (10-30 per class);
* the column ``class`` holds the labels ``A``, ``B``, ``C``, ... and these labels REPEAT in
  every school: class ``B`` of school ``S07`` has nothing to do with class ``B`` of school
  ``S12``.  Modelling ``(1 | class)`` instead of ``(1 | class:school)`` (lme4's
  ``(1 | school/class)``) pools unrelated classes -- the classic pitfall;
* ``class_id`` (``"S07-B"``) is the unique class identifier, so ``(1 | class_id)`` is the
  correct coding again;
* a random slope of ``hours`` at school level, correlated with the school intercept.

Model used to generate ``score`` (pupil i in class j of school k)::

    score = b0 + b_ses*ses + b_hours*hours + b_male*[sex == "M"]
            + u0_k + u1_k*hours + v_jk + e_ijk

    (u0_k, u1_k) ~ N(0, [[SD_SCHOOL^2,           RHO*SD_SCHOOL*SD_SLOPE],
                         [RHO*SD_SCHOOL*SD_SLOPE, SD_SLOPE^2]])
    v_jk ~ N(0, SD_CLASS^2),  e_ijk ~ N(0, SD_RESID^2)

Predictors: ``ses`` (socio-economic status, pupil level) is a school effect
``N(0, SES_SCHOOL_SD^2)`` plus ``N(0, 1)``; ``hours`` (weekly homework hours) is a
gamma(shape 4, scale 1.25) draw (mean 5 h), clipped to 0-15; ``sex`` is ``F``/``M``
with probability 1/2.

Values are rounded (``ses`` 4 decimals, ``hours`` 2, ``score`` 3) and the CSV holds the
shortest round-trip representation of every value, so R's ``read.csv`` and pandas read
exactly the same doubles.

Run ``python data/make_pupils.py`` from the repository root (deterministic, < 1 s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# ----------------------------------------------------------------- parameters --
SEED = 20250601
N_SCHOOLS = 30
CLASSES_PER_SCHOOL = (4, 6)  # inclusive range, drawn per school
PUPILS_PER_CLASS = (10, 30)  # inclusive range, drawn per class

B0 = 50.0  # intercept (score of a girl with ses = 0 and hours = 0)
B_SES = 3.0  # per unit of ses
B_HOURS = 1.5  # per homework hour
B_MALE = -2.0  # boys vs girls

SD_SCHOOL = 4.0  # school random intercept SD
SD_SLOPE = 0.6  # school random slope of hours, SD
RHO = -0.4  # correlation of school intercept and hours slope
SD_CLASS = 2.5  # class (within school) random intercept SD
SD_RESID = 6.0  # residual (pupil) SD

SES_SCHOOL_SD = 0.5  # between-school SD of mean ses (ses is partly a school property)
HOURS_SHAPE, HOURS_SCALE = 4.0, 1.25

OUT = Path(__file__).resolve().parent / "pupils.csv"


def simulate(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cov = np.array(
        [
            [SD_SCHOOL**2, RHO * SD_SCHOOL * SD_SLOPE],
            [RHO * SD_SCHOOL * SD_SLOPE, SD_SLOPE**2],
        ]
    )
    rows = []
    pupil_no = 0
    for k in range(1, N_SCHOOLS + 1):
        school = f"S{k:02d}"
        u0, u1 = rng.multivariate_normal([0.0, 0.0], cov)
        ses_mean = rng.normal(0.0, SES_SCHOOL_SD)
        n_classes = int(rng.integers(CLASSES_PER_SCHOOL[0], CLASSES_PER_SCHOOL[1] + 1))
        for j in range(n_classes):
            cls = "ABCDEFGHIJ"[j]
            v = rng.normal(0.0, SD_CLASS)
            n = int(rng.integers(PUPILS_PER_CLASS[0], PUPILS_PER_CLASS[1] + 1))
            ses = np.round(ses_mean + rng.normal(0.0, 1.0, n), 4)
            hours = np.round(np.clip(rng.gamma(HOURS_SHAPE, HOURS_SCALE, n), 0.0, 15.0), 2)
            male = rng.random(n) < 0.5
            e = rng.normal(0.0, SD_RESID, n)
            score = B0 + B_SES * ses + B_HOURS * hours + B_MALE * male + u0 + u1 * hours + v + e
            score = np.round(score, 3)
            for i in range(n):
                pupil_no += 1
                rows.append(
                    (
                        school,
                        cls,
                        f"{school}-{cls}",
                        f"P{pupil_no:04d}",
                        float(ses[i]),
                        float(hours[i]),
                        "M" if male[i] else "F",
                        float(score[i]),
                    )
                )
    cols = ["school", "class", "class_id", "pupil", "ses", "hours", "sex", "score"]
    return pd.DataFrame(rows, columns=cols)


def main() -> None:
    df = simulate()
    # pandas writes floats with Python's shortest round-trip repr
    df.to_csv(OUT, index=False, lineterminator="\n")
    back = pd.read_csv(OUT)
    for c in ["ses", "hours", "score"]:
        assert np.array_equal(back[c].to_numpy(), df[c].to_numpy()), c
    n_cls = df.groupby("school")["class"].nunique()
    print(
        f"wrote {OUT.name}: {len(df)} pupils, {df['school'].nunique()} schools, "
        f"{df['class_id'].nunique()} classes ({n_cls.min()}-{n_cls.max()} per school), "
        f"class sizes {df.groupby('class_id').size().min()}-{df.groupby('class_id').size().max()}"
    )


if __name__ == "__main__":
    main()
