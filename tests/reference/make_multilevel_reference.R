#!/usr/bin/env Rscript
## ---------------------------------------------------------------------------
## Reference values for multi-factor (nested and crossed) linear mixed models
## ("Multilevel Explorer").
##
## Run from the repository root:
##   LC_ALL=C.UTF-8 LC_COLLATE=C Rscript tests/reference/make_multilevel_reference.R
##
## Reads   data/pupils.csv                       (written by data/make_pupils.py)
## Writes  data/pastes.csv, data/penicillin.csv  (lme4::Pastes, lme4::Penicillin)
##         tests/reference/data/*.csv[.gz]       (InstEval and simulated data)
##         tests/reference/multilevel_reference.json
##
## Environment variables (optional):
##   MULTILEVEL_REF_HEX=<path>   also write a copy of the JSON in which every
##                               number is a C99 hex-float string (sprintf("%a"))
##   MULTILEVEL_SKIP_INSTEVAL_SATTERTHWAITE=1
##                               do not compute lmerTest's Satterthwaite df for
##                               the full InstEval fit (record null instead)
## ---------------------------------------------------------------------------

T_START <- proc.time()[["elapsed"]]
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
SKIP_IE_SATT <- nzchar(Sys.getenv("MULTILEVEL_SKIP_INSTEVAL_SATTERTHWAITE", ""))

## ---------------------------------------------------------------- helpers --

## Shortest decimal string (15, 16 or 17 significant digits) that converts
## back to exactly the same double -- under a correctly rounding parser
## (Python, pandas, C's strtod) AND under R's own parser.
##
## R's as.numeric() is not correctly rounded for 16-17 digit strings, so
## "as.numeric(s) == v" alone is not enough: a first version of this script
## wrote e.g. -0.3097208783566682, which R reads as v but Python reads as the
## neighbouring double.  glibc's sprintf() is correctly rounded at any
## precision, so the test is done on decimal digits: s = sprintf("%.<d>g", v)
## is read as v by a correct parser iff s is strictly nearer to v than to
## both neighbouring doubles.  Distances are compared on 26-digit expansions,
## in units of the 25th significant digit of v, modulo 1e12 (|s - v| is at
## most 5e-15 relative, so nothing is lost).  17 digits always identify v.
bump_double <- function(v, delta) {            # neighbouring double in magnitude (delta = +1/-1)
  r <- as.integer(writeBin(v, raw(), size = 8, endian = "little"))
  i <- 1L
  repeat {
    r[i] <- r[i] + delta
    if (r[i] > 255L) { r[i] <- 0L; i <- i + 1L }
    else if (r[i] < 0L) { r[i] <- 255L; i <- i + 1L }
    else break
  }
  readBin(as.raw(r), "double", size = 8, endian = "little")
}
exp10_of <- function(txt) as.integer(sub(".*e", "", txt))
## low 12 digits of round(x * 10^(24 - Ev)) (x > 0), from a correctly rounded expansion
low12 <- function(x, Ev) {
  txt <- sprintf("%.25e", x)
  dig <- gsub("[.]", "", sub("e.*", "", txt))           # 26 significant digits
  keep <- 25L + (exp10_of(txt) - Ev)                     # digits at the scale of v's 25th digit
  dig <- substr(dig, 1L, keep)
  as.numeric(substr(dig, nchar(dig) - 11L, nchar(dig)))
}
mod_diff <- function(a, b) { d <- (a - b) %% 1e12; if (d > 5e11) d - 1e12 else d }
fmt_num <- function(x) {
  vapply(x, function(v) {
    if (is.na(v) || !is.finite(v)) return(NA_character_)
    if (v == 0 || (v == round(v) && abs(v) < 1e15)) return(sprintf("%.15g", v))   # exact
    a <- abs(v)
    Ev <- exp10_of(sprintf("%.25e", a))
    lv <- low12(a, Ev); lup <- low12(bump_double(a, 1L), Ev); ldn <- low12(bump_double(a, -1L), Ev)
    for (d in 15:16) {
      se <- sprintf(paste0("%.", d - 1L, "e"), a)        # the candidate, in e-format
      sd <- gsub("[.]", "", sub("e.*", "", se))
      sd <- paste0(sd, strrep("0", 24L - (d - 1L) + (exp10_of(se) - Ev)))
      ls <- as.numeric(substr(sd, nchar(sd) - 11L, nchar(sd)))
      dv <- abs(mod_diff(ls, lv))
      s <- sprintf(paste0("%.", d, "g"), v)
      if (dv < abs(mod_diff(ls, lup)) && dv < abs(mod_diff(ls, ldn)) && as.numeric(s) == v) return(s)
    }
    sprintf("%.17g", v)
  }, "", USE.NAMES = FALSE)
}

## C-order (codepoint / UTF-8 byte order) factor, as the Python side sorts.
c_factor <- function(x) {
  x <- as.character(x)
  factor(x, levels = sort(unique(x), method = "radix"))
}

open_in <- function(file) if (grepl("\\.gz$", file)) gzfile(file, "r", encoding = "UTF-8") else file(file, "r", encoding = "UTF-8")

read_data <- function(file, text_cols = character()) {
  cc <- if (length(text_cols)) setNames(rep("character", length(text_cols)), text_cols) else NA
  con <- open_in(file)
  on.exit(close(con))
  d <- read.csv(con, stringsAsFactors = FALSE, check.names = FALSE, colClasses = cc,
                na.strings = "")
  for (nm in names(d)) if (is.numeric(d[[nm]])) d[[nm]] <- as.numeric(d[[nm]])
  d
}

