#!/usr/bin/env Rscript
## ---------------------------------------------------------------------------
## Reference values for the Python LMM implementation ("Multilevel Explorer").
##
## Run from the repository root:
##   LC_ALL=C.UTF-8 LC_COLLATE=C Rscript tests/reference/make_lmm_reference.R
##
## Writes
##   tests/reference/data/*.csv        data sets (full-precision numbers)
##   tests/reference/lmm_reference.json fitted-model reference values
##
## Optional: if the environment variable LMM_REF_HEX is set to a file path,
## a second copy of the JSON is written there in which every number is a
## C99 hex-float string (sprintf("%a")), used to verify that the decimal
## numbers in lmm_reference.json round-trip to the exact R doubles.
## ---------------------------------------------------------------------------

invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(performance)
  library(insight)
  library(jsonlite)
})

if (!dir.exists("tests/reference")) {
  stop("run this script from the repository root (tests/reference not found)")
}
REF_DIR <- "tests/reference"
DATA_DIR <- file.path(REF_DIR, "data")
dir.create(DATA_DIR, showWarnings = FALSE, recursive = TRUE)
SCHOOLS_PATH <- "data/schools.csv"

## ---------------------------------------------------------------- helpers --

## Shortest decimal string (15, 16 or 17 significant digits) that converts
## back to exactly the same double.
fmt_num <- function(x) {
  vapply(x, function(v) {
    if (is.na(v) || !is.finite(v)) return(NA_character_)
    for (d in 15:17) {
      s <- sprintf(paste0("%.", d, "g"), v)
      if (as.numeric(s) == v) return(s)
    }
    sprintf("%.17g", v)
  }, "", USE.NAMES = FALSE)
}

## C-order (codepoint / UTF-8 byte order) factor, as the Python side sorts.
c_factor <- function(x) {
  x <- as.character(x)
  factor(x, levels = sort(unique(x), method = "radix"))
}

## Write a data frame as CSV (numbers at full precision), read it back and
## check that the values are identical.  Returns the re-read data (numbers as
## doubles, strings as character) -- models are fitted to exactly this.
write_data <- function(df, file) {
  out <- df
  is_num <- vapply(df, is.numeric, NA)
  for (nm in names(out)) {
    out[[nm]] <- if (is_num[[nm]]) fmt_num(as.numeric(out[[nm]])) else as.character(out[[nm]])
  }
  qcols <- which(!is_num)
  write.csv(out, file, row.names = FALSE,
            quote = if (length(qcols)) qcols else FALSE,
            fileEncoding = "UTF-8", na = "")
  back <- read_data(file, text_cols = names(df)[!is_num])
  stopifnot(identical(names(back), names(df)), nrow(back) == nrow(df))
  for (nm in names(df)) {
    if (is_num[[nm]]) {
      if (!identical(back[[nm]], as.numeric(df[[nm]])))
        stop("numeric column ", nm, " of ", file, " does not round-trip")
    } else {
      if (!identical(back[[nm]], as.character(df[[nm]])))
        stop("text column ", nm, " of ", file, " does not round-trip")
    }
  }
  back
}

read_data <- function(file, text_cols = character()) {
  cc <- if (length(text_cols)) setNames(rep("character", length(text_cols)), text_cols) else NA
  d <- read.csv(file, stringsAsFactors = FALSE, encoding = "UTF-8",
                fileEncoding = "UTF-8", check.names = FALSE, colClasses = cc)
  for (nm in names(d)) if (is.numeric(d[[nm]])) d[[nm]] <- as.numeric(d[[nm]])
  d
}

## Build the lme4 formula from a spec.
build_formula <- function(spec) {
  fixed <- paste(c("1", unlist(spec$fixed)), collapse = " + ")
  g <- spec$group
  slopes <- unlist(spec$random_slopes)
  if (isTRUE(spec$correlated) || length(slopes) == 0 ||
      (!spec$random_intercept && length(slopes) == 1)) {
    terms <- c(if (spec$random_intercept) "1" else "0", slopes)
    random <- sprintf("(%s | %s)", paste(terms, collapse = " + "), g)
  } else {
    random <- c(if (spec$random_intercept) sprintf("(1 | %s)", g),
                sprintf("(0 + %s | %s)", slopes, g))
  }
  as.formula(paste(spec$outcome, "~", paste(c(fixed, random), collapse = " + ")))
}

