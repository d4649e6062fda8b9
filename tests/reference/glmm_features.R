## Reference numbers for lib/glmm's features beyond the fit (issue 16): performance's
## overdispersion check, lme4's checkConv on given derivatives, a Poisson
## likelihood-ratio test and adaptive Gauss-Hermite fits of Owls and Contraception.
## Small and fast (about a minute); the fits reuse the data files and factor levels
## of glmm_reference.json.
##   LC_ALL=C.UTF-8 Rscript tests/reference/glmm_features.R
suppressPackageStartupMessages({
  library(lme4); library(performance); library(jsonlite)
})
here <- "tests/reference"
ref <- fromJSON(file.path(here, "glmm_reference.json"), simplifyVector = FALSE)
read_set <- function(name) {
  info <- Filter(function(d) d$name == name, ref$datasets)[[1]]
  lv <- info$factor_levels
  d <- read.csv(info$path, stringsAsFactors = FALSE, colClasses = setNames(rep("character", length(lv)), names(lv)))
  for (nm in names(lv)) d[[nm]] <- factor(d[[nm]], levels = unlist(lv[[nm]]))
  d
}
tight <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
cbpp <- read_set("cbpp"); owls <- read_set("owls"); grouse <- read_set("grouseticks")
fits <- list(
  cbpp_laplace = glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial, control = tight),
  owls_offset = glmer(SiblingNegotiation ~ FoodTreatment + SexParent + ArrivalTime + offset(log(BroodSize)) + (1 | Nest),
                      owls, poisson, control = tight),
  owls_nosex = glmer(SiblingNegotiation ~ FoodTreatment + ArrivalTime + offset(log(BroodSize)) + (1 | Nest),
                     owls, poisson, control = tight),
  grouseticks_brood = glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD), grouse, poisson, control = tight)
)
overdispersion <- lapply(fits, function(m) {
  od <- check_overdispersion(m)
  list(chisq = od$chisq_statistic, ratio = od$dispersion_ratio, rdf = od$residual_df, p = od$p_value,
       loglik = as.numeric(logLik(m)))
})
a <- anova(fits$owls_nosex, fits$owls_offset)
lrt <- list(models = c("owls_nosex", "owls_offset"), npar = a$npar, loglik = a$logLik,
            deviance = a$deviance, chisq = a$Chisq[2], df = a$Df[2], p = a[["Pr(>Chisq)"]][2],
            aic = a$AIC, bic = a$BIC)
## checkConv on given (gradient, Hessian): one theta, two fixed effects.
H <- matrix(c(4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2), 3)
conv_case <- function(id, g, H, coefs) {
  res <- suppressWarnings(suppressMessages(
    lme4:::checkConv(list(gradient = g, Hessian = H), coefs, glmerControl()$checkConv, lbound = 0)))
  list(id = id, gradient = g, hessian = H, coefs = coefs, messages = as.list(unlist(res$messages)))
}
conv <- list(
  conv_case("fine", c(1e-4, -2e-4, 1e-5), H, c(0.6, -1, 0.5)),
  conv_case("large_gradient", c(0.05, -0.01, 0.002), H, c(0.6, -1, 0.5)),
  conv_case("negative_eigenvalue", c(1e-4, 1e-4, 1e-4), matrix(c(4, 1, 0.5, 1, -3, 0.2, 0.5, 0.2, 2), 3), c(0.6, -1, 0.5)),
  conv_case("large_eigenvalue", c(1e-4, 1e-4, 1e-4), diag(c(2e6, 3, 2)), c(0.6, -1, 0.5)),
  conv_case("singular", c(0.5, 0.5, 0.5), H, c(0, -1, 0.5))
)
## Adaptive Gauss-Hermite beyond cbpp: a Poisson model with an offset and a 0/1 factor outcome.
contra <- read_set("contraception")
agq_case <- function(m) list(nAGQ = m@devcomp$dims[["nAGQ"]], loglik = as.numeric(logLik(m)),
                             aic = AIC(m), fixef = as.list(fixef(m)), se = unname(sqrt(diag(as.matrix(vcov(m))))),
                             theta = unname(getME(m, "theta")))
agq <- list(
  owls_agq9 = agq_case(glmer(SiblingNegotiation ~ FoodTreatment + SexParent + ArrivalTime + offset(log(BroodSize)) + (1 | Nest),
                             owls, poisson, nAGQ = 9, control = tight)),
  contraception_agq7 = agq_case(glmer(use ~ age + urban + livch + (1 | district), contra, binomial,
                                      nAGQ = 7, control = tight))
)
out <- list(generated_by = "tests/reference/glmm_features.R",
            versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                            performance = as.character(packageVersion("performance"))),
            control = "glmerControl(optimizer = 'bobyqa', tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))",
            overdispersion = overdispersion, lrt_owls_sex = lrt, check_conv = conv, agq = agq)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "glmm_features.json"))
cat("wrote", file.path(here, "glmm_features.json"), "\n")
