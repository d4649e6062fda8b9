# Real data with labels that restart within groups, for the nesting detector's tests
# (tests/test_nesting.py) and the role guesser's (tests/test_columns.py).
#
#   LC_ALL=C.UTF-8 Rscript tests/reference/classroom_data.R
#
# Writes, under tests/reference/data/:
#   classroom_exam.csv    mlmRev's Exam: 4,059 pupils in 65 schools. `student` is a pupil
#                         number that restarts in every school (the same number occurs in
#                         up to 6+ schools); schgend, schavg, type and vr are constant
#                         within school (school attributes).
#   classroom_oxboys.csv  nlme's Oxboys: 26 boys measured on 9 occasions; `Occasion` (1..9)
#                         restarts within every `Subject`, one row per (Subject, Occasion).
# Versions: R 4.2.2, mlmRev 1.0-8, nlme 3.1-162 (see sessionInfo() printed at the end).
suppressPackageStartupMessages({
  library(mlmRev)
  library(nlme)
})
out <- file.path("tests", "reference", "data")
exam <- mlmRev::Exam
# Factor labels are numbers for school and student: write them as numbers, as a user's
# export would (write.csv would quote factor columns).
exam$school <- as.integer(as.character(exam$school))
exam$student <- as.integer(as.character(exam$student))
write.csv(exam, file.path(out, "classroom_exam.csv"), row.names = FALSE, fileEncoding = "UTF-8")
ox <- as.data.frame(nlme::Oxboys)
ox$Subject <- as.integer(as.character(ox$Subject))
ox$Occasion <- as.integer(as.character(ox$Occasion))
write.csv(ox, file.path(out, "classroom_oxboys.csv"), row.names = FALSE, fileEncoding = "UTF-8")

# What the tests assert, counted here too.
cells <- nrow(unique(exam[, c("school", "student")]))
cat("Exam rows", nrow(exam), "schools", nlevels(factor(exam$school)),
    "student labels", nlevels(factor(exam$student)), "school:student cells", cells, "\n")
cat("Oxboys rows", nrow(ox), "subjects", length(unique(ox$Subject)),
    "occasions", length(unique(ox$Occasion)), "\n")
print(sessionInfo())