mk_spec <- function(outcome, group, fixed = character(), random_intercept = TRUE,
                    random_slopes = character(), correlated = TRUE, reml = TRUE) {
  list(outcome = outcome, group = group, fixed = as.list(fixed),
       random_intercept = random_intercept, random_slopes = as.list(random_slopes),
       correlated = correlated, reml = reml)
}

## Prepare data for modelling: grouping + categorical columns -> C-order factors.
model_frame <- function(d, spec, factors = character()) {
  for (nm in unique(c(spec$group, factors))) d[[nm]] <- c_factor(d[[nm]])
  d
}

## Evaluate expr, collecting warnings, messages and printed output.
capture_all <- function(expr) {
  w <- character(); m <- character()
  printed <- capture.output(
    val <- withCallingHandlers(
      tryCatch(expr, error = function(e) {
        w <<- c(w, paste("ERROR:", conditionMessage(e))); NULL
      }),
      warning = function(x) { w <<- c(w, conditionMessage(x)); invokeRestart("muffleWarning") },
      message = function(x) { m <<- c(m, trimws(conditionMessage(x))); invokeRestart("muffleMessage") }
    ))
  printed <- printed[nzchar(trimws(printed))]
  list(value = val, warnings = w, messages = c(m, printed))
}

## Fit with lmerTest::lmer (bobyqa).  The formula object is embedded in the call
## (so anova() can deparse it) and `dat` is the data symbol for every fit.
fit_lmer <- function(fml, dat, reml, optimizer = "bobyqa", lmertest = TRUE) {
  if (lmertest) {
    eval(bquote(lmerTest::lmer(.(fml), data = dat, REML = .(reml),
                               control = lme4::lmerControl(optimizer = .(optimizer)))))
  } else {
    eval(bquote(lme4::lmer(.(fml), data = dat, REML = .(reml),
                           control = lme4::lmerControl(optimizer = .(optimizer)))))
  }
}

crit_of <- function(fit) if (isREML(fit)) REMLcrit(fit) else deviance(fit)

na_null <- function(x) if (is.null(x) || length(x) == 0 || all(is.na(x))) NULL else unname(x)
mat_rows <- function(m) lapply(seq_len(nrow(m)), function(i) I(unname(as.numeric(m[i, ]))))
text_or_null <- function(x) if (length(x)) paste(x, collapse = "\n") else NULL

## ------------------------------------------------------------ extraction --

extract_result <- function(fit, spec) {
  g <- spec$group
  reml <- isREML(fit)
  s <- summary(fit)                       # lmerTest summary (Satterthwaite)
  cf <- s$coefficients
  terms_fe <- rownames(cf)
  byname <- function(col) as.list(setNames(unname(cf[, col]), terms_fe))
  ll <- logLik(fit)

  ## variance components
  vc <- VarCorr(fit)
  empty_map <- setNames(list(), character(0))          # -> {} in JSON
  variances <- empty_map; sds <- empty_map; corr <- empty_map
  for (el in names(vc)) {
    S <- vc[[el]]
    nms <- colnames(S)
    for (i in seq_along(nms)) {
      variances[[nms[i]]] <- S[i, i]
      sds[[nms[i]]] <- unname(attr(S, "stddev")[i])
    }
    if (length(nms) > 1) {
      C <- attr(S, "correlation")
      for (i in 1:(length(nms) - 1)) for (j in (i + 1):length(nms)) {
        v <- C[i, j]
        corr[[paste0(nms[i], ":", nms[j])]] <- if (is.finite(v)) v else NA_real_
      }
    }
  }

  ## conditional modes and their conditional variances
  re_all <- ranef(fit, condVar = TRUE)
  re <- re_all[[g]]
  lev <- rownames(re)
  re_terms <- colnames(re)
  pv <- attr(re, "postVar")
  diag_only <- is.list(pv)
  q <- length(re_terms)
  ranef_out <- list(); condvar_out <- list()
  for (i in seq_along(lev)) {
    ranef_out[[lev[i]]] <- as.list(setNames(as.numeric(re[i, ]), re_terms))
    if (diag_only) {
      M <- matrix(NA_real_, q, q)
      for (k in seq_len(q)) M[k, k] <- pv[[k]][1, 1, i]
    } else {
      M <- matrix(pv[, , i], q, q)
    }
    condvar_out[[lev[i]]] <- mat_rows(M)
  }

  ## performance::icc / r2_nakagawa
  icc_c <- capture_all(suppressMessages(performance::icc(fit)))
  icc_val <- icc_c$value
  icc_out <- if (is.null(icc_val) || all(is.na(icc_val))) NULL else
    list(adjusted = na_null(icc_val$ICC_adjusted), unadjusted = na_null(icc_val$ICC_unadjusted))
  r2_c <- capture_all(suppressMessages(performance::r2_nakagawa(fit)))
  r2_val <- r2_c$value
  r2_out <- if (is.null(r2_val) || all(is.na(unlist(r2_val)))) NULL else
    list(marginal = na_null(r2_val$R2_marginal), conditional = na_null(r2_val$R2_conditional))

  list(
    formula = deparse1(formula(fit)),
    method = if (reml) "REML" else "ML",
    criterion = crit_of(fit),
    criterion_best = NA_real_,           # filled in by the caller
    loglik = as.numeric(ll),
    aic = AIC(fit),
    bic = BIC(fit),
    nobs = nobs(fit),
    ngroups = unname(ngrps(fit)[[g]]),
    theta = I(unname(getME(fit, "theta"))),
    sigma = sigma(fit),
    fixef = as.list(fixef(fit)),
    fixef_se = byname("Std. Error"),
    fixef_t = byname("t value"),
    fixef_df = byname("df"),
    fixef_p = byname("Pr(>|t|)"),
    fixef_corr = mat_rows(as.matrix(cov2cor(as.matrix(vcov(fit))))),
    varcorr = list(variances = variances, sd = sds, corr = corr,
                   residual_variance = sigma(fit)^2),
    ranef = ranef_out,
    ranef_condvar = condvar_out,
    fitted = I(unname(fitted(fit))),
    scaled_resid_quantiles = I(unname(quantile(resid(fit) / sigma(fit), c(0, .25, .5, .75, 1)))),
    singular = isSingular(fit),
    icc = icc_out,
    icc_warning = text_or_null(c(icc_c$warnings, icc_c$messages)),
    r2 = r2_out,
    r2_warning = text_or_null(c(r2_c$warnings, r2_c$messages))
  )
}

