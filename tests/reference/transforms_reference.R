## Reference numbers for columns computed in a formula: log(), log2(), log10(), sqrt(),
## exp(), scale() and I(x^k) (lib.model.transforms), issue 15.
##
## Run from the repository root:
##   LC_ALL=C.UTF-8 LC_COLLATE=C Rscript tests/reference/transforms_reference.R
## Writes tests/reference/data/transforms_scotssec.csv and
## tests/reference/transforms_reference.json (a few seconds); reads
## no_intercept_sleep.csv (written by no_intercept_reference.R).
##
## `w` is a seeded uniform column missing in every 7th row: with it in the model,
## scale(verbal) is still taken over every row (R evaluates it on the whole data
## before dropping incomplete rows), which lib.model.transforms must do too.

suppressMessages({
  library(lme4)
  library(mlmRev)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")
cfactor <- function(x) {
  x <- as.character(x)
  factor(x, levels = sort(unique(x), method = "radix"))
}

set.seed(15)
scots <- data.frame(
  primary = as.character(ScotsSec$primary), attain = ScotsSec$attain,
  verbal = ScotsSec$verbal, sex = as.character(ScotsSec$sex),
  w = round(runif(nrow(ScotsSec)), 6), stringsAsFactors = FALSE
)
scots$w[seq(7, nrow(scots), by = 7)] <- NA
write.csv(scots, file.path(data_dir, "transforms_scotssec.csv"), row.names = FALSE,
          fileEncoding = "UTF-8", na = "")

files <- list(
  scotssec = list(name = "transforms_scotssec.csv", factors = c("primary", "sex")),
  sleep = list(name = "no_intercept_sleep.csv", factors = c("Subject"))
)
frames <- lapply(files, function(d) {
  frame <- read.csv(file.path(data_dir, d$name), stringsAsFactors = FALSE,
                    check.names = FALSE,
                    colClasses = setNames(rep("character", length(d$factors)), d$factors))
  for (f in d$factors) frame[[f]] <- cfactor(frame[[f]])
  frame
})

cases <- list(
  list(id = "sleep_log_outcome_quadratic", data = "sleep", reml = TRUE,
       formula = "log(Reaction) ~ Days + I(Days^2) + (Days | Subject)"),
  list(id = "sleep_log2_log10_random_power", data = "sleep", reml = FALSE,
       formula = "log10(Reaction) ~ log2(year) + (1 + I(Days^2) || Subject)"),
  list(id = "scots_scale_with_missing_rows", data = "scotssec", reml = TRUE,
       formula = "attain ~ scale(verbal) + exp(w) + sex + (1 | primary)"),
  list(id = "scots_sqrt_outcome_cubic", data = "scotssec", reml = TRUE,
       formula = "sqrt(attain) ~ verbal + I(verbal^2) + I(verbal^3) + scale(verbal):sex + (1 | primary)")
)

results <- lapply(cases, function(cs) {
  frame <- frames[[cs$data]]
  fit <- lmer(as.formula(cs$formula), data = frame, REML = cs$reml,
              control = lmerControl(optimizer = "bobyqa",
                                    optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))
  list(
    id = cs$id, data = files[[cs$data]]$name, factors = I(files[[cs$data]]$factors),
    formula = cs$formula, reml = cs$reml, nobs = nobs(fit),
    criterion = unname(if (cs$reml) getME(fit, "devcomp")$cmp[["REML"]]
                       else getME(fit, "devcomp")$cmp[["dev"]]),
    fixef_names = I(names(fixef(fit))), fixef = I(unname(fixef(fit))),
    se = I(unname(sqrt(diag(as.matrix(vcov(fit)))))),
    theta = I(unname(getME(fit, "theta"))), sigma = sigma(fit)
  )
})

meta <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))
writeLines(toJSON(list(meta = meta, cases = results), auto_unbox = TRUE, digits = NA,
                  pretty = TRUE, null = "null"),
           file.path(out_dir, "transforms_reference.json"))
