## summary(glmer(...)) as R prints it, for lib/present/glmm_text.py's layout test.
##
##   LC_ALL=C.UTF-8 Rscript tests/reference/glmm_print.R
##
## writes tests/reference/glmm_print.json: {versions, cases: [{id, formula, data_name,
## family, link, nAGQ, lines}]}. Fits use the reference's tight control
## (tests/reference/glmm_README.md) so that the printed numbers are glmer's optimum;
## the control is then removed from the stored call, so summary() prints no
## "Control:" line, as for a user's default call. The data are the reference CSVs
## with R's factors. Two runs of this script can differ in the 6th-7th significant digit
## of an estimate (grouseticks: 0.372783 / 0.372782): glmer's own run-to-run noise.
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
TIGHT <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-13,
                      optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
dir <- "tests/reference/data"
read <- function(name, factors) {
  d <- read.csv(file.path(dir, name), stringsAsFactors = FALSE)
  for (f in factors) d[[f]] <- factor(d[[f]])
  d
}
cbpp <- read("glmm_cbpp.csv", c("herd", "period"))
cbpp$herd <- factor(cbpp$herd, levels = sort(unique(as.integer(cbpp$herd))))
contraception <- read("glmm_contraception.csv", c("use", "urban", "livch", "district"))
owls <- read("glmm_owls.csv", c("FoodTreatment", "SexParent", "Nest"))
grouseticks <- read("glmm_grouseticks.csv", c("YEAR", "BROOD", "INDEX", "LOCATION"))

CASES <- list(
  list(id = "cbpp_laplace", data = "cbpp", family = "binomial", link = "logit", nAGQ = 1,
       formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"),
  list(id = "cbpp_probit", data = "cbpp", family = "binomial", link = "probit", nAGQ = 1,
       formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"),
  list(id = "cbpp_agq9", data = "cbpp", family = "binomial", link = "logit", nAGQ = 9,
       formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"),
  list(id = "cbpp_singular", data = "cbpp", family = "binomial", link = "logit", nAGQ = 1,
       formula = "cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 | period)"),
  list(id = "contraception_slope", data = "contraception", family = "binomial",
       link = "logit", nAGQ = 1,
       formula = "use ~ age + urban + livch + (urban | district)"),
  list(id = "owls_offset", data = "owls", family = "poisson", link = "log", nAGQ = 1,
       formula = paste("SiblingNegotiation ~ FoodTreatment + SexParent + ArrivalTime +",
                       "offset(log(BroodSize)) + (1 | Nest)")),
  list(id = "grouseticks_poisson", data = "grouseticks", family = "poisson", link = "log",
       nAGQ = 1,
       formula = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)")
)

out <- lapply(CASES, function(k) {
  fam <- get(k$family)(link = k$link)
  fit <- eval(substitute(
    glmer(f, data = D, family = F, nAGQ = N, control = TIGHT),
    list(f = as.formula(k$formula), D = as.name(k$data), F = fam, N = k$nAGQ)))
  fit@call$control <- NULL
  # The family as a user writes it (binomial, not the evaluated family object).
  fit@call$family <- if (k$link == fam$family || k$link %in% c("logit", "log")) {
    as.name(k$family)
  } else {
    call(k$family, link = k$link)
  }
  lines <- capture.output(print(summary(fit)))
  c(k, list(data_name = k$data, lines = lines))
})

doc <- list(
  generated_by = "tests/reference/glmm_print.R",
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4"))),
  control = "glmerControl(optimizer = \"bobyqa\", tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10, maxfun = 1e5)), removed from the call before printing",
  cases = out
)
writeLines(toJSON(doc, auto_unbox = TRUE, pretty = TRUE, digits = NA),
           "tests/reference/glmm_print.json")
