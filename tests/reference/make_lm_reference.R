#!/usr/bin/env Rscript
## ---------------------------------------------------------------------------
## Reference values for lib/ols.py and lib/groups.py ("Multilevel Explorer").
##
## Run from the repository root:
##   LC_ALL=C.UTF-8 LC_COLLATE=C Rscript tests/reference/make_lm_reference.R
##
## Writes
##   tests/reference/data/lm_*.csv       three small generated data sets
##   tests/reference/lm_reference.json   summary(lm(...)) numbers and group
##                                       means / SDs for each data set
##
## Only base R and jsonlite are used. Every model is fitted to the data as
## read back from its CSV, so Python and R see identical doubles.
## ---------------------------------------------------------------------------

invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages(library(jsonlite))

if (!dir.exists("tests/reference")) {
  stop("run this script from the repository root (tests/reference not found)")
}
REF_DIR <- "tests/reference"
DATA_DIR <- file.path(REF_DIR, "data")
dir.create(DATA_DIR, showWarnings = FALSE, recursive = TRUE)

## ---------------------------------------------------------------- helpers --

## Doubles as 17 significant digits: always converts back to the same double.
fmt17 <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))

## C-order (code point / UTF-8 byte order) factor, as the Python side sorts.
## Numeric codes keep R's numeric order (2 < 10 < 101), as factor() gives.
c_factor <- function(x) {
  if (is.numeric(x)) return(factor(x))
  factor(x, levels = sort(unique(x[!is.na(x)]), method = "radix"))
}

read_data <- function(file, text_cols) {
  cc <- setNames(rep("character", length(text_cols)), text_cols)
  d <- read.csv(file, stringsAsFactors = FALSE, encoding = "UTF-8", fileEncoding = "UTF-8",
                check.names = FALSE, colClasses = cc, na.strings = c("", "NA"))
  for (nm in names(d)) if (is.numeric(d[[nm]])) d[[nm]] <- as.numeric(d[[nm]])  # ints -> doubles
  d
}

## Write numbers at full precision, read the file back, check it round-trips.
write_data <- function(df, file) {
  is_num <- vapply(df, is.numeric, NA)
  out <- df
  for (nm in names(df)[is_num]) out[[nm]] <- fmt17(as.numeric(df[[nm]]))
  write.csv(out, file, row.names = FALSE, quote = which(!is_num),
            fileEncoding = "UTF-8", na = "")
  back <- read_data(file, names(df)[!is_num])
  for (nm in names(df)) {
    want <- if (is_num[[nm]]) as.numeric(df[[nm]]) else as.character(df[[nm]])
    if (!identical(back[[nm]], want)) stop("column ", nm, " of ", file, " does not round-trip")
  }
  back
}

## Everything summary(lm) reports, over ALL coefficients (aliased ones as NA).
lm_summary <- function(fit) {
  s <- summary(fit)
  cf <- coef(fit)                      # NA for aliased columns
  tab <- s$coefficients                # rows for non-aliased columns only
  full <- function(col) {
    v <- setNames(rep(NA_real_, length(cf)), names(cf))
    v[rownames(tab)] <- tab[, col]
    unname(v)
  }
  fs <- s$fstatistic
  r <- residuals(fit)
  list(
    names = I(names(cf)),
    coef = I(unname(cf)),
    se = I(full("Std. Error")),
    t = I(full("t value")),
    p = I(full("Pr(>|t|)")),
    aliased = I(unname(is.na(cf))),
    resid_quantiles = I(unname(quantile(r))),   # what print.summary.lm shows (type 7)
    sigma = s$sigma,
    df_resid = fit$df.residual,
    r2 = s$r.squared,
    adj_r2 = s$adj.r.squared,
    fstat = if (is.null(fs)) NA_real_ else unname(fs["value"]),
    f_df_num = if (is.null(fs)) 0L else unname(fs["numdf"]),
    f_df_den = if (is.null(fs)) fit$df.residual else unname(fs["dendf"]),
    f_p = if (is.null(fs)) NA_real_ else
      unname(pf(fs["value"], fs["numdf"], fs["dendf"], lower.tail = FALSE)),
    nobs = nobs(fit),
    fitted = I(unname(fitted(fit))),
    residuals = I(unname(r)),
    vcov = unname(vcov(fit))            # R >= 3.5: NA rows/columns for aliased
  )
}

