# R check for the first slice of lib/glmm (tests/test_glmm_family.py, tests/test_glmm_engine.py).
# Run from the worktree root:
#   LC_ALL=C.UTF-8 LC_COLLATE=C Rscript tests/reference/glmm_engine_check.R
# Writes tests/reference/glmm_engine_check.json and tests/reference/data/glmm_engine_*.csv.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
out <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))

# 1. R's family functions at a few values.
eta <- c(-3, -0.7, 0, 0.4, 2.5)
mu_b <- c(0.02, 0.3, 0.5, 0.77, 0.95)
y_b <- c(0, 0.25, 0.5, 1, 0.6)
w_b <- c(1, 4, 2, 1, 5)
mu_p <- c(0.1, 1.5, 3, 7.2, 20)
y_p <- c(0, 1, 3, 9, 17)
w_p <- c(1, 1, 2, 1, 1)
fam <- list()
for (link in c("logit", "probit", "cloglog")) {
  f <- binomial(link)
  fam[[paste0("binomial_", link)]] <- list(
    linkinv = f$linkinv(eta), mu_eta = f$mu.eta(eta), linkfun = f$linkfun(mu_b),
    variance = f$variance(mu_b), dev_resids = f$dev.resids(y_b, mu_b, w_b),
    aic = f$aic(y_b, w_b, mu_b, w_b, 0))
}
f <- poisson("log")
fam$poisson_log <- list(
  linkinv = f$linkinv(eta), mu_eta = f$mu.eta(eta), linkfun = f$linkfun(mu_p),
  variance = f$variance(mu_p), dev_resids = f$dev.resids(y_p, mu_p, w_p),
  aic = f$aic(y_p, 1, mu_p, w_p, 0))
out$family <- list(eta = eta, mu_binomial = mu_b, y_binomial = y_b, w_binomial = w_b,
                   mu_poisson = mu_p, y_poisson = y_p, w_poisson = w_p, values = fam)

# 2. Fits.
numbers <- function(fit) {
  vc <- as.data.frame(VarCorr(fit))
  re <- ranef(fit, condVar = TRUE)
  g <- names(re)[1]
  list(
    fixef = as.list(fixef(fit)),
    se_default = as.list(sqrt(diag(as.matrix(vcov(fit))))),
    se_rx = as.list(sqrt(diag(as.matrix(vcov(fit, use.hessian = FALSE))))),
    theta = unname(getME(fit, "theta")),
    sd = vc$sdcor[is.na(vc$var2)],
    cor = vc$sdcor[!is.na(vc$var2)],
    loglik = as.numeric(logLik(fit)),
    aic = AIC(fit), bic = BIC(fit),
    deviance_summary = unname(summary(fit)$AICtab["deviance"]),
    deviance_conditional = deviance(fit),
    df_resid = df.residual(fit),
    scaled_resid_quantiles = unname(quantile(residuals(fit, "pearson", scaled = TRUE))),
    singular = isSingular(fit),
    fitted_first = unname(head(fitted(fit), 10)),
    nobs = nobs(fit),
    ranef_levels = rownames(re[[g]]),
    ranef = re[[g]][[1]],
    ranef_all = as.matrix(re[[g]]),
    ranef_var = as.numeric(attr(re[[g]], "postVar")),
    z = as.list(summary(fit)$coefficients[, 3]),
    p = as.list(summary(fit)$coefficients[, 4]))
}
brief <- glmerControl(tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10))
tight <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-13,
                      optCtrl = list(rhoend = 1e-10, maxfun = 1e5))

data(cbpp, package = "lme4")
write.csv(cbpp[, c("herd", "incidence", "size", "period")],
          "tests/reference/data/glmm_engine_cbpp.csv", row.names = FALSE)
form_b <- cbind(incidence, size - incidence) ~ period + (1 | herd)
out$cbpp <- list(
  formula = deparse(form_b),
  brief = suppressWarnings(numbers(glmer(form_b, cbpp, binomial, control = brief))),
  tight = numbers(glmer(form_b, cbpp, binomial, control = tight)))

