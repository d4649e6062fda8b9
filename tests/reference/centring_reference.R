## Reference numbers for centring (lib.model.centring) and the within/between view
## (lib.classroom.within_between): mlmRev's Hsb82 and the simulated data/exercise.csv.
##
## Run from the repository root:
##   LC_ALL=C.UTF-8 LC_COLLATE=C Rscript tests/reference/centring_reference.R
## Writes tests/reference/data/centring_hsb82.csv.gz and
## tests/reference/centring_reference.json (about 10 s).
##
## Centring is computed as an R user would: drop the rows that are incomplete in the
## model's columns, then ave() for group means and mean() for the grand mean.
## Hsb82's own cses (ses centred within school) and meanses (the school mean of ses)
## are kept in the CSV: lib's columns must reproduce them.
## `mAch_gappy` and `ses_gappy` are mAch and ses with values removed (rows 23, 46, ...
## and 5, 36, 67, ...) to check that means are taken over the complete rows only.

suppressMessages({
  library(lme4)
  library(lmerTest)
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
num <- function(x) unname(as.numeric(x))

i <- seq_len(nrow(Hsb82))
hsb <- data.frame(
  school = as.character(Hsb82$school), mAch = Hsb82$mAch, ses = Hsb82$ses,
  meanses = Hsb82$meanses, cses = Hsb82$cses, sector = as.character(Hsb82$sector),
  mAch_gappy = ifelse(i %% 23 == 0, NA, Hsb82$mAch),
  ses_gappy = ifelse(i %% 31 == 5, NA, Hsb82$ses),
  stringsAsFactors = FALSE
)
hsb_file <- file.path(data_dir, "centring_hsb82.csv.gz")
connection <- gzfile(hsb_file, "w", encoding = "UTF-8")
write.csv(hsb, connection, row.names = FALSE)
close(connection)
hsb <- read.csv(hsb_file, stringsAsFactors = FALSE,
                colClasses = c(school = "character", sector = "character"))
hsb$school <- cfactor(hsb$school)
hsb$sector <- cfactor(hsb$sector)

exercise <- read.csv(file.path("data", "exercise.csv"), stringsAsFactors = FALSE)
exercise$age_group <- cfactor(exercise$age_group)

## The three centred columns, over the rows complete in `used`.
centre <- function(d, x, g, used) {
  d <- d[complete.cases(d[, used]), ]
  d[[paste0(x, "_mean_", g)]] <- ave(d[[x]], d[[g]])
  d[[paste0(x, "_cwc")]] <- d[[x]] - d[[paste0(x, "_mean_", g)]]
  d[[paste0(x, "_gmc")]] <- d[[x]] - mean(d[[x]])
  d
}

TIGHT <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 0,
                                    ftol_rel = 0, maxeval = 100000))

lmer_numbers <- function(m) {
  co <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  list(criterion = num(REMLcrit(m)), theta = num(getME(m, "theta")), sigma = num(sigma(m)),
       fixef_names = names(fixef(m)), fixef = num(fixef(m)), se = num(co[, "Std. Error"]),
       df = num(co[, "df"]), t = num(co[, "t value"]), p = num(co[, "Pr(>|t|)"]),
       vcov = num(vc$vcov), nobs = nobs(m))
}

fit_lmer <- function(id, formula, d) {
  fo <- as.formula(formula)
  m <- eval(bquote(lmerTest::lmer(.(fo), data = d, REML = TRUE)))
  best <- eval(bquote(lmerTest::lmer(.(fo), data = d, REML = TRUE, control = TIGHT,
                                     start = .(getME(m, "theta")))))
  list(id = id, formula = formula, default = lmer_numbers(m), best = lmer_numbers(best))
}

fit_lm <- function(id, formula, d) {
  m <- lm(as.formula(formula), data = d)
  co <- summary(m)$coefficients
  list(id = id, formula = formula, names = rownames(co), coef = num(co[, "Estimate"]),
       se = num(co[, "Std. Error"]), nobs = nobs(m))
}