## All reference numbers for one data set.
##   y, x, g: outcome, numeric predictor, group column names.
##   per_group_exclude: levels left out of the per-group fits (too few rows).
##   extra: named list of further predictor sets for whole-data fits.
reference <- function(name, d, y, x, g, per_group_exclude = character(), extra = list()) {
  d[[g]] <- c_factor(d[[g]])
  lev <- levels(d[[g]])
  fml <- function(rhs) as.formula(paste(y, "~", rhs))
  fits <- list(
    null = lm_summary(lm(fml("1"), data = d)),
    simple = lm_summary(lm(fml(x), data = d)),
    group_only = lm_summary(lm(fml(g), data = d)),
    dummy = lm_summary(lm(fml(paste(x, "+", g)), data = d))
  )
  for (k in names(extra)) fits[[k]] <- lm_summary(lm(fml(paste(extra[[k]], collapse = " + ")), data = d))
  predictors <- list(null = character(), simple = x, group_only = g, dummy = c(x, g))
  predictors <- c(predictors, extra)

  ## lm's default na.omit drops a row missing in any used column: count them.
  n_dropped <- lapply(predictors, function(p) sum(!complete.cases(d[c(y, p)])))

  ## Per-group fits as lapply(levels, function(l) lm(y ~ x, data = df[df$g == l, ]))
  ## on the rows complete in y, x and g.
  dd <- d[complete.cases(d[c(y, x, g)]), ]
  pg_levels <- setdiff(lev, per_group_exclude)
  per_group <- lapply(pg_levels, function(l) lm_summary(lm(fml(x), data = dd[dd[[g]] == l, ])))

  ## tapply mean / sd on the rows complete in y and g.
  dg <- d[complete.cases(d[c(y, g)]), ]
  gs <- list(levels = I(lev),
             n = I(unname(as.vector(table(dg[[g]])))),
             mean = I(unname(tapply(dg[[y]], dg[[g]], mean))),
             sd = I(unname(tapply(dg[[y]], dg[[g]], sd))),
             n_dropped = nrow(d) - nrow(dg))

  ## Raw mean differences vs the dummy model, on the rows complete in y, x, g.
  mdm <- tapply(dd[[y]], dd[[g]], mean)
  dummy_dd <- coef(lm(fml(paste(x, "+", g)), data = dd))
  md <- list(levels = I(lev),
             n = I(unname(as.vector(table(dd[[g]])))),
             mean = I(unname(mdm)),
             raw_diff = I(unname(mdm - mdm[1])),
             coef = I(c(0, unname(dummy_dd[paste0(g, lev[-1])]))),
             slope = unname(dummy_dd[x]),
             n_dropped = nrow(d) - nrow(dd))

  ## The dummy-coding table (rows = levels, columns = levels 2..G).
  dc <- list(levels = I(lev), names = I(paste0(g, lev[-1])),
             values = unname(contr.treatment(length(lev))))

  list(outcome = y, predictor = x, group = g, levels = I(lev), dummy_coding = dc,
       predictors = lapply(predictors, I), n_dropped = n_dropped, fits = fits,
       per_group = list(levels = I(pg_levels), excluded = I(per_group_exclude),
                        n_dropped = nrow(d) - nrow(dd), fits = per_group),
       group_summary = gs, mean_differences = md)
}

## ============================================================ data sets ==

## --- 1. schools: the tutorial's shape, string labels with a space and a
## typographic apostrophe, unbalanced (9/14/22), a few missing values.
set.seed(20240611)
lv <- c("Oakwood", "St Mary\u2019s", "Riverside High")
sizes <- c(9L, 14L, 22L)
school <- rep(lv, sizes)
study_time <- runif(sum(sizes), 1, 10)
base <- c(50, 56, 44)[match(school, lv)]
test_score <- base + 3.2 * study_time + rnorm(sum(sizes), 0, 6)
sch_raw <- data.frame(school = school, study_time = study_time, test_score = test_score,
                      stringsAsFactors = FALSE)[sample(sum(sizes)), ]
sch_raw$test_score[3] <- NA
sch_raw$study_time[10] <- NA
sch_raw$school[17] <- NA          # kept by the simple regression, dropped by the others
sch <- write_data(sch_raw, file.path(DATA_DIR, "lm_schools.csv"))

## --- 2. codes: numeric group IDs (factor order 2 < 7 < 10 < 101), a group of
## exactly 3 rows (per-group residual df = 1), a second categorical predictor
## with 3 levels.
set.seed(7)
ids <- c(101, 2, 10, 7)
sizes <- c(5L, 12L, 3L, 8L)
pig <- rep(ids, sizes)
week <- unlist(lapply(sizes, seq_len)) + 0
feed <- sample(c("barley", "maize", "wheat"), sum(sizes), replace = TRUE)
weight <- 20 + 0.5 * pig / 10 + 6.5 * week + c(barley = 0, maize = 1.5, wheat = -2)[feed] +
  rnorm(sum(sizes), 0, 2)
