#!/usr/bin/env Rscript
## ---------------------------------------------------------------------------
## Reference values for generalized linear mixed models (issue 16, glmer-exact).
##
## Run from the repository root (about 6-10 minutes on 2 cores):
##   LC_ALL=C.UTF-8 LC_COLLATE=C setarch x86_64 -R Rscript tests/reference/glmm_reference.R
##
## Writes  tests/reference/data/glmm_*.csv          (the exact rows/columns fitted)
##         tests/reference/glmm_reference.json       (every number below)
##
## Every model is fitted three ways with lme4::glmer and once with glmmTMB:
##   * TIGHT   glmerControl(optimizer = "bobyqa", tolPwrss = 1e-13,
##                          optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
##             -> the numbers in `result` (lme4 at its own optimum);
##   * BRIEF   glmerControl(tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10)):
##             the default optimizer pair c("bobyqa", "Nelder_Mead"); stage 2 is
##             Nelder-Mead, which ignores `rhoend` ("unused control arguments
##             ignored") and stops where its own x-tolerance says -> `alternatives`;
##   * DEFAULT glmerControl() (tolPwrss = 1e-7): what a user sees -> `alternatives`.
## The TIGHT fit is checked against the other two and glmmTMB (its fval must be the
## lowest, or the case records by how much it is not).
##
## Optional: GLMM_REF_HEX=<path> also writes a copy of the JSON with every number as a
## C99 hex float (sprintf("%a")).
## ---------------------------------------------------------------------------

T_START <- proc.time()[["elapsed"]]
invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages({
  library(lme4)
  library(glmmTMB)
  library(performance)
  library(insight)
  library(broom.mixed)
  library(mlmRev)
  library(numDeriv)
  library(jsonlite)
})

if (!dir.exists("tests/reference")) {
  stop("run this script from the repository root (tests/reference not found)")
}
REF_DIR <- "tests/reference"
DATA_DIR <- file.path(REF_DIR, "data")
dir.create(DATA_DIR, showWarnings = FALSE, recursive = TRUE)

TIGHT <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-13,
                      optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
BRIEF <- glmerControl(tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10))
DEFAULT <- glmerControl()
## profile() reuses the fit's optimizer control unless told otherwise; with rhoend 1e-10
## every profile point costs thousands of evaluations (the Contraception random-slope
## profile had not finished after 12 minutes).
## Only one name may be given: profile.merMod copies it with control.internal[[i]].
PROFILE_CONTROL <- list(rhoend = 1e-8)

