# Golden values for whatworks.people.stop_search: rate-ratio and proportion intervals computed by R.
#
# Purpose:    (1) exact conditional CIs for search-rate ratios (R stats::poisson.test on two counts with
#             populations as exposures), which whatworks.people.rate_ratio_ci(method="exact") must match;
#             (2) Wald log-rate-ratio CIs exp(log RR +- z sqrt(1/a + 1/b)) computed directly in R;
#             (3) Wilson intervals for find rates (stats::prop.test with correct = FALSE), which
#             whatworks.people._common.wilson must match.
# Regenerate: Rscript tests/golden/make_people_stopsearch.R   (from the repository root)
# Seed:       set.seed(2011) for the random part of the grid.
# Versions:   R version and jsonlite version are written into the JSON.
suppressMessages(library(jsonlite))
set.seed(2011)
grid <- data.frame(a = c(1728, 880, 387, 3, 0, 250, 12),
                   pa = c(74000, 93500, 41400, 1200, 900, 5000, 800),
                   b = c(3165, 3165, 3165, 40, 25, 250, 5),
                   pb = c(511000, 511000, 511000, 30000, 30000, 5000, 2000))
rnd <- data.frame(a = rpois(20, 60), pa = round(runif(20, 2000, 50000)), b = rpois(20, 200), pb = round(runif(20, 50000, 400000)))
grid <- rbind(grid, rnd)
rr <- list()
for (i in seq_len(nrow(grid))) {
  g <- grid[i, ]
  res <- list(a = g$a, pop_a = g$pa, b = g$b, pop_b = g$pb)
  for (cl in c(0.95, 0.90)) {
    t <- poisson.test(c(g$a, g$b), c(g$pa, g$pb), conf.level = cl)
    z <- qnorm(1 - (1 - cl) / 2)
    est <- (g$a / g$pa) / (g$b / g$pb)
    wl <- if (g$a > 0) exp(log(est) + c(-1, 1) * z * sqrt(1 / g$a + 1 / g$b)) else c(NA, NA)
    res[[paste0("level_", cl * 100)]] <- list(estimate = unname(t$estimate), exact_low = t$conf.int[1],
                                              exact_high = t$conf.int[2], waldlog_low = wl[1], waldlog_high = wl[2])
  }
  rr[[i]] <- res
}
props <- data.frame(x = c(0, 1, 5, 50, 525, 1000, 37), n = c(10, 10, 20, 200, 1728, 1000, 37))
wil <- list()
for (i in seq_len(nrow(props))) {
  t <- prop.test(props$x[i], props$n[i], correct = FALSE, conf.level = 0.95)
  wil[[i]] <- list(x = props$x[i], n = props$n[i], ci_low = t$conf.int[1], ci_high = t$conf.int[2])
}
out <- list(purpose = "rate-ratio (exact conditional, Wald log) and Wilson intervals for people.stop_search",
            generated_by = "tests/golden/make_people_stopsearch.R", seed = 2011,
            r_version = R.version.string, jsonlite_version = as.character(packageVersion("jsonlite")),
            rate_ratio = rr, wilson = wil)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "tests/golden/people_stopsearch_golden.json")
