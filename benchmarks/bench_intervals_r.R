#!/usr/bin/env Rscript
## lme4's side of benchmarks/bench_intervals.py: wall time of confint(method =
## "profile") for the tutorial's model and InstEval's variance components, and of
## 1,000 parametric-bootstrap refits of the tutorial's model. Prints JSON.
## Usage (repository root): Rscript benchmarks/bench_intervals_r.R [tutorial|insteval|boot]...
invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })
cases <- commandArgs(trailingOnly = TRUE)
if (length(cases) == 0) cases <- c("tutorial", "insteval", "boot")
out <- list()
schools <- read.csv("data/schools.csv", colClasses = c(school = "character"))
tut <- lmer(test_score ~ study_time + (study_time | school), schools)
if ("tutorial" %in% cases)
  out$tutorial_profile <- system.time(confint(tut, method = "profile", quiet = TRUE))[["elapsed"]]
if ("boot" %in% cases)
  out$tutorial_boot_1000 <- system.time(
    suppressWarnings(suppressMessages(confint(tut, method = "boot", nsim = 1000, seed = 1,
                                              quiet = TRUE))))[["elapsed"]]
if ("insteval" %in% cases) {
  ie <- read.csv(gzfile("tests/reference/data/insteval.csv.gz"),
                 colClasses = c(s = "character", d = "character", dept = "character",
                                service = "character"))
  m <- lmer(y ~ service + (1 | s) + (1 | d) + (1 | dept), ie)
  out$insteval_profile <- system.time(confint(m, method = "profile", quiet = TRUE))[["elapsed"]]
}
cat(toJSON(out, auto_unbox = TRUE), "\n")
