## Check of glmm_profile_slope.json: lme4's own Laplace deviance (its modular devfun,
## tolPwrss = 1e-13) at the points where lib.glmm's profile found a lower minimum
## than lme4's profile spline implies (the Python profile's minimisers at lme4's
## limits for (Intercept) upper, livch2 lower and .sig02 lower; hard-coded below).
##   LC_ALL=C.UTF-8 Rscript tests/reference/glmm_profile_slope_check.R
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })
here <- "tests/reference"
ref <- fromJSON(file.path(here, "glmm_reference.json"), simplifyVector = FALSE)
info <- Filter(function(d) d$name == "contraception", ref$datasets)[[1]]
lv <- info$factor_levels
d <- read.csv(info$path, stringsAsFactors = FALSE, colClasses = setNames(rep("character", length(lv)), names(lv)))
for (nm in names(lv)) d[[nm]] <- factor(d[[nm]], levels = unlist(lv[[nm]]))
ctrl <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
m <- glmer(use ~ age + urban + livch + (urban | district), d, binomial, control = ctrl)
glmod <- glFormula(use ~ age + urban + livch + (urban | district), d, binomial, control = ctrl)
devfun <- do.call(mkGlmerDevfun, c(glmod, list(control = ctrl)))
opt <- optimizeGlmer(devfun, optimizer = "bobyqa", control = list(rhoend = 1e-10))
devfun <- updateGlmerDevfun(devfun, glmod$reTrms)
points <- list(
  "(Intercept)" = list(value = -1.44034150555201, theta = c(0.6089643244140434, -0.6436592932230636, 0.47498178161775734),
      beta = c(-1.44034150555201, -0.020745986651264724, 0.6775577460079149, 0.9757079873345096, 1.1903128158779632, 1.1369243330513827), python_deviance = 2401.9864657077433),
  "livch2" = list(value = 1.03229425060662, theta = c(0.6095678199429702, -0.6428314601137813, 0.47703913694551237),
      beta = c(-1.5358271134061103, -0.020790447115430235, 0.7952389590914347, 0.9796383640105395, 1.03229425060662, 1.1435539750483406), python_deviance = 2402.6572407022836),
  ".sig02" = list(value = -0.940854841547724, theta = c(0.6949643318036216, -0.822848850131374, 0.29631495438401684),
      beta = c(-1.7082926060057937, -0.026301154215789935, 0.8431830121303004, 1.1198869205513593, 1.3559544679223692, 1.3395417136473926), python_deviance = 2402.6635073048255)
)
at_optimum <- devfun(c(getME(m, "theta"), fixef(m)))
checks <- lapply(points, function(p) {
  dev <- devfun(c(p$theta, p$beta))
  list(value = p$value, lme4_deviance = dev, python_deviance = p$python_deviance,
       zeta = sqrt(max(dev - at_optimum, 0)))
})
out <- list(generated_by = "tests/reference/glmm_profile_slope_check.R", deviance_at_optimum = at_optimum,
            checks = checks)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "glmm_profile_slope_check.json"))
print(str(out))