data(grouseticks, package = "lme4")
gt <- grouseticks
gt$cHEIGHT <- gt$HEIGHT - mean(gt$HEIGHT)
gt <- gt[, c("TICKS", "YEAR", "cHEIGHT", "BROOD", "LOCATION")]
write.csv(gt, "tests/reference/data/glmm_engine_grouse.csv", row.names = FALSE)
form_p <- TICKS ~ YEAR + cHEIGHT + (1 | BROOD)
out$grouse <- list(
  formula = deparse(form_p),
  brief = suppressWarnings(numbers(glmer(form_p, gt, poisson, control = brief))),
  tight = numbers(glmer(form_p, gt, poisson, control = tight)))

# Several terms (nested BROOD in LOCATION, the blocked factor) and a non-canonical link.
form_2 <- TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)
out$grouse_two <- list(
  formula = deparse(form_2),
  brief = suppressWarnings(numbers(glmer(form_2, gt, poisson, control = brief))),
  tight = numbers(glmer(form_2, gt, poisson, control = tight)))
out$cbpp_probit <- list(
  formula = deparse(form_b),
  brief = suppressWarnings(numbers(glmer(form_b, cbpp, binomial("probit"), control = brief))),
  tight = numbers(glmer(form_b, cbpp, binomial("probit"), control = tight)))

# A correlated random slope (q = 2) on 0/1 data: Contraception (mlmRev), urban as 0/1.
data(Contraception, package = "mlmRev")
cn <- data.frame(use = as.integer(Contraception$use == "Y"), age = Contraception$age,
                 urban = as.integer(Contraception$urban == "Y"), livch = Contraception$livch,
                 district = Contraception$district)
write.csv(cn, "tests/reference/data/glmm_engine_contraception.csv", row.names = FALSE)
form_s <- use ~ age + urban + livch + (urban | district)
out$contraception_slope <- list(
  formula = deparse(form_s),
  brief = suppressWarnings(numbers(glmer(form_s, cn, binomial, control = brief))),
  tight = numbers(glmer(form_s, cn, binomial, control = tight)))

# An offset (log brood size): glmmTMB's Owls, the classic exposure example.
data(Owls, package = "glmmTMB")
ow <- data.frame(SiblingNegotiation = Owls$SiblingNegotiation,
                 FoodTreatment = Owls$FoodTreatment, SexParent = Owls$SexParent,
                 ArrivalTime = Owls$ArrivalTime, logBroodSize = log(Owls$BroodSize),
                 Nest = Owls$Nest)
write.csv(ow, "tests/reference/data/glmm_engine_owls.csv", row.names = FALSE)
form_o <- SiblingNegotiation ~ FoodTreatment + SexParent + ArrivalTime +
  offset(logBroodSize) + (1 | Nest)
out$owls_offset <- list(
  formula = paste(deparse(form_o), collapse = ""),
  brief = suppressWarnings(numbers(glmer(form_o, ow, poisson, control = brief))),
  tight = numbers(glmer(form_o, ow, poisson, control = tight)))

# Crossed terms (LOCATION x YEAR: the second diagonal block fills in, dense).
form_c <- TICKS ~ cHEIGHT + (1 | LOCATION) + (1 | YEAR)
out$grouse_crossed <- list(
  formula = deparse(form_c),
  brief = suppressWarnings(numbers(glmer(form_c, gt, poisson, control = brief))),
  tight = numbers(glmer(form_c, gt, poisson, control = tight)))

# nAGQ = 0 (stage 1 only; vcov from R_X).
out$cbpp_nagq0 <- list(
  formula = deparse(form_b),
  brief = numbers(glmer(form_b, cbpp, binomial, nAGQ = 0, control = brief)),
  tight = numbers(glmer(form_b, cbpp, binomial, nAGQ = 0, control = tight)))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/glmm_engine_check.json")
