## Profile intervals of a correlated random term (issue 16): Contraception
## use ~ age + urban + livch + (urban | district), glmer tight fit, then
## confint(method = "profile") with control rhoend = 1e-8 (as glmm_reference.R's
## profile_control). Slow (minutes): kept apart from glmm_features.R.
##   LC_ALL=C.UTF-8 Rscript tests/reference/glmm_profile_slope.R
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })
here <- "tests/reference"
ref <- fromJSON(file.path(here, "glmm_reference.json"), simplifyVector = FALSE)
info <- Filter(function(d) d$name == "contraception", ref$datasets)[[1]]
lv <- info$factor_levels
d <- read.csv(info$path, stringsAsFactors = FALSE, colClasses = setNames(rep("character", length(lv)), names(lv)))
for (nm in names(lv)) d[[nm]] <- factor(d[[nm]], levels = unlist(lv[[nm]]))
tight <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
m <- glmer(use ~ age + urban + livch + (urban | district), d, binomial, control = tight)
t0 <- proc.time()[["elapsed"]]
ci <- confint(m, method = "profile", control = list(rhoend = 1e-8))
secs <- proc.time()[["elapsed"]] - t0
out <- list(generated_by = "tests/reference/glmm_profile_slope.R",
            lme4 = as.character(packageVersion("lme4")), loglik = as.numeric(logLik(m)),
            ci_profile = lapply(setNames(seq_len(nrow(ci)), rownames(ci)), function(i) unname(ci[i, ])),
            seconds = secs)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "glmm_profile_slope.json"))
cat("wrote glmm_profile_slope.json in", secs, "s\n")