## ---------------------------------------------------------------- numbers --
## Shortest decimal string (15-17 significant digits) that a correctly rounding
## parser (Python, pandas) AND R both read back as the same double.  Same rule as
## make_multilevel_reference.R (see its README section "Number format").
bump_double <- function(v, delta) {
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
low12 <- function(x, Ev) {
  txt <- sprintf("%.25e", x)
  dig <- gsub("[.]", "", sub("e.*", "", txt))
  keep <- 25L + (exp10_of(txt) - Ev)
  dig <- substr(dig, 1L, keep)
  as.numeric(substr(dig, nchar(dig) - 11L, nchar(dig)))
}
mod_diff <- function(a, b) { d <- (a - b) %% 1e12; if (d > 5e11) d - 1e12 else d }
fmt_num <- function(x) {
  vapply(x, function(v) {
    if (is.na(v) || !is.finite(v)) return(NA_character_)
    if (v == 0 || (v == round(v) && abs(v) < 1e15)) return(sprintf("%.15g", v))
    a <- abs(v)
    Ev <- exp10_of(sprintf("%.25e", a))
    lv <- low12(a, Ev); lup <- low12(bump_double(a, 1L), Ev); ldn <- low12(bump_double(a, -1L), Ev)
    for (d in 15:16) {
      se <- sprintf(paste0("%.", d - 1L, "e"), a)
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

## ------------------------------------------------------------------ data --
read_data <- function(file, text_cols) {
  cc <- setNames(rep("character", length(text_cols)), text_cols)
  d <- read.csv(file, stringsAsFactors = FALSE, check.names = FALSE,
                colClasses = if (length(cc)) cc else NA, na.strings = "", encoding = "UTF-8")
  for (nm in names(d)) if (is.numeric(d[[nm]])) d[[nm]] <- as.numeric(d[[nm]])
  d
}

md5 <- function(path) unname(as.character(tools::md5sum(path)))
DATASETS <- list()

## Write the columns used (factors as their labels), read the file back, check every
## value round-trips, and return the re-read data with factors rebuilt in R's level
## order (recorded in the JSON): the models are fitted to exactly the file's values.
export_data <- function(name, df, source, description) {
  path <- file.path(DATA_DIR, paste0("glmm_", name, ".csv"))
  is_fac <- vapply(df, is.factor, NA)
  out <- df
  for (nm in names(out)) {
    out[[nm]] <- if (is_fac[[nm]]) as.character(out[[nm]]) else fmt_num(as.numeric(out[[nm]]))
  }
  con <- file(path, "w", encoding = "UTF-8")
  write.csv(out, con, row.names = FALSE, quote = if (any(is_fac)) which(is_fac) else FALSE, na = "")
  close(con)
  back <- read_data(path, names(df)[is_fac])
  stopifnot(identical(names(back), names(df)), nrow(back) == nrow(df))
  levels_out <- list()
  for (nm in names(df)) {
    if (is_fac[[nm]]) {
      lv <- levels(df[[nm]])
      back[[nm]] <- factor(back[[nm]], levels = lv)
      if (!identical(back[[nm]], df[[nm]])) stop("factor ", nm, " of ", path, " does not round-trip")
      levels_out[[nm]] <- I(lv)
    } else if (!identical(back[[nm]], as.numeric(df[[nm]]))) {
      stop("numeric column ", nm, " of ", path, " does not round-trip")
    }
  }
  DATASETS[[name]] <<- list(
    name = name, path = path, nrow = nrow(df), columns = I(names(df)),
    factor_levels = levels_out, md5 = md5(path), source = source, description = description)
  back
}

data(Owls, package = "glmmTMB")
D <- list()
D$cbpp <- export_data(
  "cbpp", lme4::cbpp[, c("herd", "incidence", "size", "period")],
  "lme4::cbpp (Lesnoff et al. 2004)",
  "contagious bovine pleuropneumonia: incidence of new cases out of size animals, 15 herds x up to 4 periods")
D$contraception <- export_data(
  "contraception", mlmRev::Contraception[, c("use", "age", "urban", "livch", "district")],
  "mlmRev::Contraception (1988 Bangladesh Fertility Survey)",
  "contraceptive use (N/Y) of 1934 women in 60 districts; age centred at the mean; livch = living children (0, 1, 2, 3+)")
D$verbagg <- export_data(
  "verbagg", lme4::VerbAgg[, c("r2", "Anger", "Gender", "btype", "situ", "id", "item")],
  "lme4::VerbAgg (De Boeck & Wilson 2004)",
  "verbal aggression: r2 (N/Y) of 316 persons (id) x 24 items, crossed; Anger is the trait score")
D$guimmun <- export_data(
  "guimmun", mlmRev::guImmun[, c("immun", "kid2p", "mom25p", "ord", "ethn", "momEd", "husEd",
                                 "momWork", "rural", "pcInd81", "mom", "comm")],
  "mlmRev::guImmun (Guatemalan child immunization, Rodriguez & Goldman 1995)",
  "immunization (N/Y) of 2159 children of 1595 mothers (mom) in 161 communities (comm); mom nested in comm, labels unique")
D$grouseticks <- export_data(
  "grouseticks", lme4::grouseticks[, c("TICKS", "YEAR", "cHEIGHT", "BROOD", "INDEX", "LOCATION")],
  "lme4::grouseticks (Elston et al. 2001)",
  "ticks on 403 red grouse chicks (INDEX, one row each) in 118 broods at 63 locations; cHEIGHT = HEIGHT - mean(HEIGHT) (mean 462.2432), as shipped with lme4")
D$owls <- export_data(
  "owls", Owls[, c("SiblingNegotiation", "FoodTreatment", "SexParent", "ArrivalTime", "BroodSize", "Nest")],
  "glmmTMB::Owls (Roulin & Bersier 2007; Zuur et al. 2009)",
  "sibling negotiation calls at 599 visits to 27 owl nests; BroodSize is the exposure (offset log(BroodSize))")

## ---------------------------------------------------------------- helpers --
capture_all <- function(expr) {
  w <- character(); m <- character()
  printed <- capture.output(
    val <- withCallingHandlers(
      tryCatch(expr, error = function(e) { w <<- c(w, paste("ERROR:", conditionMessage(e))); NULL }),
      warning = function(x) { w <<- c(w, conditionMessage(x)); invokeRestart("muffleWarning") },
      message = function(x) { m <<- c(m, trimws(conditionMessage(x))); invokeRestart("muffleMessage") }
    ))
  printed <- printed[nzchar(trimws(printed))]
  list(value = val, warnings = w, messages = c(m, printed))
}
empty_map <- function() setNames(list(), character(0))
chr <- function(x) I(as.character(x))
num <- function(x) I(unname(as.numeric(x)))
named <- function(x) as.list(setNames(unname(as.numeric(x)), names(x)))
mat_rows <- function(m) lapply(seq_len(nrow(m)), function(i) I(unname(as.numeric(m[i, ]))))
null_if_na <- function(x) if (is.null(x) || length(x) == 0 || all(is.na(x))) NULL else unname(x)
secs <- function(expr) { t0 <- proc.time()[["elapsed"]]; v <- expr; list(value = v, seconds = proc.time()[["elapsed"]] - t0) }

## Fit in an environment that holds `dat` so update(), anova(), profile() and
## predict() find the data.
glmer_in <- function(ftxt, dat, family, nAGQ, control) {
  env <- new.env(parent = globalenv())
  env$dat <- dat
  env$fam <- family
  env$ctl <- control
  fml <- as.formula(ftxt, env = env)
  cl <- bquote(lme4::glmer(.(fml), data = dat, family = fam, nAGQ = .(nAGQ), control = ctl))
  eval(cl, env)
}
tmb_in <- function(ftxt, dat, family) {
  env <- new.env(parent = globalenv())
  env$dat <- dat
  env$fam <- family
  fml <- as.formula(ftxt, env = env)
  eval(bquote(glmmTMB::glmmTMB(.(fml), data = dat, family = fam)), env)
}

## lme4's objective with PIRLS run to convergence and the weights taken at the mode
## itself, as a function of c(theta, beta):
##   nAGQ = 0, 1:  ldL2 + |u|^2 + family aic()                       (glmerLaplace)
##   nAGQ > 1:     sum_j devc0_j + ldL2 - 2 sum_j log(sum_k w_k exp(z_k^2/2 - (devc_j(u_j + z_k s_j) - devc0_j)/2))
##                 devc_j(u) = u_j^2 + deviance residuals of level j, s_j = 1/L_jj   (glmerAGQ)
## lme4 stops PIRLS once the relative change of resDev + |u|^2 is below tolPwrss and
## keeps the Cholesky factor of the weights of the *previous* iterate, so its fval
## sits slightly above this one (1e-8 on cbpp, 3e-6 on Owls) and moves in small
## jumps when the number of PIRLS iterations changes.  W are Fisher (expected
## information) weights w mu.eta^2 / V(mu), which lme4 uses for every link.
exact_objective <- function(fit, nAGQ) {
  Lt <- getME(fit, "Lambdat"); Lind <- getME(fit, "Lind"); Zt <- getME(fit, "Zt")
  X <- getME(fit, "X"); fam <- family(fit)
  y <- fit@resp$y; w <- fit@resp$weights; nn <- fit@resp$n; off <- fit@resp$offset
  nth <- length(getME(fit, "theta"))
  fac <- factor(as.integer(getME(fit, "flist")[[1]]))
  u_last <- getME(fit, "u")
  state <- NULL
  mode_at <- function(pars) {
    Lt@x <- pars[seq_len(nth)][Lind]
    ZL <- t(Lt %*% Zt)
    fixed <- off + drop(X %*% pars[-seq_len(nth)])
    u <- u_last; q <- length(u)
    for (it in 1:200) {
      eta <- fixed + drop(ZL %*% u)
      mu <- fam$linkinv(eta); me <- fam$mu.eta(eta); v <- fam$variance(mu)
      score <- drop(as.matrix(crossprod(ZL, w * (y - mu) * me / v))) - u
      H <- crossprod(ZL, Diagonal(x = w * me^2 / v) %*% ZL) + Diagonal(q)
      step <- as.numeric(solve(H, score))
      u <- u + step
      if (max(abs(step)) < 1e-13) break
    }
    u_last <<- u
    eta <- fixed + drop(ZL %*% u)
    mu <- fam$linkinv(eta); me <- fam$mu.eta(eta); v <- fam$variance(mu)
    H <- crossprod(ZL, Diagonal(x = w * me^2 / v) %*% ZL) + Diagonal(q)
    list(u = u, mu = mu, ZL = ZL, fixed = fixed, H = H, iterations = it,
         ldL2 = as.numeric(determinant(H, logarithm = TRUE)$modulus),
         drsum = sum(fam$dev.resids(y, mu, w)))
  }
  devc <- function(m, u) {
    mu <- fam$linkinv(m$fixed + drop(m$ZL %*% u))
    u^2 + as.numeric(tapply(fam$dev.resids(y, mu, w), fac, sum))
  }
  f <- function(pars) {
    m <- mode_at(pars)
    state <<- m
    if (nAGQ <= 1L) return(m$ldL2 + sum(m$u^2) + fam$aic(y, nn, m$mu, w, m$drsum))
    Ljj2 <- as.numeric(diag(m$H))            # one scalar term: H is diagonal
    sd <- 1 / sqrt(Ljj2)
    devc0 <- devc(m, m$u)
    gh <- GHrule(nAGQ)
    mult <- numeric(length(m$u))
    for (k in seq_len(nrow(gh))) {
      z <- gh[k, "z"]; wk <- gh[k, "w"]
      mult <- mult + if (z == 0) wk else wk * exp(z^2 / 2 - (devc(m, m$u + z * sd) - devc0) / 2)
    }
    sum(devc0) + sum(log(Ljj2)) - 2 * sum(log(mult))
  }
  list(f = f, state = function() state, nth = nth)
}

## The exact objective at lme4's estimate, its own minimum and the Richardson Hessian
## there: the "exact" standard errors, which glmmTMB's (automatic differentiation)
## match for canonical links.  The minimum is found by Newton steps with Richardson
## gradients (numDeriv::grad) and the Hessian at lme4's estimate (nlminb's own finite
## differences stall at this precision); the Hessian is recomputed where the point moved.
exact_block <- function(fit, nAGQ) {
  ex <- exact_objective(fit, nAGQ)
  pars <- c(getME(fit, "theta"), fixef(fit))
  at_lme4 <- ex$f(pars)
  m <- ex$state()
  out <- list(fval_at_lme4 = at_lme4, ldL2 = m$ldL2, ussq = sum(m$u^2), drsum = m$drsum,
              pirls_iterations = m$iterations)
  if (nAGQ == 0L) return(out)
  t0 <- proc.time()[["elapsed"]]
  nth <- ex$nth
  lower <- getME(fit, "lower")
  H0 <- numDeriv::hessian(ex$f, pars)
  g0 <- numDeriv::grad(ex$f, pars)
  x <- pars; fx <- at_lme4; g <- g0; steps <- 0L
  for (k in 1:8) {
    xn <- x - as.numeric(solve(H0, g))
    if (any(xn[seq_len(nth)] < lower)) break
    fn <- ex$f(xn)
    if (fn > fx) break
    moved <- max(abs(xn - x) / pmax(abs(x), 1e-3))
    x <- xn; fx <- fn; steps <- k
    g <- numDeriv::grad(ex$f, x)
    if (moved < 1e-10) break
  }
  moved_total <- max(abs(x - pars) / pmax(abs(pars), 1e-3))
  H <- if (moved_total > 1e-7) numDeriv::hessian(ex$f, x) else H0
  V <- 2 * solve(H)[-seq_len(nth), -seq_len(nth), drop = FALSE]
  c(out, list(gradient_at_lme4 = num(g0),
              optimum = list(fval = fx, theta = num(x[seq_len(nth)]), beta = num(x[-seq_len(nth)]),
                             gradient = num(g), newton_steps = steps,
                             hessian_recomputed = moved_total > 1e-7),
              hessian = mat_rows(H), vcov = mat_rows(V), se = num(sqrt(diag(V))),
              seconds = proc.time()[["elapsed"]] - t0))
}

## glmmTMB's exact Laplace (-2 log L) at lme4's parameters: beta, then per random
## term log(sd) (and for a 2 x 2 term the correlation parameter t, rho = t / sqrt(1 + t^2)).
tmb_minus2ll_at <- function(tm, vc, beta) {
  th <- numeric()
  for (g in names(VarCorr(tm)$cond)) {
    S <- vc[[g]]
    sdv <- attr(S, "stddev")
    if (length(sdv) > 2) return(NA_real_)
    th <- c(th, log(sdv))
    if (length(sdv) == 2) { r <- attr(S, "correlation")[1, 2]; th <- c(th, r / sqrt(1 - r^2)) }
  }
  par <- tm$fit$par
  if (sum(names(par) == "beta") != length(beta) || sum(names(par) == "theta") != length(th)) return(NA_real_)
  par[names(par) == "beta"] <- beta
  par[names(par) == "theta"] <- th
  2 * tm$obj$fn(par)
}
tmb_at_lme4 <- function(tm, fit) tmb_minus2ll_at(tm, VarCorr(fit), fixef(fit))
## the same mapping applied to glmmTMB's own estimates must give -2 logLik(tm)
tmb_mapping_check <- function(tm) tmb_minus2ll_at(tm, VarCorr(tm)$cond, fixef(tm)$cond) + 2 * as.numeric(logLik(tm))

## VarCorr as lists: per term SDs, variances, correlations (lme4 names).
varcorr_list <- function(fit) {
  vc <- VarCorr(fit)
  lapply(seq_along(vc), function(i) {
    S <- vc[[i]]
    nms <- colnames(S)
    out <- list(group = names(vc)[i], names = chr(nms),
                sd = named(setNames(attr(S, "stddev"), nms)),
                variance = named(setNames(diag(as.matrix(S)), nms)),
                corr = empty_map())
    if (length(nms) > 1) {
      C <- attr(S, "correlation")
      for (a in 1:(length(nms) - 1)) for (b in (a + 1):length(nms))
        out$corr[[paste0(nms[a], ":", nms[b])]] <- C[a, b]
    }
    out
  })
}

## Conditional modes and conditional covariances (lme4 postVar), all levels.
ranef_list <- function(fit) {
  re <- ranef(fit, condVar = TRUE)
  lapply(setNames(names(re), names(re)), function(g) {
    r <- re[[g]]
    pv <- attr(r, "postVar")
    list(levels = chr(rownames(r)), terms = chr(colnames(r)),
         values = mat_rows(as.matrix(r)),
         condvar = lapply(seq_len(nrow(r)), function(i) mat_rows(matrix(pv[, , i], ncol(r)))))
  })
}

## New rows: the first two rows as they are, row 1 with the first grouping factor at
## an unseen level, row 2 with every grouping factor unseen.
new_rows <- function(dat, groups) {
  nd <- dat[c(1, 2, 1, 2), , drop = FALSE]
  for (g in groups) nd[[g]] <- as.character(nd[[g]])
  nd[[groups[1]]][3] <- "NEW"
  for (g in groups) nd[[g]][4] <- "NEW"
  rownames(nd) <- NULL
  nd
}
records <- function(df) {
  lapply(seq_len(nrow(df)), function(i) {
    lapply(as.list(df[i, , drop = FALSE]), function(v) if (is.factor(v)) as.character(v) else
      if (is.numeric(v)) as.numeric(v) else v)
  })
}

predictions <- function(fit, nd, nrows = 30L) {
  idx <- seq_len(min(nrows, nobs(fit)))
  p <- function(type, re) unname(predict(fit, type = type, re.form = re))[idx]
  pn <- function(type, re) unname(predict(fit, newdata = nd, type = type, re.form = re,
                                          allow.new.levels = TRUE))
  list(
    rows = num(idx - 1L),           # 0-based CSV row numbers
    link_conditional = num(p("link", NULL)), link_marginal = num(p("link", NA)),
    response_conditional = num(p("response", NULL)), response_marginal = num(p("response", NA)),
    newdata = records(nd),
    newdata_link_conditional = num(pn("link", NULL)), newdata_link_marginal = num(pn("link", NA)),
    newdata_response_conditional = num(pn("response", NULL)),
    newdata_response_marginal = num(pn("response", NA)))
}

ci_list <- function(ci) {
  if (is.null(ci)) return(NULL)
  lapply(setNames(rownames(ci), rownames(ci)), function(r) I(unname(as.numeric(ci[r, ]))))
}

tidy_rows <- function(fit) {
  td <- as.data.frame(broom.mixed::tidy(fit, conf.int = TRUE))
  lapply(seq_len(nrow(td)), function(i) {
    r <- as.list(td[i, ])
    lapply(r, function(v) if (is.numeric(v)) { if (is.na(v)) NULL else v } else as.character(v))
  })
}

fixef_table <- function(fit, V) {
  b <- fixef(fit); se <- sqrt(diag(as.matrix(V))); z <- b / se
  list(names = chr(names(b)), estimate = num(b), se = num(se), z = num(z),
       p = num(2 * pnorm(abs(z), lower.tail = FALSE)))
}

summary_numbers <- function(fit) {
  s <- summary(fit)
  cf <- s$coefficients
  at <- s$AICtab
  list(coefficients = list(names = chr(rownames(cf)), estimate = num(cf[, 1]), se = num(cf[, 2]),
                           z = num(cf[, 3]), p = num(cf[, 4])),
       aictab = named(at),
       scaled_resid_quantiles = num(quantile(s$residuals, c(0, .25, .5, .75, 1))))
}

## A short record of a fit under other control settings.
brief_fit <- function(fc, seconds) {
  f <- fc$value
  if (is.null(f)) return(list(error = chr(fc$warnings)))
  V <- as.matrix(vcov(f))
  list(fval = f@devcomp$cmp[["dev"]], loglik = as.numeric(logLik(f)), theta = num(getME(f, "theta")),
       fixef = num(fixef(f)), se = num(sqrt(diag(V))), optimizer = chr(f@optinfo$optimizer),
       par = num(f@optinfo$val), feval = f@optinfo$feval, seconds = seconds,
       conv_messages = chr(f@optinfo$conv$lme4$messages),
       warnings = chr(fc$warnings), messages = chr(fc$messages))
}

## ------------------------------------------------------------------ cases --
CASES <- list()
FITS <- list()

run_case <- function(id, data, ftxt, family, nAGQ = 1L, groups, response, offset = NULL,
                     fixed_terms, random_terms, description, profile = FALSE,
                     default_and_brief = TRUE, tmb = TRUE) {
  cat(sprintf("case %-24s ", id))
  t_case <- proc.time()[["elapsed"]]
  dat <- D[[data]]
  ft <- secs(capture_all(glmer_in(ftxt, dat, family, nAGQ, TIGHT)))
  fit <- ft$value$value
  if (is.null(fit)) stop("tight fit failed for ", id, ": ", paste(ft$value$warnings, collapse = "; "))
  FITS[[id]] <<- fit
  cmp <- fit@devcomp$cmp
  ll <- logLik(fit)
  npar <- attr(ll, "df")
  theta <- getME(fit, "theta")

  ## covariance matrices of beta: lme4's default (finite-difference Hessian over
  ## (theta, beta) from deriv12, delta = 1e-4), RX-based (conditional on theta), and a
  ## Richardson-extrapolated Hessian (numDeriv) of the same deviance function.
  V_default <- as.matrix(vcov(fit))
  V_rx <- as.matrix(suppressWarnings(vcov(fit, use.hessian = FALSE)))
  H_lme4 <- fit@optinfo$derivs$Hessian
  grad_lme4 <- fit@optinfo$derivs$gradient
  V_rich <- NULL; H_rich <- NULL; devfun_at_opt <- NA_real_; t_rich <- NA_real_
  if (nAGQ > 0L) {
    dfc <- capture_all(update(fit, devFunOnly = TRUE))
    dfun <- dfc$value
    pars <- c(theta, fixef(fit))
    devfun_at_opt <- dfun(pars)
    tr <- secs(numDeriv::hessian(dfun, pars))
    H_rich <- tr$value; t_rich <- tr$seconds
    nth <- length(theta)
    V_rich <- 2 * solve(H_rich)[-seq_len(nth), -seq_len(nth), drop = FALSE]
    dfun(pars)
  }
  exact <- exact_block(fit, nAGQ)

  pear <- residuals(fit, type = "pearson")
  pchisq_sum <- sum(pear^2)
  dres <- residuals(fit, type = "deviance")

  icc_c <- capture_all(performance::icc(fit))
  r2_c <- capture_all(performance::r2_nakagawa(fit))
  gv_c <- capture_all(insight::get_variance(fit))
  nm_c <- capture_all(insight::null_model(fit))
  gv <- gv_c$value
  wald <- capture_all(confint(fit, method = "Wald"))
  nd <- new_rows(dat, groups)

  result <- list(
    formula = ftxt, family = family$family, link = family$link, nAGQ = nAGQ,
    nobs = nobs(fit), ngroups = named(ngrps(fit)),
    npar = npar, df_resid = df.residual(fit),
    loglik = as.numeric(ll), aic = AIC(fit), bic = BIC(fit),
    deviance_summary = unname(summary(fit)$AICtab[["deviance"]]),
    deviance_residual_sum = deviance(fit),
    fval = cmp[["dev"]],
    devcomp = list(ldL2 = cmp[["ldL2"]], ussq = cmp[["ussq"]], drsum = cmp[["drsum"]],
                   dev = cmp[["dev"]], aic_conditional = fit@resp$aic(),
                   saturated_loglik = -(fit@resp$aic() - cmp[["drsum"]]) / 2,
                   tolPwrss = cmp[["tolPwrss"]]),
    exact = exact,
    devfun_at_optimum = devfun_at_opt,
    theta = num(theta), theta_names = chr(names(theta)),
    theta_lower = num(getME(fit, "lower")),
    fixef = fixef_table(fit, V_default),
    vcov = list(default = mat_rows(V_default), rx = mat_rows(V_rx),
                richardson = if (is.null(V_rich)) NULL else mat_rows(V_rich)),
    se = list(default = num(sqrt(diag(V_default))), rx = num(sqrt(diag(V_rx))),
              richardson = if (is.null(V_rich)) NULL else num(sqrt(diag(V_rich)))),
    hessian = list(deriv12 = if (is.null(H_lme4)) NULL else mat_rows(H_lme4),
                   richardson = if (is.null(H_rich)) NULL else mat_rows(H_rich),
                   gradient_deriv12 = if (is.null(grad_lme4)) NULL else num(grad_lme4),
                   parameters = chr(c(names(theta), if (nAGQ > 0L) names(fixef(fit))))),
    summary = summary_numbers(fit),
    varcorr = varcorr_list(fit),
    ranef = ranef_list(fit),
    pearson = list(scaled_quantiles = num(quantile(residuals(fit, "pearson", scaled = TRUE),
                                                   c(0, .25, .5, .75, 1))),
                   chisq = pchisq_sum, dispersion_ratio = pchisq_sum / df.residual(fit),
                   first = num(head(pear, 30))),
    deviance_residuals_first = num(head(dres, 30)),
    singular = isSingular(fit),
    conv_messages = chr(fit@optinfo$conv$lme4$messages),
    optimizer = chr(fit@optinfo$optimizer), feval = fit@optinfo$feval,
    ci_wald = ci_list(wald$value),
    predictions = predictions(fit, nd),
    icc = if (is.null(icc_c$value) || all(is.na(unlist(icc_c$value)))) NULL else
      list(adjusted = null_if_na(icc_c$value$ICC_adjusted),
           unadjusted = null_if_na(icc_c$value$ICC_unadjusted)),
    icc_messages = chr(c(icc_c$warnings, icc_c$messages)),
    r2 = if (is.null(r2_c$value) || all(is.na(unlist(r2_c$value)))) NULL else
      list(marginal = null_if_na(r2_c$value$R2_marginal),
           conditional = null_if_na(r2_c$value$R2_conditional)),
    r2_messages = chr(c(r2_c$warnings, r2_c$messages)),
    insight_variances = if (is.list(gv)) lapply(gv, function(v) if (length(v) == 1 && is.null(names(v))) as.numeric(v) else named(v)) else NULL,
    insight_null_model = if (is.null(nm_c$value)) NULL else
      list(formula = deparse1(formula(nm_c$value)), fixef = named(fixef(nm_c$value))),
    tidy = tidy_rows(fit),
    seconds = ft$seconds,
    seconds_richardson_hessian = t_rich,
    fit_warnings = chr(ft$value$warnings), fit_messages = chr(ft$value$messages))

  ## profile() last: it works on the fit's own predictor and response modules
  ## (reference classes) and leaves them changed, so fitted(), residuals(), ranef()
  ## condVar and predict() read after it would describe some profile point.
  result["ci_profile"] <- list(NULL); result["ci_profile_exp"] <- list(NULL)
  result["ci_profile_warnings"] <- list(NULL); result["seconds_profile"] <- list(NULL)
  if (profile) {
    pt <- secs(capture_all(confint(fit, method = "profile", control = PROFILE_CONTROL)))
    prof <- pt$value
    if (!is.null(prof$value)) {
      result$ci_profile <- ci_list(prof$value)
      if (family$link %in% c("logit", "log")) {
        fe <- rownames(prof$value) %in% names(fixef(fit))
        result$ci_profile_exp <- ci_list(exp(prof$value[fe, , drop = FALSE]))
      }
    }
    result$ci_profile_warnings <- chr(c(prof$warnings, prof$messages))
    result$seconds_profile <- pt$seconds
  }

  alternatives <- list()
  if (default_and_brief) {
    fd <- secs(capture_all(glmer_in(ftxt, dat, family, nAGQ, DEFAULT)))
    fb <- secs(capture_all(glmer_in(ftxt, dat, family, nAGQ, BRIEF)))
    alternatives$default <- brief_fit(fd$value, fd$seconds)
    alternatives$brief <- brief_fit(fb$value, fb$seconds)
  }

  gtmb <- NULL
  if (tmb) {
    tt <- secs(capture_all(tmb_in(ftxt, dat, family)))
    tm <- tt$value$value
    if (!is.null(tm)) {
      vct <- VarCorr(tm)$cond
      gtmb <- list(
        loglik = as.numeric(logLik(tm)), aic = AIC(tm), fixef = named(fixef(tm)$cond),
        se = named(sqrt(diag(vcov(tm)$cond))),
        varcorr = lapply(setNames(names(vct), names(vct)), function(g) {
          S <- vct[[g]]; sdv <- attr(S, "stddev")
          o <- list(sd = named(sdv), corr = empty_map())
          if (length(sdv) > 1) o$corr[[paste(names(sdv)[1:2], collapse = ":")]] <- attr(S, "correlation")[1, 2]
          o
        }),
        pdHess = tm$sdr$pdHess, max_abs_gradient = max(abs(tm$obj$gr(tm$fit$par))),
        minus2loglik_at_lme4_parameters = if (nAGQ == 1L) tmb_at_lme4(tm, fit) else NA_real_,
        mapping_check = tmb_mapping_check(tm),
        seconds = tt$seconds,
        warnings = chr(tt$value$warnings), messages = chr(tt$value$messages))
    } else {
      gtmb <- list(error = chr(tt$value$warnings))
    }
  }

  CASES[[length(CASES) + 1]] <<- list(
    id = id, data = DATASETS[[data]]$path, dataset = data, description = description,
    formula = ftxt, family = family$family, link = family$link, nAGQ = nAGQ,
    response = response, offset = offset,
    fixed_terms = chr(fixed_terms), random_terms = random_terms, grouping_factors = chr(groups),
    result = result, alternatives = alternatives, glmmTMB = gtmb,
    seconds_total = proc.time()[["elapsed"]] - t_case)
  cat(sprintf("n=%d  logLik=%.6f  fval=%.8f  %.1fs\n", nobs(fit), as.numeric(ll), cmp[["dev"]],
              proc.time()[["elapsed"]] - t_case))
  invisible(fit)
}

rterm <- function(group, slopes = character()) list(group = chr(group), intercept = TRUE,
                                                     slopes = chr(slopes), correlated = TRUE)
resp_trials <- list(type = "binomial_trials", successes = "incidence", trials = "size")
resp_binary <- function(col, failure) list(type = "binary_factor", column = col, failure_level = failure,
                                           rule = "first factor level = 0 (failure), any other level = 1")
resp_count <- function(col) list(type = "count", column = col)

CBPP_F <- "cbind(incidence, size - incidence) ~ period + (1 | herd)"
run_case("cbpp_laplace", "cbpp", CBPP_F, binomial(), 1L, "herd", resp_trials, NULL, "period",
         list(rterm("herd")), "binomial with trials, logit, Laplace", profile = TRUE)
run_case("cbpp_nagq0", "cbpp", CBPP_F, binomial(), 0L, "herd", resp_trials, NULL, "period",
         list(rterm("herd")), "nAGQ = 0: lme4's first stage alone (theta optimised, beta from the joint PIRLS)",
         tmb = FALSE)
run_case("cbpp_agq9", "cbpp", CBPP_F, binomial(), 9L, "herd", resp_trials, NULL, "period",
         list(rterm("herd")), "adaptive Gauss-Hermite, 9 nodes (logLik leaves out the saturated constant)",
         tmb = FALSE)
run_case("cbpp_agq25", "cbpp", CBPP_F, binomial(), 25L, "herd", resp_trials, NULL, "period",
         list(rterm("herd")), "adaptive Gauss-Hermite, 25 nodes", tmb = FALSE)
run_case("cbpp_probit", "cbpp", CBPP_F, binomial(link = "probit"), 1L, "herd", resp_trials, NULL,
         "period", list(rterm("herd")), "binomial with trials, probit link, Laplace")
run_case("cbpp_null", "cbpp", "cbind(incidence, size - incidence) ~ 1 + (1 | herd)", binomial(), 1L,
         "herd", resp_trials, NULL, character(), list(rterm("herd")), "null model for the LRT on period")
run_case("contraception_slope", "contraception", "use ~ age + urban + livch + (urban | district)",
         binomial(), 1L, "district", resp_binary("use", "N"), NULL, c("age", "urban", "livch"),
         list(rterm("district", "urban")), "0/1 outcome, correlated random intercept and slope of urban")
run_case("contraception_ri", "contraception", "use ~ age + urban + livch + (1 | district)",
         binomial(), 1L, "district", resp_binary("use", "N"), NULL, c("age", "urban", "livch"),
         list(rterm("district")), "random-intercept model for the LRT on the urban slope",
         profile = TRUE)
run_case("contraception_cloglog", "contraception", "use ~ age + urban + livch + (1 | district)",
         binomial(link = "cloglog"), 1L, "district", resp_binary("use", "N"), NULL,
         c("age", "urban", "livch"), list(rterm("district")), "0/1 outcome, complementary log-log link")
run_case("verbagg_crossed", "verbagg", "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
         binomial(), 1L, c("id", "item"), resp_binary("r2", "N"), NULL,
         c("Anger", "Gender", "btype", "situ"), list(rterm("id"), rterm("item")),
         "crossed random intercepts (persons x items), 7584 rows")
run_case("guimmun_3level", "guimmun",
         "immun ~ kid2p + mom25p + ord + ethn + momEd + husEd + momWork + rural + pcInd81 + (1 | mom) + (1 | comm)",
         binomial(), 1L, c("mom", "comm"), resp_binary("immun", "N"), NULL,
         c("kid2p", "mom25p", "ord", "ethn", "momEd", "husEd", "momWork", "rural", "pcInd81"),
         list(rterm("mom"), rterm("comm")),
         "three-level binary: children in mothers in communities")
run_case("grouseticks_poisson", "grouseticks",
         "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
         poisson(), 1L, c("BROOD", "INDEX", "LOCATION"), resp_count("TICKS"), NULL,
         c("YEAR", "cHEIGHT"), list(rterm("BROOD"), rterm("INDEX"), rterm("LOCATION")),
         "Poisson, three random intercepts (INDEX is observation-level), factor YEAR")
run_case("owls_offset", "owls",
         "SiblingNegotiation ~ FoodTreatment + SexParent + ArrivalTime + offset(log(BroodSize)) + (1 | Nest)",
         poisson(), 1L, "Nest", resp_count("SiblingNegotiation"),
         list(expression = "log(BroodSize)", column = "BroodSize", transform = "log"),
         c("FoodTreatment", "SexParent", "ArrivalTime"), list(rterm("Nest")),
         "Poisson with an exposure offset log(BroodSize); strongly over-dispersed", profile = TRUE)

## ------------------------------------------------------------ comparisons --
anova_table <- function(id, m0, m1, description) {
  a <- anova(FITS[[m0]], FITS[[m1]])
  rows <- lapply(seq_len(nrow(a)), function(i) {
    r <- a[i, ]
    list(model = c(m0, m1)[i], npar = r[["npar"]], aic = r[["AIC"]], bic = r[["BIC"]],
         loglik = r[["logLik"]], deviance = r[["deviance"]],
         chisq = if (is.na(r[["Chisq"]])) NULL else r[["Chisq"]],
         df = if (is.na(r[["Df"]])) NULL else r[["Df"]],
         p = if (is.na(r[["Pr(>Chisq)"]])) NULL else r[["Pr(>Chisq)"]])
  })
  list(id = id, models = chr(c(m0, m1)), description = description, table = rows,
       heading = chr(attr(a, "heading")))
}
COMPARISONS <- list(
  anova_table("cbpp_period", "cbpp_null", "cbpp_laplace", "LRT for period (3 df); both Laplace ML fits, no refit"),
  anova_table("contraception_urban_slope", "contraception_ri", "contraception_slope",
              "LRT for the random slope of urban and its correlation (2 df, on the boundary: the chi-square p is conservative)"))

## ----------------------------------------------------------------- write --
total_seconds <- proc.time()[["elapsed"]] - T_START
out <- list(
  generated_by = paste0(R.version.string, "; lme4 ", packageVersion("lme4"),
                        "; glmmTMB ", packageVersion("glmmTMB"), "; TMB ", packageVersion("TMB"),
                        "; Matrix ", packageVersion("Matrix"),
                        "; performance ", packageVersion("performance"),
                        "; insight ", packageVersion("insight"),
                        "; broom.mixed ", packageVersion("broom.mixed"),
                        "; mlmRev ", packageVersion("mlmRev"),
                        "; numDeriv ", packageVersion("numDeriv"),
                        "; jsonlite ", packageVersion("jsonlite")),
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4")),
                  glmmTMB = as.character(packageVersion("glmmTMB")),
                  TMB = as.character(packageVersion("TMB")),
                  performance = as.character(packageVersion("performance")),
                  insight = as.character(packageVersion("insight")),
                  broom.mixed = as.character(packageVersion("broom.mixed"))),
  generated_at = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  settings = list(
    tight_control = "glmerControl(optimizer = \"bobyqa\", tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10, maxfun = 1e5))",
    brief_control = "glmerControl(tolPwrss = 1e-13, optCtrl = list(rhoend = 1e-10))",
    default_control = "glmerControl()",
    se_default = "vcov(fit): 2 * solve(H)[beta, beta], H = deriv12 (central differences, delta 1e-4) of the deviance over c(theta, beta) at the optimum (lme4 1.1-31 default for glmer with nAGQ > 0)",
    se_rx = "vcov(fit, use.hessian = FALSE): (R_X' R_X)^-1 from the last PIRLS weights, conditional on theta (nAGQ = 0 always uses this)",
    profile_control = "confint(fit, method = \"profile\", control = list(rhoend = 1e-8)) (bobyqa, the fit's optimizer)",
    se_richardson = "numDeriv::hessian (Richardson, d = 0.1, r = 4) of the same lme4 deviance function, then 2 * solve(H)[beta, beta]",
    predictions_rows = "0-based row numbers of the CSV",
    cpu = "2 cores shared with other jobs"),
  total_seconds = total_seconds,
  datasets = unname(DATASETS),
  cases = CASES,
  comparisons = COMPARISONS)

to_verbatim <- function(x, num_fmt) {
  if (is.null(x)) return(NULL)
  if (is.list(x) && !is.data.frame(x)) {
    y <- lapply(x, to_verbatim, num_fmt = num_fmt)
    names(y) <- names(x)
    if (!is.null(names(x)) && length(x) == 0) return(empty_map())
    return(y)
  }
  if (is.numeric(x) || is.logical(x) && inherits(x, "AsIs")) {
    if (is.logical(x)) return(x)
    s <- num_fmt(as.numeric(x))
    s[is.na(s)] <- "null"
    if (length(x) == 1 && !inherits(x, "AsIs")) return(structure(s, class = "json"))
    if (!is.null(names(x))) stop("named numeric vector of length != 1: ", paste(names(x), collapse = ","))
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
json_path <- file.path(REF_DIR, "glmm_reference.json")
write_json_file(out, json_path, fmt_num)
cat(sprintf("wrote %s: %d cases, %d comparisons (%.0f KB); total %.1f s\n", json_path,
            length(CASES), length(COMPARISONS), file.size(json_path) / 1024, total_seconds))
hex_path <- Sys.getenv("GLMM_REF_HEX", "")
if (nzchar(hex_path)) {
  write_json_file(out, hex_path, hex_fmt)
  cat("wrote hex copy", hex_path, "\n")
}
