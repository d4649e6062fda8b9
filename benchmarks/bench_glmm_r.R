#!/usr/bin/env Rscript
## ---------------------------------------------------------------------------
## GLMM benchmark, R side: glmer (default control) and glmmTMB on the same data.
##
## Run from the repository root:
##   Rscript benchmarks/bench_glmm_r.R                 # VerbAgg + 10^5 rows (~6-10 min)
##   BENCH_GLMM_SIZES=1e5,1e6 Rscript benchmarks/bench_glmm_r.R
##   BENCH_GLMM_REPEATS=1 ... (default 3; the median is reported)
##   BENCH_GLMM_JSON=path ... (default tests/reference/glmm_bench_r.json)
##
## Cases
##   verbagg  lme4::VerbAgg, r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item),
##            read from tests/reference/data/glmm_verbagg.csv (written by
##            tests/reference/glmm_reference.R; lme4's data if the file is missing)
##   1e5      simulated binary y ~ x1 + x2 + (1 + x1 | g), 10^5 rows, 1,000 groups
##   1e6      the same with 10^6 rows, 10,000 groups (optional: ~400 s per glmer fit)
##
## The simulation uses no R random-number generator, so Python can regenerate the
## identical data (tests/glmm_reference.py: simulate_binary_slope, same arguments):
##   * uniforms from the Park-Miller "minimal standard" generator
##       s <- (48271 * s) %% 2147483647,  u = s / 2147483647,  s_0 = seed
##     (48271 * s < 2^47, so every step is exact in double precision);
##   * per group g = 0..G-1, in this order: z0, z1 = (sum of 12 uniforms) - 6
##     (Irwin-Hall, mean 0, variance 1); b0 = 1.0 * z0,
##     b1 = 0.5 * (0.3 * z0 + sqrt(1 - 0.3^2) * z1)   (SDs 1 and 0.5, correlation 0.3);
##   * per row i = 0..n-1, in this order: g = i %/% (n / G);
##     x1 = sqrt(3) * (2u - 1), x2 = sqrt(3) * (2u - 1)   (mean 0, variance 1);
##     eta = -0.5 + 1.0 x1 - 0.7 x2 + b0[g] + b1[g] x1;
##     y = 1 if u * (1 + exp(-eta)) < 1 else 0   (u < plogis(eta) without plogis).
##   Only +, -, *, /, %%, sqrt and exp are used: the same IEEE operations (and glibc's
##   exp, which Python's math.exp also calls) give the same bits.  The group column is
##   the label "g" + the zero-padded group number (g0000 ... g0999 for 1,000 groups).  The script records sums and an
##   md5 of the data (columns printed with sprintf("%.17g")) so the Python side can
##   check it regenerated the same rows.
## ---------------------------------------------------------------------------

suppressPackageStartupMessages({
  library(lme4)
  library(glmmTMB)
  library(jsonlite)
})

SIZES <- strsplit(Sys.getenv("BENCH_GLMM_SIZES", "1e5"), ",")[[1]]
REPEATS <- as.integer(Sys.getenv("BENCH_GLMM_REPEATS", "3"))
JSON_OUT <- Sys.getenv("BENCH_GLMM_JSON", "tests/reference/glmm_bench_r.json")
SEED <- 20240611

minstd_uniforms <- function(count, state) {
  u <- numeric(count)
  for (k in seq_len(count)) {
    state <- (48271 * state) %% 2147483647
    u[k] <- state / 2147483647
  }
  list(u = u, state = state)
}

simulate_binary_slope <- function(n, groups, seed = SEED) {
  stopifnot(n %% groups == 0)
  r <- minstd_uniforms(12 * 2 * groups, seed)
  z <- colSums(matrix(r$u, nrow = 12)) - 6        # z0, z1 for group 0, then group 1, ...
  z0 <- z[c(TRUE, FALSE)]; z1 <- z[c(FALSE, TRUE)]
  b0 <- 1.0 * z0
  b1 <- 0.5 * (0.3 * z0 + sqrt(1 - 0.3^2) * z1)
  r <- minstd_uniforms(3 * n, r$state)
  u <- matrix(r$u, nrow = 3)                      # per row: x1, x2, y draws
  g <- (seq_len(n) - 1) %/% (n / groups)
  x1 <- sqrt(3) * (2 * u[1, ] - 1)
  x2 <- sqrt(3) * (2 * u[2, ] - 1)
  eta <- -0.5 + 1.0 * x1 - 0.7 * x2 + b0[g + 1] + b1[g + 1] * x1
  y <- as.numeric(u[3, ] * (1 + exp(-eta)) < 1)
  width <- nchar(as.character(groups))
  data.frame(y = y, x1 = x1, x2 = x2, g = factor(sprintf(paste0("g%0", width, "d"), g)))
}