codes_raw <- data.frame(pig = pig, week = week, feed = feed, weight = weight,
                        stringsAsFactors = FALSE)
codes <- write_data(codes_raw, file.path(DATA_DIR, "lm_codes.csv"))

## --- 3. edge: non-ASCII labels sorted by code point (Zeta < alpha < solo <
## Åland < école), a group whose predictor is constant (per-group slope NA), a
## one-row group (sd NA; excluded from per-group fits, where Python raises), and
## a predictor that is exactly twice another (aliased in the whole-data fit).
set.seed(99)
lv <- c("Zeta", "alpha", "\u00c5land", "\u00e9cole", "solo")
sizes <- c(7L, 6L, 10L, 5L, 1L)
grp <- rep(lv, sizes)
x <- round(rnorm(sum(sizes), 3, 1.5), 2)
x[grp == "alpha"] <- 4.25
y <- 10 - 1.3 * x + c(0, 3, -2, 1, 5)[match(grp, lv)] + rnorm(sum(sizes), 0, 1)
edge_raw <- data.frame(grp = grp, x = x, x2 = 2 * x, y = y, stringsAsFactors = FALSE)
edge_raw$y[2] <- NA
edge <- write_data(edge_raw, file.path(DATA_DIR, "lm_edge.csv"))

DATASETS <- list(
  schools = c(list(file = "tests/reference/data/lm_schools.csv"),
              reference("schools", sch, "test_score", "study_time", "school")),
  codes = c(list(file = "tests/reference/data/lm_codes.csv"),
            reference("codes", codes, "weight", "week", "pig",
                      extra = list(two_factors = c("week", "pig", "feed")))),
  edge = c(list(file = "tests/reference/data/lm_edge.csv"),
           reference("edge", edge, "y", "x", "grp", per_group_exclude = "solo",
                     extra = list(collinear = c("x", "x2"))))
)

## ================================================================ write ==

out <- list(
  generated_by = sprintf("%s; jsonlite %s; script tests/reference/make_lm_reference.R",
                         R.version.string, as.character(packageVersion("jsonlite"))),
  settings = list(
    fit = "lm(formula, data) with default na.action = na.omit; numbers from summary.lm",
    resid_quantiles = "quantile(residuals(fit)) (type 7): Min, 1Q, Median, 3Q, Max",
    f_p = "pf(fstatistic, numdf, dendf, lower.tail = FALSE); null when summary.lm has no F (intercept only)",
    aliased = "coef(fit) NA: coef/se/t/p null, vcov rows/columns null",
    factor_levels = "text groups: factor(x, levels = sort(unique(x), method = 'radix')); numeric groups: factor(x)",
    per_group = "lapply(levels, function(l) lm(y ~ x, data = dd[dd$g == l, ])), dd = rows complete in y, x, g",
    group_summary = "tapply(y, g, mean) / sd on rows complete in y, g",
    locale = Sys.getlocale("LC_COLLATE")
  ),
  datasets = DATASETS
)
## jsonlite 1.8's digits = NA prints only 15 significant digits, which does not
## always round-trip; numbers are therefore passed as verbatim "%.17g" text.
verbatim <- function(x) {
  if (is.list(x)) {
    y <- lapply(x, verbatim)
    names(y) <- names(x)
    return(y)
  }
  if (is.matrix(x) && is.numeric(x)) {
    return(lapply(seq_len(nrow(x)), function(i) verbatim(I(as.numeric(x[i, ])))))
  }
  if (is.numeric(x)) {
    s <- ifelse(is.na(x), "null", sprintf("%.17g", as.numeric(x)))
    if (length(x) == 1 && !inherits(x, "AsIs")) return(structure(s, class = "json"))
    return(structure(paste0("[", paste(s, collapse = ", "), "]"), class = "json"))
  }
  x
}
path <- file.path(REF_DIR, "lm_reference.json")
write_json(verbatim(out), path, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null",
           json_verbatim = TRUE)

## The numbers must round-trip: check some of them re-read.
back <- fromJSON(path, simplifyVector = TRUE)
stopifnot(identical(back$datasets$schools$fits$dummy$coef,
                    as.numeric(DATASETS$schools$fits$dummy$coef)),
          identical(back$datasets$schools$fits$dummy$p,
                    as.numeric(DATASETS$schools$fits$dummy$p)),
          identical(back$datasets$edge$group_summary$mean,
                    as.numeric(DATASETS$edge$group_summary$mean)))
cat("wrote", path, "\n")
