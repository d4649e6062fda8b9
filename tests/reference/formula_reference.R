## Reference numbers for lme4 formulas with interactions, nested factors, `||`,
## intercept-free and rank-deficient designs, on real data the other tests have
## not used (mlmRev's Exam and Hsb82, nlme's Oats).
##
## Run from the repository root:
##   LC_ALL=C.UTF-8 LC_COLLATE=C Rscript tests/reference/formula_reference.R
## Writes tests/reference/data/formula_{exam,hsb82,oats}.csv and
## tests/reference/formula_reference.json (about 20 s).
##
## Factors are rebuilt with levels in C (code point) order, as lib.table.columns
## orders them: Exam's schgend becomes boys < girls < mixed (mlmRev orders it
## mixed, boys, girls), Hsb82's sector Catholic < Public, and Hsb82's ordered
## `school` a plain factor (an ordered factor would get polynomial contrasts).
## Each model is fitted to the data read back from the CSV written here, so the
## Python side sees exactly R's inputs.

suppressMessages({
  library(lme4)
  library(lmerTest)
  library(mlmRev)
  library(nlme)
  library(broom.mixed)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")

cfactor <- function(x) {
  x <- as.character(x)
  factor(x, levels = sort(unique(x), method = "radix"))
}

write_data <- function(frame, name) {
  path <- file.path(data_dir, name)
  write.csv(frame, path, row.names = FALSE, fileEncoding = "UTF-8")
  path
}

read_back <- function(path, factors) {
  frame <- read.csv(path, stringsAsFactors = FALSE, check.names = FALSE,
                    colClasses = setNames(rep("character", length(factors)), factors))
  for (f in factors) frame[[f]] <- cfactor(frame[[f]])
  frame
}

exam <- data.frame(
  school = as.character(Exam$school), student = as.character(Exam$student),
  normexam = Exam$normexam, standLRT = Exam$standLRT,
  schgend = as.character(Exam$schgend), sex = as.character(Exam$sex),
  vr = as.character(Exam$vr), type = as.character(Exam$type),
  stringsAsFactors = FALSE
)
hsb <- data.frame(
  school = as.character(Hsb82$school), mAch = Hsb82$mAch, meanses = Hsb82$meanses,
  cses = Hsb82$cses, sector = as.character(Hsb82$sector), stringsAsFactors = FALSE
)
oats <- data.frame(
  Block = as.character(nlme::Oats$Block), Variety = as.character(nlme::Oats$Variety),
  nitro = nlme::Oats$nitro, yield = nlme::Oats$yield, stringsAsFactors = FALSE
)
datasets <- list(
  exam = list(file = write_data(exam, "formula_exam.csv"),
              factors = c("school", "student", "schgend", "sex", "vr", "type")),
  hsb82 = list(file = write_data(hsb, "formula_hsb82.csv"), factors = c("school", "sector")),
  oats = list(file = write_data(oats, "formula_oats.csv"), factors = c("Block", "Variety"))
)
frames <- lapply(datasets, function(d) read_back(d$file, d$factors))

cases <- list(
  list(id = "exam_interaction", data = "exam", reml = TRUE,
       formula = "normexam ~ standLRT * schgend + (standLRT | school)"),
  list(id = "hsb82_cross_level", data = "hsb82", reml = TRUE,
       formula = "mAch ~ meanses * cses + sector * cses + (cses | school)"),
  list(id = "oats_split_plot", data = "oats", reml = TRUE,
       formula = "yield ~ nitro + Variety + (1 | Block/Variety)"),
  list(id = "exam_cat_by_cat", data = "exam", reml = TRUE,
       formula = "normexam ~ sex * vr + (1 | school)"),
  list(id = "exam_uncorrelated", data = "exam", reml = TRUE,
       formula = "normexam ~ standLRT + (standLRT || school)"),
  list(id = "oats_no_intercept", data = "oats", reml = TRUE,
       formula = "yield ~ 0 + Variety + nitro + (1 | Block/Variety)"),
  list(id = "exam_no_intercept_ml", data = "exam", reml = FALSE,
       formula = "normexam ~ 0 + standLRT + sex + standLRT:sex + (1 | school)"),
  list(id = "exam_rank_deficient", data = "exam", reml = TRUE,
       formula = "normexam ~ standLRT + schgend + type + (1 | school)"),
  list(id = "exam_empty_cells", data = "exam", reml = TRUE,
       formula = "normexam ~ schgend * type + (1 | school)"),
  list(id = "hsb82_margin_absent", data = "hsb82", reml = TRUE,
       formula = "mAch ~ cses:sector + (1 | school)")
)

## Model matrices only: R's column names (model.matrix), lme4's kept columns
## (lFormula drops rank-deficient ones) and each column's sum and sum of squares.
matrix_formulas <- c(
  "normexam ~ sex:vr + (1 | school)",
  "normexam ~ 0 + sex:vr + (1 | school)",
  "normexam ~ standLRT:vr + (1 | school)",
  "normexam ~ 0 + standLRT + vr + sex + (1 | school)",
  "normexam ~ vr + standLRT:sex:vr + (1 | school)",
  "normexam ~ (standLRT + sex + vr)^2 + (1 | school)",
  "normexam ~ standLRT * sex * vr - sex:vr + (1 | school)",
  "normexam ~ vr/standLRT + (1 | school)",
  "normexam ~ sex:vr + vr + (1 | school)",
  "normexam ~ 0 + sex + vr:sex + (1 | school)",
  "normexam ~ schgend * type * sex + (1 | school)",
  "normexam ~ standLRT + I_std + (1 | school)"
)

num <- function(x) unname(as.numeric(x))

## Every number the tests compare, from one fitted model.
numbers <- function(m, reml) {
  s <- summary(m)
  co <- s$coefficients
  vc <- as.data.frame(VarCorr(m))
  re <- ranef(m, condVar = FALSE)
  ranef_first <- lapply(names(re), function(g) {
    r <- re[[g]]
    keep <- head(rownames(r), 3)
    list(group = g, levels = keep,
         values = lapply(keep, function(l) as.list(setNames(num(r[l, ]), colnames(r)))))
  })
  list(
    criterion = if (reml) num(REMLcrit(m)) else num(deviance(m)),
    loglik = num(logLik(m)),
    theta = num(getME(m, "theta")),
    sigma = num(sigma(m)),
    fixef = num(fixef(m)),
    se = num(co[, "Std. Error"]),
    df = num(co[, "df"]),
    t = num(co[, "t value"]),
    p = num(co[, "Pr(>|t|)"]),
    varcorr = lapply(seq_len(nrow(vc)), function(i) list(
      grp = vc$grp[i], var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
      var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
      vcov = vc$vcov[i], sdcor = vc$sdcor[i])),
    ranef = ranef_first,
    fixef_corr = unname(lapply(seq_len(nrow(vcov(m))),
                               function(i) num(cov2cor(as.matrix(vcov(m)))[i, ]))),
    scaled_resid_quantiles = num(quantile(residuals(m, scaled = TRUE)))
  )
}

## lme4's default optimizer stops within its tolerance of the optimum; on the flat
## REML surface of a random-slope model that moves theta in its 4th digit. The
## "best" fit runs the same optimizer to much tighter tolerances from there.
TIGHT <- lmerControl(optimizer = "nloptwrap",
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 0,
                                    ftol_rel = 0, maxeval = 100000))

fit_case <- function(case) {
  frame <- frames[[case$data]]
  fo <- as.formula(case$formula)
  msgs <- character()
  quiet <- function(expr) withCallingHandlers(expr, message = function(e) {
    msgs <<- c(msgs, conditionMessage(e)); invokeRestart("muffleMessage") })
  # bquote puts the formula itself, not the name `fo`, on summary()'s "Formula:" line
  m <- quiet(eval(bquote(lmerTest::lmer(.(fo), data = frame, REML = .(case$reml)))))
  best <- quiet(eval(bquote(lmerTest::lmer(.(fo), data = frame, REML = .(case$reml),
                                           control = TIGHT, start = .(getME(m, "theta"))))))
  full <- colnames(model.matrix(lme4::nobars(fo), frame))
  list(
    id = case$id, data = basename(datasets[[case$data]]$file), formula = case$formula,
    reml = case$reml, factors = datasets[[case$data]]$factors,
    messages = I(unique(trimws(msgs))),
    model_matrix_names = full,
    fixef_names = names(fixef(m)),
    nobs = nobs(m),
    ngroups = as.list(ngrps(m)),
    default = numbers(m, case$reml),
    best = numbers(best, case$reml),
    summary_text = if (case$id %in% c("exam_interaction", "hsb82_cross_level"))
      paste(capture.output(print(summary(m), digits = 4)), collapse = "\n") else NULL,
    tidy = if (case$id %in% c("exam_interaction", "hsb82_cross_level", "exam_uncorrelated")) {
      td <- as.data.frame(broom.mixed::tidy(m))
      lapply(seq_len(nrow(td)), function(i) lapply(as.list(td[i, ]), function(v)
        if (is.factor(v)) as.character(v) else if (length(v) && is.na(v)) NULL else v))
    } else NULL
  )
}

matrix_case <- function(formula) {
  frame <- frames$exam
  frame$I_std <- 2 * frame$standLRT + 1  # a column that is a combination of others
  fo <- as.formula(formula)
  full <- model.matrix(lme4::nobars(fo), frame)
  msgs <- character()
  lf <- withCallingHandlers(
    lFormula(fo, data = frame),
    message = function(e) { msgs <<- c(msgs, conditionMessage(e)); invokeRestart("muffleMessage") }
  )
  list(formula = formula, names = colnames(full), kept = colnames(lf$X),
       messages = I(trimws(msgs)),
       col_sums = num(colSums(full)), col_sumsq = num(colSums(full^2)))
}

results <- lapply(cases, fit_case)
matrices <- lapply(matrix_formulas, matrix_case)

out <- list(
  generated_by = sprintf(
    "%s; lme4 %s; lmerTest %s; broom.mixed %s; mlmRev %s; nlme %s; script tests/reference/formula_reference.R",
    R.version.string, packageVersion("lme4"), packageVersion("lmerTest"),
    packageVersion("broom.mixed"), packageVersion("mlmRev"), packageVersion("nlme")),
  factor_levels = "factors rebuilt with factor(x, levels = sort(unique(x), method = 'radix'))",
  cases = results,
  matrices = matrices
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           file.path(out_dir, "formula_reference.json"), useBytes = TRUE)
cat("wrote", length(results), "fits and", length(matrices), "model matrices\n")
