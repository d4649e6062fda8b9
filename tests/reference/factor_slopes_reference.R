#!/usr/bin/env Rscript
## ---------------------------------------------------------------------------
## Reference values for categorical columns on the left of "|" (issues 15/16):
## lme4 codes a term's left side with model.matrix, so (sex | school) has the
## effects (Intercept), sexM and (0 + sex | school) the effects sexF, sexM.
##
## Run from the repository root (about 1 minute on 2 cores):
##   LC_ALL=C.UTF-8 LC_COLLATE=C Rscript tests/reference/factor_slopes_reference.R
##
## Reads   tests/reference/data/formula_exam.csv        (mlmRev's Exam, formula_reference.R)
##         tests/reference/data/glmm_contraception.csv  (mlmRev's Contraception, glmm_reference.R)
## Writes  tests/reference/factor_slopes_reference.json
##
## Tight control so that the numbers are lme4's optimum, not where its default
## tolerances stop: lmer with bobyqa and rhoend 1e-10; glmer with tolPwrss 1e-13
## and bobyqa rhoend 1e-10 (docs: FACTS.md "glmer's defaults stop short").
## Numbers are written with 17 significant digits.
## ---------------------------------------------------------------------------

invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
  library(performance)
})
if (!dir.exists("tests/reference")) stop("run this script from the repository root")

LMER_TIGHT <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
GLMER_TIGHT <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-13,
                            optCtrl = list(rhoend = 1e-10, maxfun = 1e5))

read_factors <- function(path, factors) {
  d <- read.csv(path, stringsAsFactors = FALSE, colClasses = setNames(rep("character",
                length(factors)), factors), encoding = "UTF-8")
  for (f in factors) d[[f]] <- factor(d[[f]])  # levels sorted under LC_COLLATE=C
  d
}
exam <- read_factors("tests/reference/data/formula_exam.csv",
                     c("school", "student", "schgend", "sex", "vr", "type"))
contra <- read_factors("tests/reference/data/glmm_contraception.csv",
                       c("use", "urban", "livch", "district"))

varcorr_blocks <- function(m) {
  vc <- VarCorr(m)
  lapply(seq_along(vc), function(k) {
    v <- vc[[k]]
    list(group = names(vc)[k], names = I(colnames(v)), sd = I(unname(attr(v, "stddev"))),
         correlation = unname(as.matrix(attr(v, "correlation"))))
  })
}

ranef_tables <- function(m) {
  re <- ranef(m, condVar = TRUE)
  lapply(names(re), function(g) {
    r <- re[[g]]
    list(group = g, names = I(colnames(r)), levels = I(rownames(r)), modes = unname(as.matrix(r)))
  })
}

describe <- function(id, m, formula, data_file, factors, newdata) {
  glmm <- isGLMM(m)
  s <- summary(m)
  out <- list(
    id = id, formula = formula, data = data_file, factors = I(factors),
    kind = if (glmm) "glmer" else "lmer", reml = isREML(m),
    criterion = if (glmm) deviance(m) else unname(getME(m, "devcomp")$cmp[[if (isREML(m)) "REML" else "dev"]]),
    loglik = as.numeric(logLik(m)), aic = AIC(m), nobs = nobs(m),
    fixef_names = I(names(fixef(m))), fixef = I(unname(fixef(m))),
    fixef_se = I(unname(sqrt(diag(as.matrix(vcov(m)))))),
    theta = I(unname(getME(m, "theta"))),
    theta_names = I(names(getME(m, "theta"))),
    varcorr = varcorr_blocks(m),
    sigma = if (glmm) NULL else sigma(m),
    ranef = ranef_tables(m),
    fitted_head = I(unname(head(fitted(m), 10))),
    newdata = newdata,
    predict_conditional = I(unname(predict(m, newdata = newdata, allow.new.levels = TRUE))),
    predict_marginal = I(unname(predict(m, newdata = newdata, re.form = NA))),
    wald = {
      ci <- confint(m, method = "Wald", parm = "beta_")
      list(names = I(rownames(ci)), low = I(unname(ci[, 1])), high = I(unname(ci[, 2])))
    },
    printed_groups = I(as.data.frame(VarCorr(m))$grp)
  )
  out
}

exam_new <- data.frame(standLRT = c(0.5, -1, 0.2, 1.1), sex = c("F", "M", "M", "F"),
                       school = c("1", "1", "12", "no such school"))
