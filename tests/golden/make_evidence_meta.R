# Golden reference values for whatworks.evidence.meta() and whatworks.evidence.effect_size().
#
# Purpose
#   Produce tests/golden/evidence_meta_golden.json: the inputs (yi, vi) and the outputs of R metafor's rma()
#   (estimate, se, ci, tau2, I2, H2, QE and its p-value, prediction interval) for methods REML, DL, PM and FE,
#   each with test = "z" and test = "knha" (Knapp-Hartung), on three datasets that ship with metafor:
#     * dat.bcg          BCG vaccine trials, escalc(measure = "RR") from the 2x2 counts (log risk ratios)
#     * dat.normand1999  stroke rehabilitation, escalc(measure = "MD") (mean differences)
#     * dat.hackshaw1998 passive smoking and lung cancer, log odds ratios as published (yi, vi)
#   plus Egger's regression test (regtest(model = "lm", predictor = "sei"): classic weighted regression of yi on
#   sqrt(vi)), and escalc() effect sizes from counts: RR and OR from 2x2 tables (with a zero cell, so metafor's
#   default add = 1/2, to = "only0" continuity correction applies) and IRR from events and person-time.
#
# Convergence: metafor's iterative estimators (REML Fisher scoring, PM root-finding) stop at threshold 1e-5 by
# default; here control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000) so the golden tau2 is the exact
# solution to well within the tests' 1e-6 tolerance.
#
# How to regenerate (from the repository root; needs Debian r-cran-metafor and r-cran-jsonlite):
#   Rscript tests/golden/make_evidence_meta.R
#
# No random numbers are used. Package versions are written into the JSON under "versions".

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

ctrl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)

data(dat.bcg, package = "metafor")
data(dat.normand1999, package = "metafor")
data(dat.hackshaw1998, package = "metafor")

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
normand <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                  data = dat.normand1999)
hackshaw <- dat.hackshaw1998

datasets <- list(
  bcg = list(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi), label = as.character(bcg$author)),
  normand1999 = list(yi = as.numeric(normand$yi), vi = as.numeric(normand$vi), label = as.character(normand$source)),
  hackshaw1998 = list(yi = as.numeric(hackshaw$yi), vi = as.numeric(hackshaw$vi), label = as.character(hackshaw$author))
)

fits <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  for (method in c("REML", "DL", "PM", "FE")) {
    for (test in c("z", "knha")) {
      res <- rma(yi = d$yi, vi = d$vi, method = method, test = test, control = ctrl)
      pr <- predict(res)
      pi_lb <- if (!is.null(pr$pi.lb)) pr$pi.lb else pr$ci.lb
      pi_ub <- if (!is.null(pr$pi.ub)) pr$pi.ub else pr$ci.ub
      fits[[length(fits) + 1]] <- list(
        dataset = name, method = method, knha = (test == "knha"),
        estimate = as.numeric(res$beta), se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub,
        statistic = res$zval, p_value = res$pval,
        tau2 = res$tau2, I2 = res$I2, H2 = res$H2, Q = res$QE, Q_p_value = res$QEp,
        pi_low = pi_lb, pi_high = pi_ub)
    }
  }
}

eggers <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  res <- rma(yi = d$yi, vi = d$vi, method = "FE")
  eg <- regtest(res, model = "lm", predictor = "sei")
  eggers[[name]] <- list(statistic = eg$zval, p_value = eg$pval, df = eg$dfs,
                         intercept = as.numeric(coef(eg$fit)[1]))
}

# effect sizes from counts
tab <- data.frame(ai = c(4, 0, 12), bi = c(119, 50, 300), ci = c(11, 3, 29), di = c(128, 47, 274))
rr <- escalc(measure = "RR", ai = ai, bi = bi, ci = ci, di = di, data = tab)
or <- escalc(measure = "OR", ai = ai, bi = bi, ci = ci, di = di, data = tab)
rates <- data.frame(x1i = c(30, 0, 12), t1i = c(1000, 800, 450), x2i = c(45, 4, 20), t2i = c(1100, 790, 430))
irr <- escalc(measure = "IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = rates)

out <- list(
  purpose = "metafor rma() and escalc() reference values for whatworks.evidence (see header of make_evidence_meta.R)",
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  control = ctrl,
  datasets = datasets,
  fits = fits,
  egger = eggers,
  escalc = list(
    tables = as.list(tab), rr = list(yi = as.numeric(rr$yi), vi = as.numeric(rr$vi)),
    or = list(yi = as.numeric(or$yi), vi = as.numeric(or$vi)),
    rates = as.list(rates), irr = list(yi = as.numeric(irr$yi), vi = as.numeric(irr$vi))
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/golden/evidence_meta_golden.json")
cat("wrote tests/golden/evidence_meta_golden.json\n")
