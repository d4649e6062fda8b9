#!/usr/bin/env Rscript
## ---------------------------------------------------------------------------
## Reference for lib/present/numbers.py's pval(): how R writes one p-value.
##
## Run from the repository root:
##   Rscript tests/reference/make_pval_reference.R
##
## Writes tests/reference/pval_reference.csv: p (17 significant digits) and
## format.pval(p, digits = 3), the call printCoefmat makes for the Pr(>|t|)
## column of summary(lmerTest fit) (digits = max(3, getOption("digits") - 3) = 4,
## dig.tst = digits - 1 = 3). Each value is formatted alone, as the app does.
## Base R only.
## ---------------------------------------------------------------------------

if (!dir.exists("tests/reference")) {
  stop("run this script from the repository root (tests/reference not found)")
}
fixed <- c(1, 0.99996, 0.9999, 0.5, 0.5131, 0.05, 0.0457, 0.05552, 0.0123, 0.001,
           0.00123, 0.00099996, 0.000999, 0.000567, 5e-04, 1.234e-04, 1e-04,
           9.996e-05, 5e-05, 1.234e-05, 3.264e-06, 8.49e-15, 2.3e-16,
           .Machine$double.eps, 2.2e-16, 1e-20, 0)
set.seed(20240601)
random <- 10^runif(300, -17, 0)
p <- c(fixed, random)
out <- data.frame(p = sprintf("%.17g", p),
                  r = vapply(p, function(x) format.pval(x, digits = 3), ""))
write.csv(out, "tests/reference/pval_reference.csv", row.names = FALSE)
cat(sprintf("%d p-values written (%s)\n", nrow(out), R.version.string))
