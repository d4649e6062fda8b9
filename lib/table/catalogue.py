"""The bundled data sets: where each comes from and the roles it opens with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from lib.errors import DataError
from lib.model.spec import CROSSED, GroupLevel
from lib.table.read import load_table
from lib.table.roles import Roles

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@dataclass(frozen=True)
class BundledDataset:
    """A data set shipped with the app (see ``data/SOURCES.md`` and ``data/README.md``)."""

    key: str
    title: str
    filename: str
    description: str
    roles: Roles
    provenance: str

    @property
    def path(self) -> Path:
        return DATA_DIR / self.filename


BUNDLED: Mapping[str, BundledDataset] = MappingProxyType(
    {
        "schools": BundledDataset(
            key="schools",
            title="Schools: study time and test scores (tutorial)",
            filename="schools.csv",
            description=(
                "183 students in 3 schools: average study time before exams (hours) and "
                "average test score (%). The hierarchical-modelling tutorial's example, "
                "reconstructed."
            ),
            roles=Roles(outcome="test_score", predictor="study_time", group="school"),
            provenance=(
                "Constructed so that R prints every number shown in N. Mevenkamp's tutorial "
                "'Advanced Statistics: Hierarchical Modeling' (MCI, 2025); they are not the "
                "tutorial's own students. How it was made: data/README.md."
            ),
        ),
        "pupils": BundledDataset(
            key="pupils",
            title="Pupils in classes in schools (simulated, three levels)",
            filename="pupils.csv",
            description=(
                "3,021 pupils in 151 classes in 30 schools: test score, weekly homework hours, "
                "socio-economic status (ses) and sex. Class labels A, B, C... repeat in every "
                "school, so class must be coded as nested in school."
            ),
            roles=Roles(
                outcome="score",
                predictor="hours",
                group="school",
                levels=(GroupLevel("class"),),
            ),
            provenance=(
                "Simulated for teaching from stated parameters (school and class random "
                "intercepts, a school random slope of hours); no real pupils. How it was made: "
                "data/make_pupils.py and data/README.md."
            ),
        ),
        "pastes": BundledDataset(
            key="pastes",
            title="Paste strength: casks within batches (lme4 Pastes)",
            filename="pastes.csv",
            description=(
                "60 strength measurements: 10 delivery batches, 3 casks per batch, 2 assays "
                "per cask. Casks are labelled a, b, c in every batch, so cask is nested in "
                "batch: lme4's (1 | batch/cask)."
            ),
            roles=Roles(
                outcome="strength", predictor=None, group="batch", levels=(GroupLevel("cask"),)
            ),
            provenance=(
                "Davies & Goldsmith (1972), Statistical Methods in Research and Production, "
                "as the data set Pastes of the R package lme4 (see data/README.md)."
            ),
        ),
        "penicillin": BundledDataset(
            key="penicillin",
            title="Penicillin assay: plates crossed with samples (lme4 Penicillin)",
            filename="penicillin.csv",
            description=(
                "144 inhibition-zone diameters: 6 penicillin samples, each tested once on each "
                "of 24 plates. Plate and sample are crossed: (1 | plate) + (1 | sample)."
            ),
            roles=Roles(
                outcome="diameter",
                predictor=None,
                group="plate",
                levels=(GroupLevel("sample", CROSSED),),
            ),
            provenance=(
                "Davies & Goldsmith (1972), Statistical Methods in Research and Production, "
                "as the data set Penicillin of the R package lme4 (see data/README.md)."
            ),
        ),
        "dietox": BundledDataset(
            key="dietox",
            title="Pigs: weight over 12 weeks (dietox)",
            filename="dietox.csv",
            description=(
                "861 weekly weights of 72 pigs (repeated measures): each pig is a group, "
                "and pigs differ both in starting weight and in growth rate."
            ),
            roles=Roles(outcome="Weight", predictor="Time", group="Pig"),
            provenance=(
                "Lauridsen, Højsgaard & Sørensen (1999), J. Animal Science 77:906-916; "
                "the 'dietox' data of R's geepack/doBy, as shipped in statsmodels 0.15 "
                "(see data/SOURCES.md)."
            ),
        ),
        "grunfeld": BundledDataset(
            key="grunfeld",
            title="Firms: investment and market value (Grunfeld)",
            filename="grunfeld.csv",
            description=(
                "220 yearly records of 11 US firms, 1935-1954: gross investment against "
                "market value and capital stock (millions of 1947 dollars)."
            ),
            roles=Roles(outcome="invest", predictor="value", group="firm"),
            provenance=(
                "Grunfeld (1958) as recreated by Kleiber & Zeileis (2010), public domain, "
                "as shipped in statsmodels 0.15 (see data/SOURCES.md)."
            ),
        ),
        "exercise": BundledDataset(
            key="exercise",
            title="Exercise and cholesterol by age group (simulated, within vs between)",
            filename="exercise.csv",
            description=(
                "293 people in 10 age groups: weekly hours of exercise and cholesterol "
                "(mg/dL). Inside every age group more exercise goes with lower cholesterol; "
                "across everyone, with higher: the within-group and between-group slopes "
                "have opposite signs."
            ),
            roles=Roles(outcome="cholesterol", predictor="exercise", group="age_group"),
            provenance=(
                "Simulated for teaching (numpy, seed 1) after the exercise-and-cholesterol "
                "example of Kievit et al. (2013), Frontiers in Psychology 4:513; no real "
                "people. How it was made: data/make_exercise.py and data/README.md."
            ),
        ),
        "contraception": BundledDataset(
            key="contraception",
            title="Contraception use in Bangladesh districts (binary outcome)",
            filename="contraception.csv",
            description=(
                "1,934 women in 60 districts of Bangladesh (1988 Fertility Survey): whether "
                "each used contraception (use: Y/N), her age (centred), urban or rural "
                "residence and number of living children. A two-valued outcome: a binomial "
                "(logistic) mixed model, glmer's family = binomial."
            ),
            roles=Roles(outcome="use", predictor="age", group="district"),
            provenance=(
                "Huq & Cleland (1990), Bangladesh Fertility Survey 1989, as the data set "
                "Contraception of the R package mlmRev (see data/SOURCES.md)."
            ),
        ),
    }
)


DEFAULT_DATASET = "schools"


def load_bundled(key: str) -> pd.DataFrame:
    """Read a bundled data set by its registry key.

    Raises
    ------
    DataError
        For an unknown key or a missing file.
    """
    if key not in BUNDLED:
        raise DataError(
            f"There is no bundled data set called {key!r}. Choose one of: {', '.join(BUNDLED)}."
        )
    entry = BUNDLED[key]
    if not entry.path.is_file():
        raise DataError(
            f"The bundled data file {entry.filename!r} is missing from {DATA_DIR}; "
            "reinstall the app or choose another data set."
        )
    return load_table(entry.path.read_bytes(), entry.filename)
