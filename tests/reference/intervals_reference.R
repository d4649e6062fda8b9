#!/usr/bin/env Rscript
## Reference values for confidence intervals and predictions ("Multilevel Explorer").
##
## Run from the repository root:
##   LC_ALL=C.UTF-8 LC_COLLATE=C Rscript tests/reference/intervals_reference.R
##
## Reads   tests/reference/data/formula_exam.csv (mlmRev's Exam), data/schools.csv
##         (the tutorial's data), data/pastes.csv (lme4's Pastes)
## Writes  tests/reference/intervals_reference.json
##
## Per model: lme4's confint(method = "profile") and confint(method = "Wald")
## (rows in lme4's order: .sig parameters of each term, sigma, fixed effects; the
## profile of a REML fit is an ML profile, as lme4's profile() refits by ML),
## broom.mixed's names for the same rows, predict() with re.form = NULL and NA
## on the data and on new rows (an unseen level with allow.new.levels = TRUE), and
## for one model confint(method = "boot") as a loose sanity check only (R's RNG
## cannot be reproduced).
invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages({
  library(lme4)
  library(broom.mixed)
  library(jsonlite)
})

read <- function(path, groups) {
  d <- read.csv(path, colClasses = setNames(rep("character", length(groups)), groups))
  d
}
exam <- read("tests/reference/data/formula_exam.csv", c("school", "student"))
schools <- read("data/schools.csv", "school")
pastes <- read("data/pastes.csv", c("batch", "cask", "sample"))

models <- list(
  exam_slope = list(formula = "normexam ~ standLRT + (standLRT | school)", data = "exam",
                    newdata = data.frame(standLRT = c(-1.5, 0, 2.25, 0.5),
                                         school = c("1", "20", "65", "999"))),
  exam_uncorrelated = list(formula = "normexam ~ standLRT + (standLRT || school)",
                           data = "exam",
                           newdata = data.frame(standLRT = c(-1, 1.5, 0.3),
                                                school = c("7", "40", "new"))),
  schools = list(formula = "test_score ~ study_time + (study_time | school)",
                 data = "schools", boot = TRUE,
                 newdata = data.frame(study_time = c(1, 4.5, 8),
                                      school = c("Hillcrest", "Unseen High",
                                                 unique(schools$school)[3]))),
  pastes = list(formula = "strength ~ 1 + (1 | batch/cask)", data = "pastes",
                newdata = data.frame(batch = c("A", "C", "A", "Z"),
                                     cask = c("a", "b", "z", "a")))
)
frames <- list(exam = exam, schools = schools, pastes = pastes)

ci_rows <- function(ci) {
  lapply(seq_len(nrow(ci)), function(i) list(name = rownames(ci)[i],
                                              lower = unname(ci[i, 1]),
                                              upper = unname(ci[i, 2])))
}

out <- list()
for (key in names(models)) {
  spec <- models[[key]]
  d <- frames[[spec$data]]
  m <- lmer(as.formula(spec$formula), data = d, REML = TRUE)
  t0 <- proc.time()[["elapsed"]]
  prof <- confint(m, method = "profile", level = 0.95, oldNames = FALSE)
  t_prof <- proc.time()[["elapsed"]] - t0
  prof90 <- confint(m, method = "profile", level = 0.90, oldNames = FALSE)
  wald <- confint(m, method = "Wald", level = 0.95, oldNames = FALSE)
  td <- tidy(m)
  ran <- td[td$effect == "ran_pars", ]
  fix <- td[td$effect == "fixed", ]
  entry <- list(
    formula = spec$formula, data = spec$data,
    estimates = list(effect = td$effect, group = ifelse(is.na(td$group), "", td$group),
                     term = td$term, estimate = td$estimate),
    # lme4's confint rows: ran_pars in tidy's order, then sigma, then fixed effects
    confint_names = c(ran$term, fix$term),
    confint_groups = c(ran$group, rep("", nrow(fix))),
    profile = ci_rows(prof), profile_90 = ci_rows(prof90), wald = ci_rows(wald),
    profile_seconds = t_prof,
    predict_conditional = unname(predict(m)),
    predict_marginal = unname(predict(m, re.form = NA)),
    newdata = spec$newdata,
    newdata_conditional = unname(predict(m, newdata = spec$newdata,
                                         allow.new.levels = TRUE)),
    newdata_marginal = unname(predict(m, newdata = spec$newdata, re.form = NA))
  )
  if (isTRUE(spec$boot)) {
    boot <- confint(m, method = "boot", nsim = 500, seed = 101, oldNames = FALSE)
    entry$boot_500 <- ci_rows(boot)
  }
  out[[key]] <- entry
}
out$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                     broom.mixed = as.character(packageVersion("broom.mixed")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/intervals_reference.json")