## Write a data frame as CSV (numbers at full precision; .gz -> gzip), read it
## back and check that the values are identical.  Returns the re-read data --
## models are fitted to exactly this.
write_data <- function(df, file) {
  out <- df
  is_num <- vapply(df, is.numeric, NA)
  for (nm in names(out)) {
    out[[nm]] <- if (is_num[[nm]]) fmt_num(as.numeric(out[[nm]])) else as.character(out[[nm]])
  }
  qcols <- which(!is_num)
  con <- if (grepl("\\.gz$", file)) gzfile(file, "w", encoding = "UTF-8") else file(file, "w", encoding = "UTF-8")
  write.csv(out, con, row.names = FALSE, quote = if (length(qcols)) qcols else FALSE, na = "")
  close(con)
  back <- read_data(file, text_cols = names(df)[!is_num])
  check_same(back, df, file)
  back
}

check_same <- function(back, df, file) {
  stopifnot(identical(names(back), names(df)), nrow(back) == nrow(df))
  for (nm in names(df)) {
    if (is.numeric(df[[nm]])) {
      if (!identical(back[[nm]], as.numeric(df[[nm]])))
        stop("numeric column ", nm, " of ", file, " does not round-trip")
    } else {
      if (!identical(back[[nm]], as.character(df[[nm]])))
        stop("text column ", nm, " of ", file, " does not round-trip")
    }
  }
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

empty_map <- function() setNames(list(), character(0))          # -> {} in JSON
na_null <- function(x) if (is.null(x) || length(x) == 0 || all(is.na(x))) NULL else unname(x)
mat_rows <- function(m) lapply(seq_len(nrow(m)), function(i) I(unname(as.numeric(m[i, ]))))
named_list <- function(x) as.list(setNames(unname(as.numeric(x)), names(x)))
chr <- function(x) I(as.character(x))

## ---------------------------------------------------------------- specs --

## A random term of the CLI spec: group = columns whose interaction is the
## grouping factor (joined with ":" in the given order).
rterm <- function(group, slopes = character(), intercept = TRUE, correlated = TRUE) {
  list(group = as.list(group), intercept = intercept, slopes = as.list(slopes),
       correlated = correlated)
}
mk_spec <- function(outcome, fixed = character(), random = list(), method = "REML") {
  list(outcome = outcome, fixed = as.list(fixed), random = random, method = method)
}
group_name <- function(t) paste(unlist(t$group), collapse = ":")

random_parts <- function(t) {
  g <- group_name(t)
  slopes <- unlist(t$slopes)
  if (isTRUE(t$correlated) || length(slopes) == 0 || (!t$intercept && length(slopes) == 1)) {
    sprintf("(%s | %s)", paste(c(if (t$intercept) "1" else "0", slopes), collapse = " + "), g)
  } else {
    c(if (t$intercept) sprintf("(1 | %s)", g), sprintf("(0 + %s | %s)", slopes, g))
  }
}

formula_text <- function(spec) {
  fixed <- paste(c("1", unlist(spec$fixed)), collapse = " + ")
  random <- unlist(lapply(spec$random, random_parts))
  paste(spec$outcome, "~", paste(c(fixed, random), collapse = " + "))
}

## grouping and categorical columns -> C-order factors
model_frame <- function(d, spec, factors = character()) {
  cols <- unique(c(unlist(lapply(spec$random, function(t) unlist(t$group))), factors))
  for (nm in cols) d[[nm]] <- c_factor(d[[nm]])
  d
}

## ----------------------------------------------------------------- fitting --

## Fit with lme4::lmer in an environment that holds `dat`; the formula lives in
## that environment, so update()/anova()/lmerTest find the data.
lmer_in <- function(ftxt, dat, reml, optimizer = "bobyqa") {
  env <- new.env(parent = globalenv())
  env$dat <- dat
  fml <- as.formula(ftxt, env = env)
  env$fml <- fml
  cl <- bquote(lme4::lmer(.(fml), data = dat, REML = .(reml),
                          control = lme4::lmerControl(optimizer = .(optimizer))))
  eval(cl, env)
}

crit_of <- function(fit) if (isREML(fit)) REMLcrit(fit) else deviance(fit)

## which spec random term each lme4 random-effects term belongs to
term_spec_index <- function(fit, spec) {
  fl <- getME(fit, "flist")
  asgn <- attr(fl, "assign")
  cn <- getME(fit, "cnms")
  vapply(seq_along(cn), function(i) {
    fname <- names(fl)[asgn[i]]
    hit <- which(vapply(spec$random, function(t) {
      cols <- c(if (t$intercept) "(Intercept)", unlist(t$slopes))
      group_name(t) == fname && all(cn[[i]] %in% cols)
    }, NA))
    if (length(hit) != 1) stop("cannot map term ", i, " to the spec")
    hit - 1L
  }, 0L)
}

extract_result <- function(fit, spec, lt = NULL) {
  reml <- isREML(fit)
  ll <- logLik(fit)
  vc <- VarCorr(fit)
  sidx <- term_spec_index(fit, spec)
  cn <- getME(fit, "cnms")
  fl <- getME(fit, "flist")
  asgn <- attr(fl, "assign")
  stopifnot(length(vc) == length(cn))   # names(vc) may be make.names()d: class.school, school.1
  terms <- lapply(seq_along(vc), function(i) {
    S <- vc[[i]]
    nms <- colnames(S)
    variances <- empty_map(); sds <- empty_map(); corr <- empty_map()
    for (k in seq_along(nms)) {
      variances[[nms[k]]] <- S[k, k]
      sds[[nms[k]]] <- unname(attr(S, "stddev")[k])
    }
    if (length(nms) > 1) {
      C <- attr(S, "correlation")
      for (a in 1:(length(nms) - 1)) for (b in (a + 1):length(nms)) {
        v <- C[a, b]
        corr[[paste0(nms[a], ":", nms[b])]] <- if (is.finite(v)) v else NA_real_
      }
    }
    list(group = names(vc)[i], grouping_factor = names(fl)[asgn[i]], names = chr(nms),
         variances = variances, sd = sds, corr = corr, spec_term = sidx[i])
  })

  ## fixed effects: lmerTest (Satterthwaite) if available
  if (!is.null(lt)) {
    cf <- summary(lt)$coefficients
  } else {
    cf <- summary(fit)$coefficients
    cf <- cbind(cf[, 1:2, drop = FALSE], df = NA_real_, `t value` = cf[, 3], `Pr(>|t|)` = NA_real_)
  }
  fe_names <- rownames(cf)
  byname <- function(col) as.list(setNames(unname(cf[, col]), fe_names))

  ## conditional modes and the diagonal of their conditional variances
  re_all <- ranef(fit, condVar = TRUE)
  ranef_out <- list(); condvar_out <- list()
  for (g in names(re_all)) {
    re <- re_all[[g]]
    pv <- attr(re, "postVar")
    lev <- rownames(re)
    rt <- colnames(re)
    dg <- if (is.list(pv)) {
      if (!is.null(names(pv))) pv <- pv[rt]                  # list per term, by column name
      do.call(cbind, lapply(pv, function(a) a[1, 1, ]))
    } else {
      do.call(cbind, lapply(seq_along(rt), function(k) pv[k, k, ]))
    }
    dg <- matrix(dg, nrow = length(lev))
    ro <- list(); co <- list()
    for (i in seq_along(lev)) {
      ro[[lev[i]]] <- as.list(setNames(as.numeric(re[i, ]), rt))
      co[[lev[i]]] <- as.list(setNames(as.numeric(dg[i, ]), rt))
    }
    ranef_out[[g]] <- ro
    condvar_out[[g]] <- co
  }

  icc_c <- capture_all(performance::icc(fit))
  iv <- icc_c$value
  icc_out <- if (is.null(iv) || all(is.na(unlist(iv)))) NULL else
    list(adjusted = na_null(iv$ICC_adjusted), unadjusted = na_null(iv$ICC_unadjusted))
  iccg_c <- capture_all(performance::icc(fit, by_group = TRUE))
  ig <- iccg_c$value
  icc_by_group <- if (is.data.frame(ig)) as.list(setNames(as.numeric(ig$ICC), as.character(ig$Group))) else NULL
  r2_c <- capture_all(performance::r2_nakagawa(fit))
  r2v <- r2_c$value
  r2_out <- if (is.null(r2v) || all(is.na(unlist(r2v)))) NULL else
    list(marginal = na_null(r2v$R2_marginal), conditional = na_null(r2v$R2_conditional))

  th <- getME(fit, "theta")
  list(
    formula = deparse1(formula(fit)),
    method = if (reml) "REML" else "ML",
    criterion = crit_of(fit),
    loglik = as.numeric(ll),
    aic = AIC(fit),
    bic = BIC(fit),
    npar = attr(ll, "df"),
    nobs = nobs(fit),
    ngroups = named_list(ngrps(fit)),
    theta = named_list(th),
    theta_names = chr(names(th)),
    theta_lower = I(unname(getME(fit, "lower"))),   # null = -Inf
    sigma = sigma(fit),
    fixef = as.list(fixef(fit)),
    fixef_se = byname("Std. Error"),
    fixef_t = byname("t value"),
    fixef_df = byname("df"),
    fixef_p = byname("Pr(>|t|)"),
    fixef_corr = mat_rows(as.matrix(cov2cor(as.matrix(vcov(fit))))),
    varcorr = list(terms = terms, residual_variance = sigma(fit)^2),
    ranef = ranef_out,
    ranef_condvar = condvar_out,
    scaled_resid_quantiles = I(unname(quantile(residuals(fit, type = "pearson", scaled = TRUE),
                                               c(0, .25, .5, .75, 1)))),
    singular = isSingular(fit),
    icc = icc_out,
    icc_by_group = icc_by_group,
    icc_warning = if (length(c(icc_c$warnings, icc_c$messages))) paste(c(icc_c$warnings, icc_c$messages), collapse = "\n") else NULL,
    r2 = r2_out,
    r2_warning = if (length(c(r2_c$warnings, r2_c$messages))) paste(c(r2_c$warnings, r2_c$messages), collapse = "\n") else NULL,
    convergence_messages = chr(fit@optinfo$conv$lme4$messages),
    optimizer_code = fit@optinfo$conv$opt
  )
}

## ----------------------------------------------------------------- cases --

CASES <- list()
ANOVAS <- list()
DATASETS <- list()
TIMINGS <- list()

md5 <- function(path) unname(as.character(tools::md5sum(path)))
register_data <- function(path, dat, description, source) {
  e <- list(path = path, nrow = nrow(dat), columns = chr(names(dat)), md5 = md5(path),
            source = source, description = description)
  if (grepl("\\.gz$", path)) {
    tmp <- tempfile()
    con <- gzfile(path, "rb"); writeBin(readBin(con, "raw", 1e9), tmp); close(con)
    e$md5_uncompressed <- md5(tmp)
  }
  DATASETS[[length(DATASETS) + 1]] <<- e
}

run_case <- function(id, data_path, raw, spec, note, factors = character(),
                     other_optimizers = c("Nelder_Mead", "nloptwrap"), satterthwaite = TRUE,
                     extra = NULL) {
  cat(sprintf("case %-34s ", id))
  dat <- model_frame(raw, spec, factors)
  ftxt <- formula_text(spec)
  reml <- spec$method == "REML"
  t_fit <- system.time(fc <- capture_all(lmer_in(ftxt, dat, reml)))[["elapsed"]]
  fit <- fc$value
  if (is.null(fit)) stop("fit failed for ", id, ": ", paste(fc$warnings, collapse = "; "))
  lt <- NULL; t_lt <- NA_real_; lt_msgs <- character()
  if (satterthwaite) {
    t_lt <- system.time(lc <- capture_all(lmerTest::as_lmerModLmerTest(fit)))[["elapsed"]]
    lt <- lc$value
    lt_msgs <- c(lc$warnings, lc$messages)
  }
  t_ex <- system.time(res <- extract_result(fit, spec, lt))[["elapsed"]]

  runs <- list(list(optimizer = "bobyqa", criterion = res$criterion, theta = I(unname(getME(fit, "theta"))),
                    conv_messages = chr(fit@optinfo$conv$lme4$messages), seconds = t_fit))
  for (opt in other_optimizers) {
    tt <- system.time(ac <- capture_all(lmer_in(ftxt, dat, reml, optimizer = opt)))[["elapsed"]]
    af <- ac$value
    runs[[length(runs) + 1]] <- list(
      optimizer = opt, criterion = crit_of(af), theta = I(unname(getME(af, "theta"))),
      conv_messages = chr(af@optinfo$conv$lme4$messages), seconds = tt)
  }
  crits <- vapply(runs, `[[`, 0, "criterion")
  res$criterion_best <- min(crits)
  result_best <- NULL
  if (res$criterion - min(crits) > 1e-6 * abs(res$criterion)) {
    best_opt <- runs[[which.min(crits)]]$optimizer
    bc <- capture_all(lmer_in(ftxt, dat, reml, optimizer = best_opt))
    bf <- bc$value
    blt <- if (satterthwaite) capture_all(lmerTest::as_lmerModLmerTest(bf))$value else NULL
    result_best <- extract_result(bf, spec, blt)
    result_best$criterion_best <- min(crits)
    result_best$optimizer <- best_opt
    result_best$fit_warnings <- chr(bc$warnings)
    result_best$fit_messages <- chr(bc$messages)
  }

  gv <- capture_all(insight::get_variance(fit, verbose = FALSE))$value
  case <- list(
    id = id, data = data_path, formula = ftxt, spec = spec, description = note,
    result = res,
    result_best = result_best,
    seconds = list(lme4_fit = t_fit, lmertest_satterthwaite = t_lt, extraction = t_ex),
    diagnostics = list(
      fit_warnings = chr(fc$warnings), fit_messages = chr(fc$messages),
      lmertest_messages = chr(lt_msgs),
      satterthwaite_computed = satterthwaite,
      optimizer_runs = runs,
      check_singularity_performance = performance::check_singularity(fit),
      insight_variances = if (is.list(gv)) lapply(gv, function(v) I(unname(as.numeric(v)))) else NULL,
      insight_variance_names = if (is.list(gv)) lapply(gv, function(v) chr(names(v))) else NULL
    )
  )
  if (!is.null(extra)) case <- c(case, extra)
  CASES[[length(CASES) + 1]] <<- case
  TIMINGS[[id]] <<- t_fit
  cat(sprintf("crit=%.6f best=%.6f singular=%s fit=%.2fs satt=%.2fs warn=%d\n", res$criterion,
              res$criterion_best, res$singular, t_fit, t_lt, length(fc$warnings)))
  invisible(list(fit = fit, result = res))
}

run_anova <- function(id, data_path, raw, specs, note, factors = character()) {
  cat(sprintf("anova %s\n", id))
  dat <- model_frame(raw, specs[[1]], factors)
  env <- new.env(parent = globalenv())
  env$dat <- dat
  fits <- lapply(specs, function(sp) {
    f <- lmer_in(formula_text(sp), dat, sp$method == "REML")
    f
  })
  mnames <- paste0("m", seq_along(fits))
  ac <- capture_all(do.call(anova, c(fits, list(model.names = mnames))))
  tab <- ac$value
  rows <- lapply(seq_len(nrow(tab)), function(i) {
    idx <- match(rownames(tab)[i], mnames)
    list(formula = formula_text(specs[[idx]]), spec_index = idx - 1L,
         npar = tab$npar[i], aic = tab$AIC[i], bic = tab$BIC[i], loglik = tab$logLik[i],
         deviance = tab$deviance[i], chisq = tab$Chisq[i], df = tab$Df[i],
         p = tab[["Pr(>Chisq)"]][i])
  })
  ml_models <- lapply(seq_along(fits), function(k) {
    rf <- refitML(fits[[k]])
    direct <- lapply(c("bobyqa", "Nelder_Mead", "nloptwrap"), function(opt)
      capture_all(lmer_in(formula_text(specs[[k]]), dat, FALSE, optimizer = opt))$value)
    list(spec_index = k - 1L,
         fitted_criterion = crit_of(fits[[k]]),
         refit_ml_deviance = deviance(rf),
         refit_ml_theta = I(unname(getME(rf, "theta"))),
         direct_ml_bobyqa_deviance = deviance(direct[[1]]),
         direct_ml_best_deviance = min(vapply(direct, deviance, 0)))
  })
  ANOVAS[[length(ANOVAS) + 1]] <<- list(
    id = id, data = data_path, specs = specs, formulas = chr(vapply(specs, formula_text, "")),
    description = note, table = rows, refitted_ml = any(vapply(fits, isREML, NA)),
    messages = chr(ac$messages), warnings = chr(ac$warnings),
    diagnostics = list(ml_models = ml_models))
}

## ============================================================ data sets ==

## --- Pastes (lme4): real nested --------------------------------------------
p_pastes <- "data/pastes.csv"
pastes <- write_data(data.frame(strength = as.numeric(lme4::Pastes$strength),
                                batch = as.character(lme4::Pastes$batch),
                                cask = as.character(lme4::Pastes$cask),
                                sample = as.character(lme4::Pastes$sample),
                                stringsAsFactors = FALSE), p_pastes)
register_data(p_pastes, pastes, "paste strength: 10 batches x 3 casks x 2 assays; cask labels a/b/c repeat in every batch, sample = batch:cask",
              "lme4::Pastes (Davies & Goldsmith 1972)")

## --- Penicillin (lme4): real crossed ----------------------------------------
p_pen <- "data/penicillin.csv"
pen <- write_data(data.frame(diameter = as.numeric(lme4::Penicillin$diameter),
                             plate = as.character(lme4::Penicillin$plate),
                             sample = as.character(lme4::Penicillin$sample),
                             stringsAsFactors = FALSE), p_pen)
register_data(p_pen, pen, "penicillin assay: 24 plates x 6 samples, fully crossed, one observation per cell",
              "lme4::Penicillin (Davies & Goldsmith 1972)")

## --- pupils (simulated by data/make_pupils.py) ---------------------------------
p_pup <- "data/pupils.csv"
pup <- read_data(p_pup, text_cols = c("school", "class", "class_id", "pupil", "sex"))
stopifnot(identical(names(pup), c("school", "class", "class_id", "pupil", "ses", "hours", "sex", "score")))
## the CSV text of every number must be the shortest repr of the double R read
local({
  txt <- read.csv(p_pup, colClasses = "character")
  for (nm in c("ses", "hours", "score")) {
    if (!identical(fmt_num(pup[[nm]]), sprintf("%s", txt[[nm]]))) {
      bad <- which(fmt_num(pup[[nm]]) != txt[[nm]])
      if (any(as.numeric(txt[[nm]][bad]) != pup[[nm]][bad])) stop("pupils.csv does not round-trip")
    }
  }
})
register_data(p_pup, pup, "SIMULATED three-level data: pupils in classes in schools (data/make_pupils.py); class labels repeat across schools",
              "simulated (data/make_pupils.py)")

## --- InstEval (lme4): large crossed --------------------------------------------
ie_raw <- data.frame(s = as.character(lme4::InstEval$s), d = as.character(lme4::InstEval$d),
                     dept = as.character(lme4::InstEval$dept),
                     service = as.numeric(as.character(lme4::InstEval$service)),
                     y = as.numeric(lme4::InstEval$y), stringsAsFactors = FALSE)
p_ie <- file.path(DATA_DIR, "insteval.csv.gz")
ie <- write_data(ie_raw, p_ie)
register_data(p_ie, ie, "InstEval lecture evaluations (73,421 rows; 2,972 students s x 1,128 lecturers d, 14 departments); service as numeric 0/1",
              "lme4::InstEval (ETH Zurich course evaluations)")

set.seed(20250601)
ie_idx <- sort(sample(nrow(ie_raw), 5000))
p_ie5 <- file.path(DATA_DIR, "insteval_5000.csv")
ie5 <- write_data(ie_raw[ie_idx, ], p_ie5)
register_data(p_ie5, ie5, "fixed random subsample of InstEval: set.seed(20250601); sort(sample(73421, 5000)), rows in original order",
              "lme4::InstEval subsample")

## --- simulated: singular crossed (rater variance truly 0) ----------------------
set.seed(3101)
n_site <- 20; n_rater <- 8
sing_raw <- do.call(rbind, lapply(seq_len(n_site), function(i) {
  m <- sample(15:40, 1)
  data.frame(site = sprintf("site%02d", i), rater = sprintf("R%d", sample(n_rater, m, replace = TRUE)),
             stringsAsFactors = FALSE)
}))
n <- nrow(sing_raw)
u_site <- rnorm(n_site, 0, 1.5)
sing_raw$x <- round(rnorm(n, 0, 1), 3)
sing_raw$y <- round(10 + 0.8 * sing_raw$x + u_site[as.integer(substr(sing_raw$site, 5, 6))] +
                      0 * rnorm(n) + rnorm(n, 0, 2), 4)       # rater SD = 0
p_sing <- file.path(DATA_DIR, "singular_crossed.csv")
sing <- write_data(sing_raw, p_sing)
register_data(p_sing, sing, sprintf("simulated: %d rows, 20 sites crossed with 8 raters; true sd(site)=1.5, sd(rater)=0, sigma=2", n),
              "simulated (set.seed(3101))")

## --- simulated: unbalanced crossed with missing cells and NA ---------------------
set.seed(4711)
n_subj <- 40; n_item <- 24
cells <- expand.grid(item = seq_len(n_item), subject = seq_len(n_subj))[, c("subject", "item")]
keep <- runif(nrow(cells)) >= 0.30                             # ~30% of cells missing
cells <- cells[keep, ]
n <- nrow(cells)
s_sd <- 40; i_sd <- 25; slope_sd <- 8
u_s <- rnorm(n_subj, 0, s_sd); w_s <- rnorm(n_subj, 0, slope_sd); u_i <- rnorm(n_item, 0, i_sd)
cond_item <- rep(c("easy", "hard"), length.out = n_item)
x <- round(rnorm(n, 0, 1), 3)
rt <- round(600 + 45 * (cond_item[cells$item] == "hard") + 12 * x + u_s[cells$subject] +
              w_s[cells$subject] * x + u_i[cells$item] + rnorm(n, 0, 50), 2)
rt[sample(n, round(0.02 * n))] <- NA                        # missing outcomes
x[sample(n, round(0.02 * n))] <- NA                         # missing predictor
cr_raw <- data.frame(subject = sprintf("subj%02d", cells$subject), item = sprintf("item%02d", cells$item),
                     cond = cond_item[cells$item], x = x, rt = rt, stringsAsFactors = FALSE)
cr_raw <- cr_raw[sample(nrow(cr_raw)), ]
p_cr <- file.path(DATA_DIR, "crossed_missing.csv")
cr <- write_data(cr_raw, p_cr)
register_data(p_cr, cr, sprintf("simulated: 40 subjects x 24 items, %d of 960 cells observed, %d rows with NA in rt or x; rows shuffled",
                                n, sum(!complete.cases(cr_raw))),
              "simulated (set.seed(4711))")

## --- simulated: badly conditioned predictors -----------------------------------
set.seed(1990)
n_g <- 25; n_region <- 6
ill_raw <- do.call(rbind, lapply(seq_len(n_g), function(i) {
  yrs <- sort(sample(1990:2010, sample(6:21, 1)))
  data.frame(g = sprintf("firm%02d", i), region = sprintf("region%d", sample(n_region, length(yrs), replace = TRUE)),
             year = as.numeric(yrs), stringsAsFactors = FALSE)
}))
n <- nrow(ill_raw)
gi <- as.integer(substr(ill_raw$g, 5, 6))
ri <- as.integer(substr(ill_raw$region, 7, 7))
Sig <- matrix(c(1.5e5^2, 0.3 * 1.5e5 * 8e3, 0.3 * 1.5e5 * 8e3, 8e3^2), 2, 2)
B <- matrix(rnorm(n_g * 2), n_g, 2) %*% chol(Sig)
u_r <- rnorm(n_region, 0, 5e4)
x_units <- round(rnorm(n, 50, 10), 3)
ill_raw$xu <- x_units * 1e-6                                   # micro-units
ill_raw$y <- round(2e6 + 3e4 * (ill_raw$year - 2000) + 2e9 * ill_raw$xu + B[gi, 1] + B[gi, 2] * (ill_raw$year - 2000) +
                     u_r[ri] + rnorm(n, 0, 6e4), 2)
ill_raw$year_c <- (ill_raw$year - 2000) / 10
ill_raw$x <- x_units
p_ill <- file.path(DATA_DIR, "ill_conditioned.csv")
ill <- write_data(ill_raw, p_ill)
register_data(p_ill, ill, sprintf("simulated: %d rows, 25 firms (years 1990-2010) crossed with 6 regions; y in millions, xu = x * 1e-6; year_c = (year - 2000) / 10", n),
              "simulated (set.seed(1990))")

## ================================================================== cases ==

## --- Pastes ---------------------------------------------------------------------
nested_pastes <- list(rterm("batch"), rterm(c("cask", "batch")))
run_case("pastes_nested_reml", p_pastes, pastes, mk_spec("strength", random = nested_pastes),
         "Real nested data: strength ~ 1 + (1|batch/cask) = (1|batch) + (1|cask:batch); REML")
run_case("pastes_nested_ml", p_pastes, pastes, mk_spec("strength", random = nested_pastes, method = "ML"),
         "Same nested model by ML")
run_case("pastes_sample_reml", p_pastes, pastes, mk_spec("strength", random = list(rterm("batch"), rterm("sample"))),
         "Nested model coded with the unique id column sample (= batch:cask): same fit as pastes_nested_reml, other level labels")
run_case("pastes_wrong_reml", p_pastes, pastes, mk_spec("strength", random = list(rterm("batch"), rterm("cask"))),
         "WRONG coding: (1|batch) + (1|cask) pools the casks a/b/c across batches (3 levels instead of 30)")

## --- Penicillin -----------------------------------------------------------------
crossed_pen <- list(rterm("plate"), rterm("sample"))
run_case("penicillin_crossed_reml", p_pen, pen, mk_spec("diameter", random = crossed_pen),
         "Real fully crossed data: diameter ~ 1 + (1|plate) + (1|sample); REML")
run_case("penicillin_crossed_ml", p_pen, pen, mk_spec("diameter", random = crossed_pen, method = "ML"),
         "Same crossed model by ML")

## --- pupils -------------------------------------------------------------------------
P <- function(fixed, random, method = "REML") mk_spec("score", fixed, random, method)
pup_nested <- list(rterm("school"), rterm(c("class", "school")))
run_case("pupils_ri_reml", p_pup, pup, P(c("ses", "hours", "sex"), pup_nested),
         "Three levels: score ~ ses + hours + sex + (1|school) + (1|class:school); sex is categorical (sexM)",
         factors = "sex")
run_case("pupils_ri_ml", p_pup, pup, P(c("ses", "hours", "sex"), pup_nested, "ML"),
         "Same three-level random-intercept model by ML", factors = "sex")
run_case("pupils_classid_reml", p_pup, pup,
         P(c("ses", "hours", "sex"), list(rterm("school"), rterm("class_id"))),
         "Three levels coded with the unique class_id: same fit as pupils_ri_reml, level labels like S07-B",
         factors = "sex")
run_case("pupils_schoolclass_order_reml", p_pup, pup,
         P(c("ses", "hours", "sex"), list(rterm("school"), rterm(c("school", "class")))),
         "Interaction written in the other order, (1|school:class): same fit, group named school:class, levels like S07:B",
         factors = "sex")
run_case("pupils_slope_reml", p_pup, pup,
         P(c("ses", "hours"), list(rterm("school", "hours"), rterm(c("class", "school")))),
         "Random slope at school level: score ~ ses + hours + (1 + hours|school) + (1|class:school)")
run_case("pupils_slope_ml", p_pup, pup,
         P(c("ses", "hours"), list(rterm("school", "hours"), rterm(c("class", "school"))), "ML"),
         "Random slope at school level, ML")
run_case("pupils_slope_uncorr_reml", p_pup, pup,
         P(c("ses", "hours"), list(rterm("school", "hours", correlated = FALSE), rterm(c("class", "school")))),
         "Uncorrelated: (1 + hours||school) + (1|class:school) = (1|school) + (0 + hours|school) + (1|class:school); VarCorr groups school and school.1")
run_case("pupils_wrong_reml", p_pup, pup,
         P(c("ses", "hours", "sex"), list(rterm("school"), rterm("class"))),
         "WRONG coding: (1|school) + (1|class) pools classes A..F across the 30 schools (6 levels instead of 151)",
         factors = "sex")

## --- InstEval ---------------------------------------------------------------------
ie_spec <- mk_spec("y", "service", list(rterm("s"), rterm("d"), rterm("dept")))
ie_res <- run_case("insteval_reml", p_ie, ie, ie_spec,
                   "Large crossed: y ~ service + (1|s) + (1|d) + (1|dept), 73,421 rows; service numeric 0/1",
                   other_optimizers = c("nloptwrap"), satterthwaite = !SKIP_IE_SATT)
run_case("insteval5000_reml", p_ie5, ie5, ie_spec,
         "InstEval subsample (5,000 rows): y ~ service + (1|s) + (1|d) + (1|dept)")
run_case("insteval5000_slope_reml", p_ie5, ie5,
         mk_spec("y", "service", list(rterm("s"), rterm("d", "service"), rterm("dept"))),
         "InstEval subsample with a random slope by lecturer: y ~ service + (1|s) + (1 + service|d) + (1|dept); regular (non-singular) fit")
run_case("insteval5000_deptslope_reml", p_ie5, ie5,
         mk_spec("y", "service", list(rterm("s"), rterm("d"), rterm("dept", "service"))),
         "InstEval subsample with a random slope by department: y ~ service + (1|s) + (1|d) + (1 + service|dept); singular (service slope SD 0 across 14 departments); Nelder_Mead stops 0.86 higher")

## --- singular crossed ---------------------------------------------------------------
run_case("singular_crossed_reml", p_sing, sing,
         mk_spec("y", "x", list(rterm("site"), rterm("rater"))),
         "Simulated with sd(rater) = 0: y ~ x + (1|site) + (1|rater); lme4 reports a singular fit")

## --- unbalanced crossed with missing cells ---------------------------------------
run_case("crossed_missing_reml", p_cr, cr,
         mk_spec("rt", c("cond", "x"), list(rterm("subject"), rterm("item"))),
         "Unbalanced crossed (30% empty cells), rows with NA in rt or x dropped: rt ~ cond + x + (1|subject) + (1|item)",
         factors = "cond")
run_case("crossed_missing_slope_reml", p_cr, cr,
         mk_spec("rt", c("cond", "x"), list(rterm("subject", "x"), rterm("item"))),
         "Unbalanced crossed with a by-subject slope: rt ~ cond + x + (1 + x|subject) + (1|item)",
         factors = "cond")
run_case("crossed_missing_ml", p_cr, cr,
         mk_spec("rt", c("cond", "x"), list(rterm("subject"), rterm("item")), "ML"),
         "Unbalanced crossed, ML", factors = "cond")

## --- badly conditioned ----------------------------------------------------------------
A <- matrix(c(1, 0, 0, -200, 0.1, 0, 0, 0, 1e6), 3, 3)           # X_scaled = X_raw %*% A
ill_map <- list(reparametrisation = list(
  raw_columns = chr(c("(Intercept)", "year", "xu")),
  scaled_columns = chr(c("(Intercept)", "year_c", "x")),
  A_rows = mat_rows(A),
  note = "X_scaled = X_raw %*% A (year_c = (year - 2000)/10, x = xu * 1e6). ML deviance is invariant; REML criterion(scaled) = REML criterion(raw) + 2*log|det A| = raw + 2*log(1e5). The random slope term (1 + year|g) is full-covariance, hence invariant to the affine map of its columns.",
  log_abs_det_A = log(abs(det(A))),
  reml_shift = 2 * log(abs(det(A)))))
ill_raw_spec <- function(m) mk_spec("y", c("year", "xu"), list(rterm("g", "year"), rterm("region")), m)
ill_sc_spec <- function(m) mk_spec("y", c("year_c", "x"), list(rterm("g", "year_c"), rterm("region")), m)
ill_rr <- run_case("illcond_raw_reml", p_ill, ill, ill_raw_spec("REML"),
                   "Badly conditioned raw predictors: y (millions) ~ year (1990-2010) + xu (micro-units) + (1 + year|g) + (1|region). bobyqa stops far short (about 65 above the optimum, falsely singular) and its stopping point differs between R processes (7750.4469 or 7750.4394 seen): only criterion_best (Nelder_Mead) is a reproducible target",
                   extra = ill_map)
ill_sr <- run_case("illcond_scaled_reml", p_ill, ill, ill_sc_spec("REML"),
                   "Same model with centred/scaled predictors: y ~ year_c + x + (1 + year_c|g) + (1|region)",
                   extra = ill_map)
ill_rm <- run_case("illcond_raw_ml", p_ill, ill, ill_raw_spec("ML"),
                   "Badly conditioned raw predictors, ML. As for REML, bobyqa stops far short and not reproducibly; criterion_best equals illcond_scaled_ml's criterion",
                   extra = ill_map)
ill_sm <- run_case("illcond_scaled_ml", p_ill, ill, ill_sc_spec("ML"), "Centred/scaled predictors, ML", extra = ill_map)
ILL_CHECK <- list(
  reml_raw_plus_shift_minus_scaled = ill_rr$result$criterion + 2 * log(1e5) - ill_sr$result$criterion,
  ml_raw_minus_scaled = ill_rm$result$criterion - ill_sm$result$criterion,
  reml_best_raw_plus_shift_minus_best_scaled = ill_rr$result$criterion_best + 2 * log(1e5) - ill_sr$result$criterion_best,
  ml_best_raw_minus_best_scaled = ill_rm$result$criterion_best - ill_sm$result$criterion_best)
print(ILL_CHECK)

## ================================================================ anova ==

run_anova("pupils_levels", p_pup, pup,
          list(P(c("ses", "hours"), list(rterm("school"))),
               P(c("ses", "hours"), pup_nested),
               P(c("ses", "hours"), list(rterm("school", "hours"), rterm(c("class", "school"))))),
          "pupils: (1|school) vs (1|school) + (1|class:school) vs (1 + hours|school) + (1|class:school); all REML, refitted with ML")
run_anova("penicillin_plate_sample", p_pen, pen,
          list(mk_spec("diameter", random = list(rterm("plate"))), mk_spec("diameter", random = crossed_pen)),
          "penicillin: (1|plate) vs (1|plate) + (1|sample); refitted with ML")
run_anova("pastes_batch_cask", p_pastes, pastes,
          list(mk_spec("strength", random = list(rterm("batch"))), mk_spec("strength", random = nested_pastes)),
          "pastes: (1|batch) vs (1|batch) + (1|cask:batch); refitted with ML")

## ================================================================= output ==

pkgv <- function(p) as.character(packageVersion(p))
total_seconds <- proc.time()[["elapsed"]] - T_START
out <- list(
  generated_by = sprintf("%s; lme4 %s; lmerTest %s; performance %s; insight %s; Matrix %s; numDeriv %s; jsonlite %s; script tests/reference/make_multilevel_reference.R",
                         R.version.string, pkgv("lme4"), pkgv("lmerTest"), pkgv("performance"),
                         pkgv("insight"), pkgv("Matrix"), pkgv("numDeriv"), pkgv("jsonlite")),
  generated_at = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  settings = list(
    fit = "lme4::lmer(formula, data, REML, control = lmerControl(optimizer = 'bobyqa')), other settings default; then lmerTest::as_lmerModLmerTest(fit) for Satterthwaite df",
    criterion = "REML fits: REMLcrit(fit) = -2 * REML log-likelihood; ML fits: deviance(fit) = -2 * logLik",
    criterion_best = "min criterion over optimizers bobyqa, Nelder_Mead and nloptwrap (insteval_reml: bobyqa and nloptwrap only); see diagnostics.optimizer_runs",
    satterthwaite = "fixef_df / fixef_p from summary(lmerTest::as_lmerModLmerTest(fit))$coefficients; null where not computed",
    singular = "lme4::isSingular(fit, tol = 1e-4)",
    icc_r2 = "performance::icc(fit), performance::icc(fit, by_group = TRUE), performance::r2_nakagawa(fit); NA -> null",
    ranef = "ranef(fit, condVar = TRUE): ranef = conditional modes, ranef_condvar = diagonal of postVar; keyed by lme4's grouping factor name, then level, then term. All levels are recorded (also for InstEval).",
    group_naming = "spec group [c1, c2] = lme4 interaction term c1:c2; its levels are the values joined with ':' in that order (e.g. 'B:S07')",
    uncorrelated_terms = "spec term with correlated = false and slopes -> (1|g) + (0 + x|g); VarCorr names these groups g, g.1, ...; varcorr.terms[].spec_term gives the 0-based spec term index, grouping_factor the factor name; ranef merges them under g",
    factor_levels = "grouping and categorical columns converted with factor(x, levels = sort(unique(x), method = 'radix')) (C / codepoint order)",
    na_action = "lme4 default na.omit: rows with NA in any model variable are dropped",
    seconds = "elapsed wall-clock seconds (system.time) on the machine that generated the file",
    locale = Sys.getlocale("LC_COLLATE")
  ),
  refit_rule = "anova(m1, m2, ...) with refit = TRUE refits every REML fit by ML (refitML) and orders by npar; Chisq = 2*max(0, diff(logLik)), Df = diff(npar); first row has null chisq/df/p",
  illcond_check = ILL_CHECK,
  total_seconds = total_seconds,
  datasets = DATASETS,
  cases = CASES,
  anova = ANOVAS
)

## numbers -> verbatim JSON text with full (round-trip) precision
to_verbatim <- function(x, num_fmt) {
  if (is.null(x)) return(NULL)
  if (is.list(x) && !is.data.frame(x)) {
    y <- lapply(x, to_verbatim, num_fmt = num_fmt)
    names(y) <- names(x)
    if (!is.null(names(x)) && length(x) == 0) return(empty_map())
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
                          pretty = 1, null = "null", na = "null")
  con <- file(path, open = "w", encoding = "UTF-8")
  writeLines(txt, con, useBytes = TRUE)
  close(con)
}
json_path <- file.path(REF_DIR, "multilevel_reference.json")
write_json_file(out, json_path, fmt_num)
cat(sprintf("wrote %s with %d cases and %d anova tables (%.0f KB); total %.1f s\n", json_path,
            length(CASES), length(ANOVAS), file.size(json_path) / 1024, total_seconds))
hex_path <- Sys.getenv("MULTILEVEL_REF_HEX", "")
if (nzchar(hex_path)) {
  write_json_file(out, hex_path, hex_fmt)
  cat("wrote hex copy", hex_path, "\n")
}