## The line through the group means: lm of the group-mean outcome on the group-mean
## predictor, one row per group (unweighted).
between_line <- function(d, y, x, g) {
  means <- data.frame(y = tapply(d[[y]], d[[g]], mean), x = tapply(d[[x]], d[[g]], mean))
  m <- lm(y ~ x, data = means)
  list(intercept = num(coef(m)[1]), slope = num(coef(m)[2]), groups = nrow(means),
       x_means = as.list(setNames(num(means$x), rownames(means))),
       y_means = as.list(setNames(num(means$y), rownames(means))))
}

## Per-group least-squares slopes (each group's own lm).
own_slopes <- function(d, y, x, g) {
  s <- sapply(split(d, d[[g]]), function(part) num(coef(lm(part[[y]] ~ part[[x]]))[2]))
  as.list(s)
}

within_between <- function(d, y, x, g) {
  cwc <- paste0(x, "_cwc")
  mean_col <- paste0(x, "_mean_", g)
  f <- function(rhs) paste(y, "~", rhs)
  list(
    lmer = list(
      fit_lmer("between", f(paste0(cwc, " + ", mean_col, " + (1 | ", g, ")")), d),
      fit_lmer("contextual", f(paste0(x, " + ", mean_col, " + (1 | ", g, ")")), d)
    ),
    lm = list(
      fit_lm("pooled", f(x), d),
      fit_lm("within_dummies", f(paste0(cwc, " + ", g)), d),
      fit_lm("between", f(paste0(cwc, " + ", mean_col)), d),
      fit_lm("contextual", f(paste0(x, " + ", mean_col)), d)
    ),
    between_line = between_line(d, y, x, g),
    own_slopes = own_slopes(d, y, x, g)
  )
}

hsb_full <- centre(hsb, "ses", "school", c("mAch", "ses", "school"))
hsb_gappy <- centre(hsb, "ses_gappy", "school", c("mAch_gappy", "ses_gappy", "school"))
ex <- centre(exercise, "exercise", "age_group", c("cholesterol", "exercise", "age_group"))

out <- list(
  generated_by = sprintf(
    "%s; lme4 %s; lmerTest %s; mlmRev %s; script tests/reference/centring_reference.R",
    R.version.string, packageVersion("lme4"), packageVersion("lmerTest"),
    packageVersion("mlmRev")),
  hsb82 = list(
    data = basename(hsb_file),
    max_abs_cses_vs_ave = max(abs(hsb_full$ses_cwc - hsb_full$cses)),
    max_abs_meanses_vs_ave = max(abs(hsb_full$ses_mean_school - hsb_full$meanses)),
    grand_mean = mean(hsb_full$ses),
    fits = list(
      fit_lmer("slope", "mAch ~ ses_cwc + ses_mean_school + (ses_cwc | school)", hsb_full),
      fit_lmer("grand", "mAch ~ ses_gmc + (1 | school)", hsb_full)
    ),
    within_between = within_between(hsb_full, "mAch", "ses", "school")
  ),
  hsb82_gappy = list(
    columns = c("mAch_gappy", "ses_gappy", "school"),
    rows_used = nrow(hsb_gappy),
    grand_mean = mean(hsb_gappy$ses_gappy),
    school_means = as.list(tapply(hsb_gappy$ses_gappy, hsb_gappy$school, mean)),
    fits = list(fit_lmer(
      "gappy", "mAch_gappy ~ ses_gappy_cwc + ses_gappy_mean_school + (1 | school)", hsb_gappy))
  ),
  exercise = list(
    data = "data/exercise.csv",
    within_between = within_between(ex, "cholesterol", "exercise", "age_group")
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           file.path(out_dir, "centring_reference.json"), useBytes = TRUE)
cat("wrote centring_reference.json\n")
