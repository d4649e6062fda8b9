# Reference numbers for lib.ols.glm (tests/test_lesson_glm.py): R's glm() for the
# lesson's single-level steps with a binomial or Poisson outcome -- one regression
# ignoring the groups, one with a dummy per group, one per group.
#
#   LC_ALL=C.UTF-8 Rscript tests/reference/lesson_glm.R
#
# Writes tests/reference/lesson_glm.json. glm() runs with a tight control (epsilon
# 1e-12) so that its estimates and SEs are converged below the tests' tolerance, except
# for grouseticks' dummy models: a tighter epsilon also tightens glm's QR aliasing
# tolerance (min(1e-7, epsilon / 1000)), and at 1e-15 it no longer drops the dummy that a
# predictor constant within groups (cHEIGHT within BROOD) makes redundant; those fits use
# the default epsilon (1e-8), recorded as "dummy_epsilon".
# Separation: a group whose outcome is all 0 or all 1 has an infinite dummy; glm() stops
# at a large estimate with a huge SE. "dummy_all" is that fit as glm() gives it;
# "dummy_subset" the fit without those groups' rows (droplevels), the limit the Python
# side returns. Per group, every glm() is recorded with its largest SE, so the test can
# check that the groups Python calls separated are the ones whose glm() ran away.
invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages(library(jsonlite))
ctrl <- glm.control(epsilon = 1e-12, maxit = 100)
loose <- glm.control(maxit = 100)  # R's default epsilon 1e-8

summ <- function(m) {
  s <- summary(m)$coefficients
  cf <- coef(m)
  se <- rep(NA_real_, length(cf)); names(se) <- names(cf)
  se[rownames(s)] <- s[, 2]
  list(
    names = names(cf), coef = unname(cf), se = unname(se),
    deviance = deviance(m), null_deviance = m$null.deviance,
    df_resid = m$df.residual, df_null = m$df.null,
    loglik = as.numeric(logLik(m)), aic = AIC(m), converged = m$converged,
    max_se = max(se, na.rm = TRUE)
  )
}

fit <- function(form, data, fam, control = ctrl) {
  # glm.fit computes the SEs from the weights at the start of its last iteration, one
  # step behind the estimates (up to ~1e-6 relative at epsilon 1e-12); a second run
  # started at the estimates takes a negligible step, so its SEs are at the optimum.
  quiet <- function(expr) withCallingHandlers(expr, warning = function(w) {
    invokeRestart("muffleWarning")
  })
  first <- quiet(glm(as.formula(form), data = data, family = fam, control = control))
  start <- coef(first)
  start[is.na(start)] <- 0
  quiet(glm(as.formula(form), data = data, family = fam, control = control, start = start))
}

run <- function(id, path, lhs, x, g, fam, offset = "", prepare = identity, dummy_ctrl = ctrl) {
  data <- prepare(read.csv(path, stringsAsFactors = TRUE))
  data[[g]] <- factor(data[[g]])
  off <- if (nzchar(offset)) paste0(" + offset(", offset, ")") else ""
  complete <- fit(sprintf("%s ~ %s%s", lhs, x, off), data, fam)
  dummy <- fit(sprintf("%s ~ %s + %s%s", lhs, x, g, off), data, fam, dummy_ctrl)
  # Groups with an outcome all 0 or all 1 (counts all 0): infinite dummies.
  y <- model.response(model.frame(complete))
  p <- if (is.matrix(y)) y[, 1] / rowSums(y) else y
  same <- tapply(p, data[[g]], function(v) all(v == 0) || (fam$family == "binomial" && all(v == 1)))
  kept <- droplevels(data[!same[as.character(data[[g]])], ])
  subset <- fit(sprintf("%s ~ %s + %s%s", lhs, x, g, off), kept, fam, dummy_ctrl)
  per <- lapply(levels(data[[g]]), function(level) {
    rows <- data[data[[g]] == level, ]
    m <- fit(sprintf("%s ~ %s%s", lhs, x, off), rows, fam)
    c(list(level = level, n = nrow(rows)), summ(m))
  })
  list(
    id = id, data = path, lhs = lhs, predictor = x, group = g,
    family = fam$family, link = fam$link, offset = offset,
    dummy_epsilon = dummy_ctrl$epsilon,
    complete = summ(complete), dummy_all = summ(dummy),
    dummy_subset = c(list(dropped = names(same)[same]), summ(subset)),
    per_group = per
  )
}

use01 <- function(d) { d$use <- as.integer(d$use == "Y"); d }
cbpp_num <- function(d) { d$period <- as.numeric(d$period); d }
cases <- list(
  run("contraception_logit", "data/contraception.csv", "use", "age", "district",
      binomial(), prepare = use01),
  run("contraception_probit", "data/contraception.csv", "use", "age", "district",
      binomial(link = "probit"), prepare = use01),
  run("cbpp_trials", "tests/reference/data/glmm_cbpp.csv", "cbind(incidence, size - incidence)",
      "period", "herd", binomial(), prepare = cbpp_num),
  run("owls_offset", "tests/reference/data/glmm_owls.csv", "SiblingNegotiation",
      "ArrivalTime", "Nest", poisson(), offset = "log(BroodSize)"),
  run("grouseticks", "tests/reference/data/glmm_grouseticks.csv", "TICKS", "cHEIGHT",
      "BROOD", poisson(), dummy_ctrl = loose)
)
out <- list(
  generated_by = "tests/reference/lesson_glm.R",
  versions = list(R = R.version.string),
  control = list(epsilon = 1e-12, maxit = 100),
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           "tests/reference/lesson_glm.json")
