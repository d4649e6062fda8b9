"""``lib.classroom.glmm_nagq``: the nAGQ a GLMM comparison uses and how it is worded, for
the Ladder's steps as for the Compare page's models (tests/test_glmm_compare_nagq.py
checks the rule's cases against lme4)."""

from __future__ import annotations

from lib.classroom.glmm_nagq import fitted_by, used_nagq
from lib.classroom.ladder import FULL, ladder_specs
from lib.model.response import ResponseFamily
from lib.model.spec import GroupLevel

BINOMIAL, POISSON = ResponseFamily("binomial"), ResponseFamily("poisson")


def test_a_ladder_with_a_lower_level_is_all_laplace_and_says_so():
    # Every step keeps (1 | class:school): two random effects per row, so no step may
    # use nAGQ > 1 in glmer.
    specs = ladder_specs("y", "x", "school", reml=False, levels=(GroupLevel("class"),))
    nagq, note = used_nagq(9, BINOMIAL, specs)
    assert nagq == 1
    assert note == (
        "These are Laplace fits: glmer allows the Model page's nAGQ = 9 only for one random "
        "intercept or one random slope alone."
    )
    assert fitted_by(nagq, note) == "Laplace"


def test_the_fallback_sentence_counts_the_steps_offered():
    specs = ladder_specs("y", "x", "g", reml=False)
    del specs[next(name for name in specs if name != FULL)]  # three steps, FULL among them
    nagq, note = used_nagq(25, POISSON, specs)
    assert nagq == 1
    assert note is not None and note.startswith("All three are Laplace fits: " + FULL)


def test_the_method_words_name_the_quadrature_and_where_it_applies():
    specs = ladder_specs("y", "x", "g", reml=False)
    nagq, note = used_nagq(9, BINOMIAL, specs)
    assert fitted_by(nagq, note) == (
        "adaptive Gauss-Hermite quadrature, nAGQ = 9, where glmer allows it"
    )
    without_full = {name: spec for name, spec in specs.items() if name != FULL}
    assert fitted_by(*used_nagq(25, POISSON, without_full)) == (
        "adaptive Gauss-Hermite quadrature, nAGQ = 25"
    )
    assert fitted_by(*used_nagq(1, BINOMIAL, specs)) == "Laplace"
