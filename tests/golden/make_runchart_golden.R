# Golden values for whatworks.performance.runchart (Anhøj rules, as in qicharts2).
#
# Purpose:   thresholds of the two Anhøj rules for n = 10..100 useful points, computed with the expressions qicharts2
#            uses in its runs analysis (longest run: Schilling 2012; crossings: Chen 2010):
#              longest.run.max <- round(log2(n.useful) + 3)
#              n.crossings.min <- stats::qbinom(0.05, max(n.useful - 1, 0), 0.5)
#            plus the full runs analysis of 40 seeded example series (median centre, points on the median dropped,
#            runs by rle(), crossings = runs - 1), written the same way in base R.
#            qicharts2 itself is not installed here; the code below reproduces its formulas in base R.
# Regenerate: Rscript tests/golden/make_runchart_golden.R   (from the repository root)
# Seed:       set.seed(4242)
# Versions:   written into the JSON (R version; jsonlite version).
suppressMessages(library(jsonlite))
set.seed(4242)

n <- 10:100
thresholds <- data.frame(
  n = n,
  longest_run_max = round(log2(n) + 3),
  n_crossings_min = qbinom(0.05, pmax(n - 1, 0), 0.5)
)

runs_analysis <- function(y) {
  cl <- median(y)
  runs <- sign(y - cl)
  runs <- runs[runs != 0 & !is.na(runs)]
  n.useful <- length(runs)
  run.lengths <- rle(runs)$lengths
  n.runs <- length(run.lengths)
  longest.run <- max(run.lengths)
  longest.run.max <- round(log2(n.useful) + 3)
  n.crossings <- max(n.runs - 1, 0)
  n.crossings.min <- qbinom(0.05, max(n.useful - 1, 0), 0.5)
  list(median = cl, n_useful = n.useful, longest_run = longest.run, longest_run_max = longest.run.max,
       n_crossings = n.crossings, n_crossings_min = n.crossings.min,
       runs_signal = longest.run > longest.run.max || n.crossings < n.crossings.min)
}

examples <- list()
for (i in 1:40) {
  len <- sample(12:60, 1)
  kind <- i %% 4
  y <- if (kind == 0) rpois(len, 4) else if (kind == 1) rpois(len, 20) + c(rep(0, len %/% 2), rep(8, len - len %/% 2)) else if (kind == 2) round(cumsum(rnorm(len)), 1) else rep(c(1, 9), length.out = len)
  examples[[i]] <- c(list(id = i, values = y), runs_analysis(y))
}

out <- list(
  purpose = "Anhøj run-chart thresholds and runs analyses (qicharts2 formulas) for whatworks.performance.runchart",
  generator = "tests/golden/make_runchart_golden.R",
  seed = 4242,
  r_version = R.version.string,
  jsonlite_version = as.character(packageVersion("jsonlite")),
  thresholds = thresholds,
  examples = examples
)
write_json(out, "tests/golden/runchart_golden.json", auto_unbox = TRUE, digits = NA, pretty = FALSE)
cat("wrote tests/golden/runchart_golden.json\n")