## ----------------------------------------------------------------- cases --

CASES <- list()
COMPARISONS <- list()
DATASETS <- list()

register_data <- function(path, dat, description) {
  DATASETS[[length(DATASETS) + 1]] <<- list(
    path = path, nrow = nrow(dat), columns = I(names(dat)),
    md5 = unname(as.character(tools::md5sum(path))), description = description)
}

run_case <- function(name, data_path, raw, spec, note, factors = character()) {
  cat(sprintf("case %-38s ", name))
  dat <- model_frame(raw, spec, factors)
  fml <- build_formula(spec)
  fc <- capture_all(fit_lmer(fml, dat, spec$reml))
  fit <- fc$value
  if (is.null(fit)) stop("fit failed for ", name, ": ", paste(fc$warnings, collapse = "; "))
  res <- extract_result(fit, spec)

  runs <- list(list(optimizer = "bobyqa", criterion = res$criterion,
                    theta = I(unname(getME(fit, "theta"))),
                    conv_messages = I(as.character(fit@optinfo$conv$lme4$messages))))
  for (opt in c("Nelder_Mead", "nloptwrap")) {
    ac <- capture_all(fit_lmer(fml, dat, spec$reml, optimizer = opt, lmertest = FALSE))
    af <- ac$value
    runs[[length(runs) + 1]] <- list(
      optimizer = opt, criterion = crit_of(af), theta = I(unname(getME(af, "theta"))),
      conv_messages = I(as.character(af@optinfo$conv$lme4$messages)))
  }
  res$criterion_best <- min(vapply(runs, `[[`, 0, "criterion"))
  # Where bobyqa stopped early, keep every number of the best optimizer's fit
  # too, so the Python tests can compare all of them instead of skipping.
  best_run <- runs[[which.min(vapply(runs, `[[`, 0, "criterion"))]]
  result_best <- NULL
  if (res$criterion - res$criterion_best > 1e-6 * abs(res$criterion)) {
    bf <- capture_all(fit_lmer(fml, dat, spec$reml, optimizer = best_run$optimizer))$value
    result_best <- extract_result(bf, spec)
    result_best$criterion_best <- res$criterion_best
    result_best$optimizer <- best_run$optimizer
  }

  gv <- capture_all(insight::get_variance(fit, verbose = FALSE))$value
  case <- list(
    name = name, data = data_path, spec = spec, description = note,
    result = res,
    result_best = result_best,
    diagnostics = list(
      theta_names = I(names(getME(fit, "theta"))),
      lower = I(unname(getME(fit, "lower"))),   # null = -Inf
      theta_diagonal = I(unname(getME(fit, "lower")) == 0),
      fit_messages = I(fc$messages), fit_warnings = I(fc$warnings),
      optimizer_runs = runs,
      check_singularity_performance = performance::check_singularity(fit),
      insight_variances = if (is.list(gv)) lapply(gv, function(v) I(unname(v))) else NULL,
      insight_variance_names = if (is.list(gv)) lapply(gv, function(v) I(as.character(names(v)))) else NULL
    )
  )
  if (is.list(attr(ranef(fit, condVar = TRUE)[[spec$group]], "postVar")))
    case$condvar_diagonal_only <- TRUE
  CASES[[length(CASES) + 1]] <<- case
  cat(sprintf("crit=%.6f best=%.6f singular=%s\n", res$criterion, res$criterion_best, res$singular))
  invisible(fit)
}

