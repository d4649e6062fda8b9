# Reference numbers for lib.classroom.comparison and the ladder (tests/test_comparison.py,
# tests/test_ladder.py): lme4's anova() of every pair of the tutorial's four models, on
# the tutorial data and on the three-level pupils (class within school kept in every
# model), plus each model's REML criterion and the ML refit's AIC, BIC and logLik.
#
#   LC_ALL=C.UTF-8 Rscript tests/reference/classroom_comparison.R
#
# Writes tests/reference/classroom_comparison.json. anova(a, b) refits REML fits with ML
# (refit = TRUE, lme4's default) and orders the two by number of parameters; it prints a
# row for any pair, nested or not (the Python side decides which pairs are nested).
invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
ctrl <- lmerControl(optimizer = "bobyqa")

models <- function(y, x, g, lower) {
  # The ladder's four models; `lower` holds the terms of the other levels, kept in all.
  rest <- if (nzchar(lower)) paste(" +", lower) else ""
  list(
    "Null model" = sprintf("%s ~ 1 + (1 | %s)%s", y, g, rest),
    "Random intercept" = sprintf("%s ~ 1 + %s + (1 | %s)%s", y, x, g, rest),
    "Random slope" = sprintf("%s ~ 1 + (0 + %s | %s)%s", y, x, g, rest),
    "Random intercept and slope" = sprintf("%s ~ 1 + %s + (1 + %s | %s)%s", y, x, x, g, rest)
  )
}

run <- function(name, path, forms) {
  data <- read.csv(path, stringsAsFactors = TRUE)
  fits <- lapply(forms, function(f) lmer(as.formula(f), data, REML = TRUE, control = ctrl))
  ml <- lapply(fits, function(m) refitML(m))
  rows <- lapply(names(forms), function(k) list(
    label = k, formula = forms[[k]], npar = attr(logLik(ml[[k]]), "df"),
    reml_criterion = unname(REMLcrit(fits[[k]])),
    aic_reml = AIC(fits[[k]]),
    aic = AIC(ml[[k]]), bic = BIC(ml[[k]]), loglik = as.numeric(logLik(ml[[k]])),
    deviance = deviance(ml[[k]])
  ))
  pairs <- list()
  labels <- names(forms)
  for (i in seq_along(labels)) for (j in seq_along(labels)) if (i < j) {
    a <- suppressMessages(anova(fits[[i]], fits[[j]]))
    first <- rownames(a)[1] == "fits[[i]]"  # anova's first row: fewer parameters
    pairs[[length(pairs) + 1]] <- list(
      smaller = labels[if (first) i else j],
      larger = labels[if (first) j else i],
      chisq = a$Chisq[2], df = a$Df[2], p = a[["Pr(>Chisq)"]][2]
    )
  }
  list(name = name, data = path, models = rows, pairs = pairs)
}

out <- list(
  generated_by = sprintf("%s; lme4 %s; script tests/reference/classroom_comparison.R",
                         R.version.string, as.character(packageVersion("lme4"))),
  cases = list(
    run("schools", "data/schools.csv", models("test_score", "study_time", "school", "")),
    run("pupils", "data/pupils.csv", models("score", "hours", "school", "(1 | class:school)"))
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           "tests/reference/classroom_comparison.json")