contra_new <- data.frame(age = c(-5.5599, 10.44, 0, 3), urban = c("Y", "N", "N", "Y"),
                         livch = c("0", "3+", "1", "2"), district = c("1", "1", "14", "99"))

cases <- list()
add_lmer <- function(id, formula, reml = TRUE) {
  m <- lmer(as.formula(formula), data = exam, REML = reml, control = LMER_TIGHT)
  cases[[length(cases) + 1]] <<- describe(id, m, formula, "formula_exam.csv",
                                          c("school", "student", "schgend", "sex", "vr", "type"),
                                          exam_new)
  m
}
add_glmer <- function(id, formula) {
  m <- glmer(as.formula(formula), data = contra, family = binomial, control = GLMER_TIGHT)
  cases[[length(cases) + 1]] <<- describe(id, m, formula, "glmm_contraception.csv",
                                          c("use", "urban", "livch", "district"), contra_new)
  m
}

## performance's ICC and Nakagawa R^2 (insight matches a random term's effect names
## with the fixed effects' names: sexM / urbanY here).
nakagawa <- function(m) {
  i <- icc(m)
  r <- r2_nakagawa(m)
  list(icc_adjusted = i$ICC_adjusted, icc_unadjusted = i$ICC_unadjusted,
       r2_marginal = unname(r$R2_marginal), r2_conditional = unname(r$R2_conditional))
}

m_sex <- add_lmer("exam_sex_slope", "normexam ~ standLRT + (sex | school)")
## Profile intervals of the factor-slope model (ML profiles of .sig01..., .sigma, beta).
pr <- confint(m_sex, method = "profile", oldNames = FALSE)
cases[[1]]$profile <- list(names = I(rownames(pr)), low = I(unname(pr[, 1])),
                           high = I(unname(pr[, 2])))
cases[[1]]$performance <- suppressWarnings(nakagawa(m_sex))
invisible(add_lmer("exam_sex_all_levels", "normexam ~ standLRT + (0 + sex | school)"))
invisible(add_lmer("exam_sex_lrt_ml", "normexam ~ standLRT + sex + (standLRT + sex | school)",
                   reml = FALSE))
## expandDoubleVerts: (0 + standLRT | school) + (0 + sex | school), sex's block full.
## (Exam's vr is constant within school: a vr block's correlations are not identified.)
invisible(add_lmer("exam_double_bar", "normexam ~ standLRT + sex + (0 + standLRT + sex || school)"))
## Interactions on the left: a slope of standLRT per level of sex (R codes sex by all
## levels when the margin standLRT is not in the term), correlated and with '||'.
invisible(add_lmer("exam_interaction", "normexam ~ standLRT * sex + (standLRT:sex | school)"))
invisible(add_lmer("exam_interaction_double_bar",
                   "normexam ~ standLRT * sex + (1 + standLRT:sex || school)"))
m_urban <- add_glmer("contraception_urban", "use ~ age + urban + (urban | district)")
cases[[length(cases)]]$performance <- nakagawa(m_urban)
invisible(add_glmer("contraception_classic",
                    "use ~ age + I(age^2) + urban + livch + (urban | district)"))
invisible(add_glmer("contraception_all_levels", "use ~ age + urban + (0 + urban | district)"))
invisible(add_glmer("contraception_interaction", "use ~ age * urban + (1 + age:urban | district)"))

## (urban || district) is (1 | district) + (0 + urban | district): the intercept and
## both levels' effects; only their sums are identified (lme4 stops anywhere on a ridge).
## The engine refuses it; recorded here to show the ridge.
ridge <- lapply(c("bobyqa", "Nelder_Mead"), function(opt) {
  m <- glmer(use ~ age + urban + (urban || district), data = contra, family = binomial,
             control = glmerControl(optimizer = opt, tolPwrss = 1e-13))
  list(optimizer = opt, loglik = as.numeric(logLik(m)), theta = I(unname(getME(m, "theta"))),
       varcorr = varcorr_blocks(m))
})

out <- list(
  lme4 = as.character(packageVersion("lme4")), R = R.version.string,
  cases = cases, double_bar_ridge = ridge
)
writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE, null = "null", na = "null",
                  pretty = TRUE, matrix = "rowmajor"),
           "tests/reference/factor_slopes_reference.json")
cat("wrote tests/reference/factor_slopes_reference.json\n")