run_comparison <- function(name, data_path, raw, specs, note, factors = character()) {
  cat(sprintf("comparison %s\n", name))
  dat <- model_frame(raw, specs[[1]], factors)
  fits <- lapply(specs, function(sp) capture_all(fit_lmer(build_formula(sp), dat, sp$reml))$value)
  mnames <- paste0("m", seq_along(fits))
  ac <- capture_all(do.call(anova, c(fits, list(model.names = mnames))))
  tab <- ac$value
  rows <- lapply(seq_len(nrow(tab)), function(i) {
    idx <- match(rownames(tab)[i], mnames)
    list(
      formula = deparse1(formula(fits[[idx]])),
      spec_index = idx - 1L,
      npar = tab$npar[i], aic = tab$AIC[i], bic = tab$BIC[i], loglik = tab$logLik[i],
      deviance = tab$deviance[i], chisq = tab$Chisq[i], df = tab$Df[i],
      p = tab[["Pr(>Chisq)"]][i])
  })
  refitted <- any(vapply(fits, isREML, NA))
  ## what anova() used internally: refitML(fit) (bobyqa, started at REML theta)
  ml_models <- lapply(seq_along(fits), function(k) {
    f <- fits[[k]]
    rf <- refitML(f)
    direct <- lapply(c("bobyqa", "Nelder_Mead", "nloptwrap"), function(opt)
      capture_all(fit_lmer(build_formula(specs[[k]]), dat, FALSE, optimizer = opt, lmertest = FALSE))$value)
    list(spec_index = k - 1L,
         refit_ml_deviance = deviance(rf),
         refit_ml_theta = I(unname(getME(rf, "theta"))),
         direct_ml_bobyqa_deviance = deviance(direct[[1]]),
         direct_ml_best_deviance = min(vapply(direct, deviance, 0)))
  })
  COMPARISONS[[length(COMPARISONS) + 1]] <<- list(
    name = name, data = data_path, specs = specs, description = note,
    table = rows, refitted_ml = refitted,
    messages = I(ac$messages), warnings = I(ac$warnings),
    diagnostics = list(ml_models = ml_models))
}

## ============================================================ data sets ==

## --- sleepstudy (lme4) -----------------------------------------------------
ss <- lme4::sleepstudy
ss_raw <- data.frame(Reaction = as.numeric(ss$Reaction), Days = as.numeric(ss$Days),
                     Subject = as.character(ss$Subject), stringsAsFactors = FALSE)
p_sleep <- file.path(DATA_DIR, "sleepstudy.csv")
sleep <- write_data(ss_raw, p_sleep)
register_data(p_sleep, sleep, "lme4::sleepstudy (180 rows, 18 subjects x 10 days)")

S <- function(...) mk_spec("Reaction", "Subject", ...)
sp_full_reml <- S(fixed = "Days", random_slopes = "Days")
sp_full_ml <- S(fixed = "Days", random_slopes = "Days", reml = FALSE)
sp_uncorr <- S(fixed = "Days", random_slopes = "Days", correlated = FALSE)
sp_ri_days <- S(fixed = "Days")
sp_null <- S()
sp_rs_only <- S(fixed = "Days", random_intercept = FALSE, random_slopes = "Days")

run_case("sleep_full_reml", p_sleep, sleep, sp_full_reml,
         "Classic correlated random intercept + slope, REML")
run_case("sleep_full_ml", p_sleep, sleep, sp_full_ml,
         "Same model fitted by ML (criterion = deviance)")
