## Reference numbers for models without a fixed intercept (`0 +`), issue 15.
##
## Run from the repository root:
##   LC_ALL=C.UTF-8 LC_COLLATE=C Rscript tests/reference/no_intercept_reference.R
## Writes tests/reference/data/no_intercept_{scotssec,sleep}.csv (and reads
## formula_hsb82.csv, written by formula_reference.R) and
## tests/reference/no_intercept_reference.json (a few seconds).
##
## For each model: lme4's criterion, fixed effects, SEs, theta, sigma, and
## performance's icc() and r2_nakagawa() (insight adds a column of ones for the random
## intercept when the fixed part has none). `spans` says whether the fixed columns
## span the constant (rank of [1 X] equals rank of X): only then is the model the
## intercept model written another way, and the app shows ICC and R^2; otherwise
## (sleepstudy's `0 + year`) performance still prints numbers, recorded here so the
## test can show they are not the intercept model's, and the app shows none.
## Each intercept-free model is paired with the same model with an intercept where
## they are the same model: ICC and R^2 must agree.
##
## `year` = Days + 2003 and `reaction_ms100` = Reaction * 100 make the badly scaled
## columns that lib.lmm.conditioning rescales (scaling only, without an intercept).

suppressMessages({
  library(lme4)
  library(performance)
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

scots <- data.frame(
  primary = as.character(ScotsSec$primary), attain = ScotsSec$attain,
  verbal = ScotsSec$verbal, sex = as.character(ScotsSec$sex),
  social = as.character(ScotsSec$social), stringsAsFactors = FALSE
)
sleep <- data.frame(
  Subject = as.character(sleepstudy$Subject), Reaction = sleepstudy$Reaction,
  Days = sleepstudy$Days, year = sleepstudy$Days + 2003,
  reaction_ms100 = sleepstudy$Reaction * 100, stringsAsFactors = FALSE
)
files <- list(
  scotssec = list(name = "no_intercept_scotssec.csv", frame = scots,
                  factors = c("primary", "sex", "social")),
  sleep = list(name = "no_intercept_sleep.csv", frame = sleep, factors = c("Subject")),
  # written by formula_reference.R (mlmRev's Hsb82); read here, not written again
  hsb82 = list(name = "formula_hsb82.csv", factors = c("school", "sector"), frame = NULL)
)
frames <- lapply(files, function(d) {
  path <- file.path(data_dir, d$name)
  if (!is.null(d$frame)) write.csv(d$frame, path, row.names = FALSE, fileEncoding = "UTF-8")
  frame <- read.csv(path, stringsAsFactors = FALSE, check.names = FALSE,
                    colClasses = setNames(rep("character", length(d$factors)), d$factors))
  for (f in d$factors) frame[[f]] <- cfactor(frame[[f]])
  frame
})

cases <- list(
  list(id = "scots_sex_cells", data = "scotssec", reml = TRUE,
       formula = "attain ~ 0 + sex + verbal + (1 | primary)"),
  list(id = "scots_sex_cells_intercept", data = "scotssec", reml = TRUE,
       formula = "attain ~ 1 + sex + verbal + (1 | primary)"),
  list(id = "hsb82_sector_slope", data = "hsb82", reml = FALSE,
       formula = "mAch ~ 0 + sector + cses + (1 + cses | school)"),
  list(id = "hsb82_sector_slope_intercept", data = "hsb82", reml = FALSE,
       formula = "mAch ~ 1 + sector + cses + (1 + cses | school)"),
  list(id = "sleep_no_constant", data = "sleep", reml = TRUE,
       formula = "Reaction ~ 0 + Days + (Days | Subject)"),
  list(id = "sleep_badly_scaled", data = "sleep", reml = TRUE,
       formula = "reaction_ms100 ~ 0 + year + (1 | Subject)")
)

num <- function(x) if (is.null(x) || length(x) == 0 || is.na(x)) NULL else unname(x)
pick <- function(obj, name) if (is.list(obj)) num(obj[[name]]) else NULL

results <- lapply(cases, function(cs) {
  frame <- frames[[cs$data]]
  fit <- lmer(as.formula(cs$formula), data = frame, REML = cs$reml,
              control = lmerControl(optimizer = "bobyqa",
                                    optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))
  X <- getME(fit, "X")
  spans <- qr(cbind(1, X))$rank == qr(X)$rank
  icc_value <- suppressWarnings(icc(fit))
  r2_value <- suppressWarnings(r2_nakagawa(fit))
  list(
    id = cs$id, data = files[[cs$data]]$name, factors = I(files[[cs$data]]$factors),
    formula = cs$formula, reml = cs$reml, spans = spans, singular = isSingular(fit),
    criterion = unname(if (cs$reml) getME(fit, "devcomp")$cmp[["REML"]]
                       else getME(fit, "devcomp")$cmp[["dev"]]),
    fixef_names = I(names(fixef(fit))), fixef = unname(fixef(fit)),
    se = unname(sqrt(diag(as.matrix(vcov(fit))))),
    theta = unname(getME(fit, "theta")), sigma = sigma(fit),
    icc_adjusted = pick(icc_value, "ICC_adjusted"),
    icc_unadjusted = pick(icc_value, "ICC_unadjusted"),
    r2_marginal = pick(r2_value, "R2_marginal"),
    r2_conditional = pick(r2_value, "R2_conditional")
  )
})

meta <- list(
  R = R.version.string, lme4 = as.character(packageVersion("lme4")),
  performance = as.character(packageVersion("performance")),
  insight = as.character(packageVersion("insight"))
)
writeLines(toJSON(list(meta = meta, cases = results), auto_unbox = TRUE, digits = NA,
                  pretty = TRUE, null = "null"),
           file.path(out_dir, "no_intercept_reference.json"))
