# Golden reference for whatworks.trials.analyse when only the control arm is constant.
#
# Purpose
#   Produce tests/golden/trials_constant_control.json: a 12-unit trial (6 clusters of 2 units) in which every
#   control unit has the same outcome (0.2) and the treated outcomes vary, with R estimatr::lm_robust fitted
#   with se_type = "HC2" (no clusters) and se_type = "CR2" (clusters; Bell-McCaffrey df). The intercept's
#   variance is exactly 0 (the control mean has no variation to measure); whatworks' matrix products round
#   it to about -1e-33, which used to reach the user as numpy's "invalid value encountered in sqrt" and a NaN
#   SE. The treatment effect's SE is the treatment arm's own and must equal estimatr's; the intercept's SE
#   must be 0, as estimatr reports it. (estimatr also reports the intercept's t = Inf and p = 0; whatworks
#   gives NaN for both, because a zero SE is the absence of variation, not evidence.)
#
# How to regenerate (from the repository root; needs Debian r-cran-estimatr and r-cran-jsonlite):
#   Rscript tests/golden/make_trials_constant_control.R
#
# Seed: none (the data are written out by hand below; nothing is random).
# Package versions used for the committed file are written into the JSON under "versions".

suppressPackageStartupMessages({
  library(estimatr)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
outdir <- if (length(script)) dirname(normalizePath(script)) else "tests/golden"

versions <- list(
  R = R.version.string,
  estimatr = as.character(packageVersion("estimatr")),
  jsonlite = as.character(packageVersion("jsonlite"))
)

dat <- data.frame(
  y = c(rep(0.2, 6), 4.8, 4.4, 3.2, 3.9, 0.3, 3.6),
  z = rep(c(0L, 1L), each = 6),
  cl = rep(1:6, each = 2)
)

tidy_fit <- function(fit) {
  td <- tidy(fit)
  # the statistic is left out, and the tests do not compare the intercept's p-value: estimatr's t = Inf and
  # p = 0 there are NaN in whatworks (see above)
  lapply(seq_len(nrow(td)), function(i) list(term = td$term[i], estimate = td$estimate[i],
                                             std_error = td$std.error[i], df = td$df[i],
                                             p_value = td$p.value[i], conf_low = td$conf.low[i],
                                             conf_high = td$conf.high[i]))
}

hc2 <- lm_robust(y ~ z, data = dat, se_type = "HC2")
cr2 <- lm_robust(y ~ z, data = dat, clusters = cl, se_type = "CR2")
fits <- list(
  hc2 = list(outcome = "y", treatment = "z", cluster = NULL, terms = tidy_fit(hc2),
             intercept_variance = unname(hc2$vcov[1, 1])),
  cr2 = list(outcome = "y", treatment = "z", cluster = "cl", terms = tidy_fit(cr2),
             intercept_variance = unname(cr2$vcov[1, 1]))
)

out <- file.path(outdir, "trials_constant_control.json")
write_json(list(purpose = "estimatr lm_robust (HC2, CR2) on a trial whose control arm is constant",
                seed = NULL, versions = versions, data = dat, fits = fits),
           out, auto_unbox = TRUE, digits = NA, pretty = TRUE, dataframe = "columns", null = "null")
cat("wrote", out, "\n")