run_case("sleep_uncorr_reml", p_sleep, sleep, sp_uncorr,
         "Uncorrelated intercept and slope: (1|Subject) + (0+Days|Subject); two theta, condVar diagonal only; insight counts only the intercept term in var.random (quirk)")
run_case("sleep_ri_days_reml", p_sleep, sleep, sp_ri_days,
         "Random intercept with Days fixed")
run_case("sleep_ri_days_ml", p_sleep, sleep, S(fixed = "Days", reml = FALSE),
         "Random intercept with Days fixed, ML")
run_case("sleep_null_reml", p_sleep, sleep, sp_null,
         "Null (intercept-only) model, REML; var.fixed = 0")
run_case("sleep_null_ml", p_sleep, sleep, S(reml = FALSE),
         "Null model, ML")
run_case("sleep_rs_only_reml", p_sleep, sleep, sp_rs_only,
         "Random slope only (no random intercept): (0 + Days | Subject)")

## --- Dyestuff / Dyestuff2 ----------------------------------------------------
p_dye <- file.path(DATA_DIR, "dyestuff.csv")
dye <- write_data(data.frame(Batch = as.character(lme4::Dyestuff$Batch),
                             Yield = as.numeric(lme4::Dyestuff$Yield),
                             stringsAsFactors = FALSE), p_dye)
register_data(p_dye, dye, "lme4::Dyestuff (30 rows, 6 batches)")
p_dye2 <- file.path(DATA_DIR, "dyestuff2.csv")
dye2 <- write_data(data.frame(Batch = as.character(lme4::Dyestuff2$Batch),
                              Yield = as.numeric(lme4::Dyestuff2$Yield),
                              stringsAsFactors = FALSE), p_dye2)
register_data(p_dye2, dye2, "lme4::Dyestuff2 (30 rows, 6 batches; between-batch variance estimate 0)")

run_case("dyestuff_reml", p_dye, dye, mk_spec("Yield", "Batch"),
         "Balanced one-way random intercept, REML")
run_case("dyestuff_ml", p_dye, dye, mk_spec("Yield", "Batch", reml = FALSE),
         "Balanced one-way random intercept, ML")
run_case("dyestuff2_reml", p_dye2, dye2, mk_spec("Yield", "Batch"),
         "Singular fit: theta = 0 exactly; icc NA; r2 conditional NA")

## --- synthetic: unbalanced -------------------------------------------------------
set.seed(20240101)
G <- 10
sizes <- c(2L, 20L, sample(2:20, G - 2, replace = TRUE))
glab <- paste0("G", 1:G)                       # sorts G1, G10, G2, ... in C order
gi <- rep(seq_len(G), sizes)
b0 <- rnorm(G, 0, 2.5); b1 <- rnorm(G, 0, 0.6)
x <- round(runif(sum(sizes), 0, 10), 3)
y <- round(12 + 0.9 * x + b0[gi] + b1[gi] * x + rnorm(sum(sizes), 0, 1.5), 4)
unbal_raw <- data.frame(g = glab[gi], x = x, y = y, stringsAsFactors = FALSE)
unbal_raw <- unbal_raw[sample(nrow(unbal_raw)), ]      # rows in random order
p_unbal <- file.path(DATA_DIR, "unbalanced.csv")
unbal <- write_data(unbal_raw, p_unbal)
register_data(p_unbal, unbal, sprintf("synthetic: %d groups of sizes %s, rows shuffled", G, paste(sizes, collapse = ",")))

U <- function(...) mk_spec("y", "g", fixed = "x", ...)
run_case("unbal_full_reml", p_unbal, unbal, U(random_slopes = "x"),
         "Unbalanced groups (2..20 rows), correlated intercept + slope, REML")
run_case("unbal_full_ml", p_unbal, unbal, U(random_slopes = "x", reml = FALSE),
         "Unbalanced groups, ML")
run_case("unbal_ri_reml", p_unbal, unbal, U(),
         "Unbalanced groups, random intercept only")
run_case("unbal_uncorr_reml", p_unbal, unbal, U(random_slopes = "x", correlated = FALSE),
         "Unbalanced groups, uncorrelated intercept + slope")