data_fingerprint <- function(d) {
  txt <- paste(sprintf("%.17g", d$y), sprintf("%.17g", d$x1), sprintf("%.17g", d$x2),
               as.character(d$g), sep = ",")
  f <- tempfile()
  writeLines(txt, f)
  list(rows = nrow(d), groups = nlevels(d$g), sum_y = sum(d$y), sum_x1 = sum(d$x1),
       sum_x2 = sum(d$x2), first_x1 = d$x1[1:3], last_x2 = d$x2[nrow(d)],
       md5_lines = unname(tools::md5sum(f)),
       md5_rule = "md5 of the lines 'y,x1,x2,g' (numbers as %.17g, '\\n' line ends, no header)")
}

time_median <- function(expr_fun, repeats) {
  runs <- numeric(repeats); value <- NULL; msgs <- character()
  for (r in seq_len(repeats)) {
    t0 <- proc.time()[["elapsed"]]
    value <- withCallingHandlers(expr_fun(), warning = function(w) {
      msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
    runs[r] <- proc.time()[["elapsed"]] - t0
  }
  list(median = median(runs), runs = runs, value = value, warnings = unique(msgs))
}

bench_case <- function(name, formula, dat) {
  cat(sprintf("%-8s n = %7d ... ", name, nrow(dat)))
  gl <- time_median(function() glmer(formula, data = dat, family = binomial), REPEATS)
  tm <- time_median(function() glmmTMB(formula, data = dat, family = binomial), REPEATS)
  out <- list(case = name, rows = nrow(dat), formula = deparse1(formula),
              glmer_seconds = gl$median, glmer_runs = I(gl$runs),
              glmer_loglik = as.numeric(logLik(gl$value)), glmer_fixef = as.list(fixef(gl$value)),
              glmer_warnings = I(gl$warnings),
              glmmTMB_seconds = tm$median, glmmTMB_runs = I(tm$runs),
              glmmTMB_loglik = as.numeric(logLik(tm$value)),
              glmmTMB_fixef = as.list(fixef(tm$value)$cond), glmmTMB_warnings = I(tm$warnings))
  cat(sprintf("glmer %.2f s, glmmTMB %.2f s\n", gl$median, tm$median))
  out
}

results <- list(); fingerprints <- list()

va_path <- "tests/reference/data/glmm_verbagg.csv"
va <- if (file.exists(va_path)) {
  d <- read.csv(va_path, stringsAsFactors = FALSE)
  for (nm in c("r2", "Gender", "btype", "situ", "id", "item")) d[[nm]] <- factor(d[[nm]])
  d$r2 <- factor(d$r2, levels = c("N", "Y"))
  d
} else lme4::VerbAgg
results$verbagg <- bench_case("verbagg", r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item), va)

for (s in SIZES) {
  n <- as.integer(as.numeric(s))
  G <- n %/% 100
  t0 <- proc.time()[["elapsed"]]
  d <- simulate_binary_slope(n, G)
  sim_seconds <- proc.time()[["elapsed"]] - t0
  fingerprints[[s]] <- c(data_fingerprint(d), list(seed = SEED, simulate_seconds = sim_seconds))
  results[[s]] <- bench_case(s, y ~ x1 + x2 + (1 + x1 | g), d)
}

cat("\nMedian of", REPEATS, "runs, wall-clock seconds (glmer: default glmerControl(); glmmTMB defaults)\n")
cat(sprintf("%-8s %9s %9s %9s %14s %14s\n", "case", "rows", "glmer", "glmmTMB", "logLik glmer", "logLik TMB"))
for (r in results) {
  cat(sprintf("%-8s %9d %9.2f %9.2f %14.4f %14.4f\n", r$case, r$rows, r$glmer_seconds,
              r$glmmTMB_seconds, r$glmer_loglik, r$glmmTMB_loglik))
}

out <- list(generated_by = paste0(R.version.string, "; lme4 ", packageVersion("lme4"),
                                  "; glmmTMB ", packageVersion("glmmTMB")),
            generated_at = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
            machine = paste(Sys.info()[["sysname"]], Sys.info()[["machine"]],
                            "- load average at the end:",
                            tryCatch(readLines("/proc/loadavg"), error = function(e) "?")),
            repeats = REPEATS, results = unname(results), simulated = fingerprints)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), pretty = TRUE), JSON_OUT)
cat("wrote", JSON_OUT, "\n")
