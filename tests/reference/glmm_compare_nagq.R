## Reference numbers for the Compare page's GLMM comparison with the Model page's nAGQ
## (issue 16): the tutorial's four mixed models of the bundled Contraception data
## (data/contraception.csv: use Y/N, age, district), the three with one scalar random
## effect fitted with nAGQ = 9 (glmer allows nAGQ > 1 for them: "a single scalar
## random-effects term", lme4 R/modular.R), the random intercept and slope model by
## Laplace (nAGQ = 1), and lme4's anova() of the four. For a 0/1 outcome the saturated
## log-likelihood glmer's AGQ deviance leaves out is 0, so the two kinds of fit are on
## one scale.
##   LC_ALL=C.UTF-8 Rscript tests/reference/glmm_compare_nagq.R
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })
here <- "tests/reference"
d <- read.csv("data/contraception.csv", stringsAsFactors = FALSE)
d$use <- factor(d$use, levels = c("N", "Y"))  # glmer: the second level counts as 1
d$district <- factor(d$district)
tight <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
case <- function(m) list(nAGQ = m@devcomp$dims[["nAGQ"]], npar = attr(logLik(m), "df"),
                         loglik = as.numeric(logLik(m)), aic = AIC(m), bic = BIC(m),
                         deviance = as.numeric(-2 * logLik(m)),
                         fixef = unname(fixef(m)), theta = unname(getME(m, "theta")))
fits <- list(
  null_agq9 = glmer(use ~ 1 + (1 | district), d, binomial, nAGQ = 9, control = tight),
  intercept_agq9 = glmer(use ~ 1 + age + (1 | district), d, binomial, nAGQ = 9, control = tight),
  slope_agq9 = glmer(use ~ 1 + (0 + age | district), d, binomial, nAGQ = 9, control = tight),
  both_laplace = glmer(use ~ 1 + age + (1 + age | district), d, binomial, control = tight),
  null_agq25 = glmer(use ~ 1 + (1 | district), d, binomial, nAGQ = 25, control = tight),
  intercept_agq25 = glmer(use ~ 1 + age + (1 | district), d, binomial, nAGQ = 25, control = tight),
  slope_agq25 = glmer(use ~ 1 + (0 + age | district), d, binomial, nAGQ = 25, control = tight),
  null_laplace = glmer(use ~ 1 + (1 | district), d, binomial, control = tight)
)
a <- anova(fits$null_agq9, fits$slope_agq9, fits$intercept_agq9, fits$both_laplace)
anova9 <- list(models = c("null_agq9", "slope_agq9", "intercept_agq9", "both_laplace"),
               npar = a$npar, loglik = a$logLik, chisq = a$Chisq, df = a$Df,
               p = a[["Pr(>Chisq)"]])
out <- list(generated_by = "tests/reference/glmm_compare_nagq.R",
            versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4"))),
            control = "glmerControl(optimizer = 'bobyqa', tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))",
            fits = lapply(fits, case), anova_agq9 = anova9)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(here, "glmm_compare_nagq.json"))
cat("wrote", file.path(here, "glmm_compare_nagq.json"), "\n")