## --- synthetic: three groups, six seeds ---------------------------------------
## seeds 1-6: various (often tiny) group variances -> mostly singular (1 + x | g) fits;
## seed 8: large intercept and slope variance -> a regular (non-singular) 3-group fit.
three_taus <- list(c(3, 0.5), c(0.05, 0.01), c(1, 0), c(0, 0), c(0.3, 0.3), c(0.01, 0.001))
three_taus[[8]] <- c(3, 1)
for (seed in c(1:6, 8)) {
  set.seed(seed)
  nj <- sample(20:70, 3, replace = TRUE)
  gi <- rep(1:3, nj)
  tau <- three_taus[[seed]]
  b0 <- rnorm(3, 0, tau[1]); b1 <- rnorm(3, 0, tau[2])
  x <- round(rnorm(sum(nj), 5, 2), 3)
  y <- round(10 + 1.5 * x + b0[gi] + b1[gi] * x + rnorm(sum(nj), 0, 2), 4)
  raw <- data.frame(g = c("north", "south", "west")[gi], x = x, y = y, stringsAsFactors = FALSE)
  p <- file.path(DATA_DIR, sprintf("three_groups_seed%d.csv", seed))
  d <- write_data(raw, p)
  register_data(p, d, sprintf("synthetic 3 groups (seed %d, sizes %s, true sd(b0)=%g, sd(b1)=%g, sigma=2)",
                              seed, paste(nj, collapse = ","), tau[1], tau[2]))
  run_case(sprintf("three_seed%d_full_reml", seed), p, d, U(random_slopes = "x"),
           sprintf("3 groups, (1 + x | g); true sd(b0)=%g, sd(b1)=%g -> often at/near boundary", tau[1], tau[2]))
  run_case(sprintf("three_seed%d_ri_reml", seed), p, d, U(),
           sprintf("3 groups, (1 | g); true sd(b0)=%g", tau[1]))
}

## --- synthetic: categorical predictor ----------------------------------------
set.seed(4242)
G <- 12
nj <- sample(15:30, G, replace = TRUE)
gi <- rep(seq_len(G), nj)
n <- sum(nj)
trt <- sample(c("A", "B", "C"), n, replace = TRUE)
x <- round(runif(n, 0, 10), 3)
b0 <- rnorm(G, 0, 2); b1 <- rnorm(G, 0, 0.3)
y <- round(20 + 2 * (trt == "B") - 1.5 * (trt == "C") + 0.8 * x + b0[gi] + b1[gi] * x +
             rnorm(n, 0, 1.8), 4)
cat_raw <- data.frame(clinic = sprintf("clinic_%02d", gi), trt = trt, x = x, y = y,
                      stringsAsFactors = FALSE)
p_cat <- file.path(DATA_DIR, "categorical.csv")
catd <- write_data(cat_raw, p_cat)
register_data(p_cat, catd, "synthetic: 12 clinics, categorical trt (A/B/C) + numeric x")

Cs <- function(...) mk_spec("y", "clinic", fixed = c("trt", "x"), ...)
run_case("cat_ri_reml", p_cat, catd, Cs(),
         "Categorical fixed predictor (treatment coding: trtB, trtC) + x, random intercept", factors = "trt")
run_case("cat_rs_reml", p_cat, catd, Cs(random_slopes = "x"),
         "Categorical fixed predictor + x, correlated random intercept + x slope", factors = "trt")
run_case("cat_ri_ml", p_cat, catd, Cs(reml = FALSE),
         "Categorical model fitted by ML", factors = "trt")

## --- synthetic: two random slopes (q = 3) ------------------------------------
set.seed(777)
G <- 15
nj <- sample(20:40, G, replace = TRUE)
gi <- rep(seq_len(G), nj)
n <- sum(nj)
Sig <- matrix(c(4, 0.6, -0.4,
                0.6, 0.5, 0.1,
                -0.4, 0.1, 0.3), 3, 3)
B <- matrix(rnorm(G * 3), G, 3) %*% chol(Sig)
x1 <- round(rnorm(n, 0, 1.5), 3)
x2 <- round(runif(n, -2, 2), 3)
y <- round(50 + 1.2 * x1 - 0.7 * x2 + B[gi, 1] + B[gi, 2] * x1 + B[gi, 3] * x2 + rnorm(n, 0, 1), 4)
two_raw <- data.frame(team = sprintf("team %s", LETTERS[gi]), x1 = x1, x2 = x2, y = y,
                      stringsAsFactors = FALSE)
p_two <- file.path(DATA_DIR, "two_slopes.csv")
two <- write_data(two_raw, p_two)
register_data(p_two, two, "synthetic: 15 teams, x1 and x2 with correlated random intercept and slopes")

