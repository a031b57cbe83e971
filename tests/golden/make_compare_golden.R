# Golden values for whatworks.performance.compare: exact conditional test of two Poisson rates (R stats::poisson.test).
#
# Purpose:    p-values (two-sided, less, greater), rate-ratio estimates and exact 95% / 90% confidence intervals
#             from poisson.test(c(a, b), c(Ta, Tb)) for a grid of counts and exposures, incl. zeros and unequal
#             exposures.
# Regenerate: Rscript tests/golden/make_compare_golden.R   (from the repository root)
# Seed:       set.seed(77) for the random part of the grid.
# Versions:   R version and jsonlite version are written into the JSON.
suppressMessages(library(jsonlite))
set.seed(77)
grid <- data.frame(a = c(120, 0, 5, 30, 1, 250, 17, 0, 9, 400),
                   b = c(150, 4, 0, 30, 1, 180, 40, 7, 9, 380),
                   ta = c(1, 1, 1, 2, 1, 12, 3.5, 1, 1000, 52),
                   tb = c(1, 1, 1, 1, 1, 12, 2, 2, 1500, 52))
rnd <- data.frame(a = rpois(30, 20), b = rpois(30, 25), ta = round(runif(30, 0.5, 3), 2), tb = round(runif(30, 0.5, 3), 2))
grid <- rbind(grid, rnd)
cases <- list()
for (i in seq_len(nrow(grid))) {
  g <- grid[i, ]
  res <- list(a = g$a, b = g$b, exposure_a = g$ta, exposure_b = g$tb)
  for (alt in c("two.sided", "less", "greater")) {
    for (cl in c(0.95, 0.90)) {
      t <- poisson.test(c(g$a, g$b), c(g$ta, g$tb), alternative = alt, conf.level = cl)
      key <- paste0(gsub("\\.", "_", alt), "_", cl * 100)
      res[[key]] <- list(p_value = t$p.value, estimate = unname(t$estimate),
                         ci_low = t$conf.int[1], ci_high = t$conf.int[2])
    }
  }
  cases[[i]] <- res
}
out <- list(purpose = "poisson.test golden values for whatworks.performance.compare",
            generator = "tests/golden/make_compare_golden.R", seed = 77, r_version = R.version.string,
            jsonlite_version = as.character(packageVersion("jsonlite")), cases = cases)
write_json(out, "tests/golden/compare_golden.json", auto_unbox = TRUE, digits = NA, pretty = FALSE)
cat("wrote tests/golden/compare_golden.json\n")