Tw <- function(...) mk_spec("y", "team", fixed = c("x1", "x2"), random_slopes = c("x1", "x2"), ...)
run_case("two_slopes_reml", p_two, two, Tw(),
         "q = 3: (1 + x1 + x2 | team), 6 theta parameters")
run_case("two_slopes_uncorr_reml", p_two, two, Tw(correlated = FALSE),
         "q = 3 uncorrelated: (1|team) + (0+x1|team) + (0+x2|team)")

## --- synthetic: awkward group labels -------------------------------------------
set.seed(9001)
labels <- c("St Mary\u2019s", "O'Brien school", "Z\u00fcrich Gymnasium", "\u00e9cole Jean-Jaur\u00e8s",
            "aardvark academy", "Smith, Jones & Co", "Academy \"Quotes\"", "\u5317\u4eac\u4e00\u4e2d",
            "\u00c4rztehaus", "G 10", "G 9")
G <- length(labels)
nj <- sample(5:15, G, replace = TRUE)
gi <- rep(seq_len(G), nj)
n <- sum(nj)
b0 <- rnorm(G, 0, 3); b1 <- rnorm(G, 0, 0.5)
x <- round(rnorm(n, 3, 1.5), 3)
y <- round(60 + 2 * x + b0[gi] + b1[gi] * x + rnorm(n, 0, 2.5), 4)
uni_raw <- data.frame(school = labels[gi], x = x, y = y, stringsAsFactors = FALSE)
uni_raw <- uni_raw[sample(nrow(uni_raw)), ]
p_uni <- file.path(DATA_DIR, "unicode_groups.csv")
uni <- write_data(uni_raw, p_uni)
register_data(p_uni, uni, "synthetic: group labels with spaces, apostrophes (ASCII and U+2019), quotes, comma, accents, CJK; rows shuffled")

Un <- function(...) mk_spec("y", "school", fixed = "x", ...)
run_case("unicode_full_reml", p_uni, uni, Un(random_slopes = "x"),
         "Group labels with unicode/punctuation; ranef keys must match in C (codepoint) order")
run_case("unicode_ri_reml", p_uni, uni, Un(),
         "Same data, random intercept only")

## ========================================================== comparisons ==

run_comparison("sleep_nested", p_sleep, sleep, list(sp_null, sp_ri_days, sp_full_reml),
               "null vs random intercept with Days vs intercept+slope; all REML, anova refits with ML")
run_comparison("sleep_same_fixed", p_sleep, sleep, list(sp_ri_days, sp_full_reml),
               "(1|Subject) vs (1+Days|Subject), identical fixed effects; anova STILL refits with ML")
run_comparison("sleep_ml_pair", p_sleep, sleep,
               list(S(reml = FALSE), S(fixed = "Days", reml = FALSE)),
               "Both fits already ML: no refit")
run_comparison("sleep_unsorted_input", p_sleep, sleep, list(sp_full_reml, sp_null),
               "Models given in decreasing npar order: table is re-sorted by npar")
run_comparison("unbal_ri_vs_full", p_unbal, unbal, list(U(), U(random_slopes = "x")),
               "Synthetic unbalanced: random intercept vs intercept+slope")

## --- tutorial data (data/schools.csv, produced by a colleague) -----------------
have_schools <- file.exists(SCHOOLS_PATH)
if (have_schools) {
  sch <- read_data(SCHOOLS_PATH, text_cols = "school")
  stopifnot(all(c("school", "study_time", "test_score") %in% names(sch)))
  register_data(SCHOOLS_PATH, sch, "tutorial data set (not copied; read from data/schools.csv)")
  Sc <- function(...) mk_spec("test_score", "school", ...)
  sc_null <- Sc()
  sc_ri <- Sc(fixed = "study_time")
  sc_rs <- Sc(random_intercept = FALSE, random_slopes = "study_time")
  sc_full <- Sc(fixed = "study_time", random_slopes = "study_time")
  run_case("schools_null_reml", SCHOOLS_PATH, sch, sc_null, "Tutorial model 1: test_score ~ 1 + (1|school)")
  run_case("schools_ri_reml", SCHOOLS_PATH, sch, sc_ri, "Tutorial model 2: ~ 1 + study_time + (1|school)")
  run_case("schools_rs_reml", SCHOOLS_PATH, sch, sc_rs,
           "Tutorial model 3: ~ 1 + (0 + study_time|school) (slope not in fixed part)")
  run_case("schools_full_reml", SCHOOLS_PATH, sch, sc_full,
           "Tutorial model 4: ~ 1 + study_time + (1 + study_time|school)")
  run_comparison("schools_tutorial", SCHOOLS_PATH, sch, list(sc_null, sc_ri, sc_rs, sc_full),
                 "Tutorial: null, random intercept, random slope, both (anova order = by npar; null and random-slope-only both have npar 3 -> Df 0, p NA)")
} else {
  cat("NOTE: ", SCHOOLS_PATH, " not found; tutorial cases skipped\n")
}

## ================================================================ write ==

pkgv <- function(p) as.character(packageVersion(p))
out <- list(
  generated_by = sprintf("%s; lme4 %s; lmerTest %s; performance %s; insight %s; Matrix %s; numDeriv %s; jsonlite %s; script tests/reference/make_lmm_reference.R",
                         R.version.string, pkgv("lme4"), pkgv("lmerTest"), pkgv("performance"),
                         pkgv("insight"), pkgv("Matrix"), pkgv("numDeriv"), pkgv("jsonlite")),
  generated_at = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  settings = list(
    fit = "lmerTest::lmer(formula, data, REML, control = lmerControl(optimizer = 'bobyqa')), other settings default",
    criterion = "REML fits: REMLcrit(fit) = -2 * REML log-likelihood; ML fits: deviance(fit)",
    criterion_best = "min criterion over optimizers bobyqa, Nelder_Mead and nloptwrap (see diagnostics.optimizer_runs)",
    satterthwaite = "fixef_df / fixef_p from summary(lmerTest fit)$coefficients",
    singular = "lme4::isSingular(fit, tol = 1e-4): any(theta[lower == 0] < 1e-4)",
    icc_r2 = "performance::icc(fit) and performance::r2_nakagawa(fit), default tolerance 1e-5; NA -> null",
    factor_levels = "grouping and categorical columns converted with factor(x, levels = sort(unique(x), method = 'radix')) (C / codepoint order)",
    locale = Sys.getlocale("LC_COLLATE"),
    schools_included = have_schools
  ),
  refit_rule = paste(
    "lme4::anova.merMod(..., refit = TRUE) refits EVERY model that was fitted by REML with ML",
    "(refitML(), bobyqa started from the REML theta) whenever any argument is an REML fit --",
    "regardless of whether the fixed effects differ. It never refits ML fits. Models are then",
    "ordered by npar (stable order for ties); Chisq = 2 * pmax(0, diff(logLik)), Df = diff(npar),",
    "p = pchisq(Chisq, Df, lower.tail = FALSE) (NA when Df == 0); first row has NA Chisq/Df/p.",
    "AIC/BIC/logLik/deviance in the table are those of the ML (re)fits."),
  datasets = DATASETS,
  cases = CASES,
  comparisons = COMPARISONS
)

## numbers -> verbatim JSON text with full (round-trip) precision
to_verbatim <- function(x, num_fmt) {
  if (is.null(x)) return(NULL)
  if (is.list(x) && !is.data.frame(x)) {
    y <- lapply(x, to_verbatim, num_fmt = num_fmt)
    names(y) <- names(x)
    return(y)
  }
  if (is.numeric(x)) {
    s <- num_fmt(as.numeric(x))
    s[is.na(s)] <- "null"
    if (length(x) == 1 && !inherits(x, "AsIs")) {
      return(structure(s, class = "json"))
    }
    if (!is.null(names(x))) stop("named numeric vector of length != 1 in output: ", paste(names(x), collapse = ","))
    return(structure(paste0("[", paste(s, collapse = ", "), "]"), class = "json"))
  }
  x
}
hex_fmt <- function(x) ifelse(is.na(x), NA_character_, paste0("\"", sprintf("%a", x), "\""))

write_json_file <- function(obj, path, num_fmt) {
  txt <- jsonlite::toJSON(to_verbatim(obj, num_fmt), auto_unbox = TRUE, json_verbatim = TRUE,
                          pretty = TRUE, null = "null", na = "null")
  con <- file(path, open = "w", encoding = "UTF-8")
  writeLines(txt, con, useBytes = TRUE)
  close(con)
}
json_path <- file.path(REF_DIR, "lmm_reference.json")
write_json_file(out, json_path, fmt_num)
cat("wrote", json_path, "with", length(CASES), "cases and", length(COMPARISONS), "comparisons\n")
hex_path <- Sys.getenv("LMM_REF_HEX", "")
if (nzchar(hex_path)) {
  write_json_file(out, hex_path, hex_fmt)
  cat("wrote hex copy", hex_path, "\n")
}
