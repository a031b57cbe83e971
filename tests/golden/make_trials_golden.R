# Golden reference values for whatworks.trials (power and trial analysis).
#
# Purpose
#   Produce tests/golden/trials_power.json and tests/golden/trials_estimatr.json: the inputs and the
#   outputs of the R reference implementations that whatworks.trials.power() and
#   whatworks.trials.analyse() must reproduce to 1e-6:
#     * pwr::pwr.t.test / pwr.t2n.test / pwr.2p.test / pwr.2p2n.test   (power, n, effect size)
#     * estimatr::lm_robust (HC2), lm_lin (Lin 2013 covariate adjustment, HC2),
#       lm_robust / lm_lin with clusters (CR2, Bell-McCaffrey degrees of freedom: estimatr's default
#       with clusters), iv_robust (2SLS, HC2; and CR2 with clusters)
#     * stats::glm(poisson) with sandwich::vcovHC(type = "HC0"), MASS::glm.nb (model-based SEs)
#     * clubSandwich::coef_test(vcov = "CR2", test = "Satterthwaite"): an independent check of the CR2
#       standard error and degrees of freedom for the cluster fit.
#
# Solved quantities: pwr solves for n / d / h with uniroot() at its default tolerance
# (.Machine$double.eps^0.25, about 1.2e-4 on the solved quantity). We record that value as
# `pwr_default` and also re-solve pwr's own power function with uniroot(tol = 1e-12) as `value`;
# the tests hold whatworks to 1e-6 against `value` and to 2e-4 against `pwr_default`.
#
# How to regenerate (from the repository root; needs Debian r-cran-pwr r-cran-estimatr r-cran-jsonlite
# r-cran-sandwich r-cran-clubsandwich and the recommended MASS):
#   Rscript tests/golden/make_trials_golden.R
#
# Seed: set.seed(20240607) before the estimatr data are simulated.
# Package versions used for the committed files are written into each JSON under "versions".

suppressPackageStartupMessages({
  library(pwr)
  library(estimatr)
  library(jsonlite)
  library(sandwich)
  library(MASS)
  library(clubSandwich)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
outdir <- if (length(script)) dirname(normalizePath(script)) else "tests/golden"

versions <- list(
  R = R.version.string,
  pwr = as.character(packageVersion("pwr")),
  estimatr = as.character(packageVersion("estimatr")),
  sandwich = as.character(packageVersion("sandwich")),
  MASS = as.character(packageVersion("MASS")),
  clubSandwich = as.character(packageVersion("clubSandwich")),
  jsonlite = as.character(packageVersion("jsonlite"))
)

tight <- function(f, lower, upper) uniroot(f, c(lower, upper), tol = 1e-12)$root

# ---------------------------------------------------------------- power
power_cases <- list()
add_case <- function(case) power_cases[[length(power_cases) + 1]] <<- case

# Two-sample t test: power from n and d
for (args in list(list(n = 20, d = 0.5, a = 0.05, alt = "two.sided"),
                  list(n = 64, d = 0.5, a = 0.05, alt = "two.sided"),
                  list(n = 150, d = 0.2, a = 0.01, alt = "two.sided"),
                  list(n = 30, d = 0.4, a = 0.05, alt = "greater"),
                  list(n = 30, d = -0.4, a = 0.05, alt = "less"))) {
  p <- pwr.t.test(n = args$n, d = args$d, sig.level = args$a, alternative = args$alt)$power
  add_case(list(test = "t", solve = "power", n = args$n, effect = args$d, alpha = args$a,
                alternative = args$alt, value = p, pwr_default = p))
}
# n from d and power
for (args in list(list(d = 0.5, pw = 0.8, a = 0.05), list(d = 0.3, pw = 0.9, a = 0.05), list(d = 0.8, pw = 0.8, a = 0.01))) {
  r <- pwr.t.test(d = args$d, power = args$pw, sig.level = args$a)$n
  v <- tight(function(n) pwr.t.test(n = n, d = args$d, sig.level = args$a)$power - args$pw, 2 + 1e-10, 1e9)
  add_case(list(test = "t", solve = "n", effect = args$d, power = args$pw, alpha = args$a,
                alternative = "two.sided", value = v, pwr_default = r))
}
# d (minimum detectable effect) from n and power
for (args in list(list(n = 50, pw = 0.8, a = 0.05), list(n = 200, pw = 0.9, a = 0.05))) {
  r <- pwr.t.test(n = args$n, power = args$pw, sig.level = args$a)$d
  v <- tight(function(d) pwr.t.test(n = args$n, d = d, sig.level = args$a)$power - args$pw, 1e-7, 10)
  add_case(list(test = "t", solve = "effect", n = args$n, power = args$pw, alpha = args$a,
                alternative = "two.sided", value = v, pwr_default = r))
}
# Unequal groups: pwr.t2n.test
for (args in list(list(n1 = 40, n2 = 80, d = 0.5), list(n1 = 25, n2 = 100, d = 0.6))) {
  p <- pwr.t2n.test(n1 = args$n1, n2 = args$n2, d = args$d, sig.level = 0.05)$power
  add_case(list(test = "t", solve = "power", n = args$n1, ratio = args$n2 / args$n1, effect = args$d,
                alpha = 0.05, alternative = "two.sided", value = p, pwr_default = p))
}
# Proportions: pwr.2p.test (arcsine h)
for (args in list(list(p1 = 0.30, p2 = 0.20, n = 200), list(p1 = 0.55, p2 = 0.45, n = 400),
                  list(p1 = 0.10, p2 = 0.05, n = 300))) {
  h <- ES.h(args$p1, args$p2)
  p <- pwr.2p.test(h = h, n = args$n, sig.level = 0.05)$power
  add_case(list(test = "proportions", solve = "power", p1 = args$p1, p2 = args$p2, h = h, n = args$n,
                alpha = 0.05, alternative = "two.sided", value = p, pwr_default = p))
}
for (args in list(list(p1 = 0.30, p2 = 0.20, pw = 0.8), list(p1 = 0.12, p2 = 0.08, pw = 0.9))) {
  h <- ES.h(args$p1, args$p2)
  r <- pwr.2p.test(h = h, power = args$pw, sig.level = 0.05)$n
  v <- tight(function(n) pwr.2p.test(h = h, n = n, sig.level = 0.05)$power - args$pw, 2 + 1e-10, 1e9)
  add_case(list(test = "proportions", solve = "n", p1 = args$p1, p2 = args$p2, h = h, power = args$pw,
                alpha = 0.05, alternative = "two.sided", value = v, pwr_default = r))
}
# h from n and power
r <- pwr.2p.test(n = 250, power = 0.8, sig.level = 0.05)$h
v <- tight(function(h) pwr.2p.test(h = h, n = 250, sig.level = 0.05)$power - 0.8, 1e-10, 10)
add_case(list(test = "proportions", solve = "effect", n = 250, power = 0.8, alpha = 0.05,
              alternative = "two.sided", value = v, pwr_default = r))
# Unequal groups: pwr.2p2n.test
for (args in list(list(p1 = 0.30, p2 = 0.20, n1 = 150, n2 = 300), list(p1 = 0.6, p2 = 0.5, n1 = 500, n2 = 250))) {
  h <- ES.h(args$p1, args$p2)
  p <- pwr.2p2n.test(h = h, n1 = args$n1, n2 = args$n2, sig.level = 0.05)$power
  add_case(list(test = "proportions", solve = "power", p1 = args$p1, p2 = args$p2, h = h, n = args$n1,
                ratio = args$n2 / args$n1, alpha = 0.05, alternative = "two.sided", value = p, pwr_default = p))
}
r <- pwr.2p2n.test(h = ES.h(0.3, 0.2), n1 = 200, power = 0.8, sig.level = 0.05)$n2
v <- tight(function(n2) pwr.2p2n.test(h = ES.h(0.3, 0.2), n1 = 200, n2 = n2, sig.level = 0.05)$power - 0.8,
           2 + 1e-10, 1e9)
add_case(list(test = "proportions", solve = "n2", p1 = 0.3, p2 = 0.2, h = ES.h(0.3, 0.2), n = 200, power = 0.8,
              alpha = 0.05, alternative = "two.sided", value = v, pwr_default = r))

write_json(list(purpose = "pwr reference values for whatworks.trials.power",
                versions = versions, cases = power_cases),
           file.path(outdir, "trials_power.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE)

# ---------------------------------------------------------------- estimatr
set.seed(20240607)
n <- 240
J <- 40
cl <- rep(seq_len(J), each = n / J)
x1 <- rnorm(n)
x2 <- rbinom(n, 1, 0.4)
u_cl <- rnorm(J, sd = 0.7)[cl]
z <- sample(rep(c(0, 1), n / 2))                       # individual complete randomisation
zc <- sample(rep(c(0, 1), J / 2))[cl]                  # cluster randomisation
complier <- rbinom(n, 1, 0.7)
d <- ifelse(complier == 1, z, 0)                        # one-sided non-compliance
y <- 1 + 0.5 * d + 0.8 * x1 - 0.4 * x2 + 0.3 * d * x1 + u_cl + rnorm(n, sd = 1 + 0.5 * z)
yc <- 2 - 0.6 * zc + 0.5 * x1 + u_cl + rnorm(n)
mu_cnt <- exp(1.6 - 0.35 * z + 0.3 * x1)
count <- rnbinom(n, size = 2.5, mu = mu_cnt)
dat <- data.frame(y = y, yc = yc, count = count, z = z, zc = zc, d = d, x1 = x1, x2 = x2, cl = cl)

tidy_fit <- function(fit) {
  td <- tidy(fit)
  lapply(seq_len(nrow(td)), function(i) list(term = td$term[i], estimate = td$estimate[i],
                                             std_error = td$std.error[i], df = td$df[i],
                                             p_value = td$p.value[i], conf_low = td$conf.low[i],
                                             conf_high = td$conf.high[i]))
}
fits <- list()
fits$hc2 <- list(call = "lm_robust(y ~ z, data = dat, se_type = 'HC2')",
                 outcome = "y", treatment = "z", terms = tidy_fit(lm_robust(y ~ z, data = dat, se_type = "HC2")))
fits$lin <- list(call = "lm_lin(y ~ z, covariates = ~ x1 + x2, data = dat, se_type = 'HC2')",
                 outcome = "y", treatment = "z", covariates = c("x1", "x2"),
                 terms = tidy_fit(lm_lin(y ~ z, covariates = ~ x1 + x2, data = dat, se_type = "HC2")))
fits$cr2 <- list(call = "lm_robust(yc ~ zc, data = dat, clusters = cl)  # se_type CR2 by default",
                 outcome = "yc", treatment = "zc", cluster = "cl",
                 terms = tidy_fit(lm_robust(yc ~ zc, data = dat, clusters = cl)))
fits$lin_cr2 <- list(call = "lm_lin(yc ~ zc, covariates = ~ x1, data = dat, clusters = cl)",
                     outcome = "yc", treatment = "zc", covariates = c("x1"), cluster = "cl",
                     terms = tidy_fit(lm_lin(yc ~ zc, covariates = ~ x1, data = dat, clusters = cl)))
fits$iv_hc2 <- list(call = "iv_robust(y ~ d | z, data = dat, se_type = 'HC2')",
                    outcome = "y", treatment = "d", instrument = "z",
                    terms = tidy_fit(iv_robust(y ~ d | z, data = dat, se_type = "HC2")))
fits$iv_cov_hc2 <- list(call = "iv_robust(y ~ d + x1 + x2 | z + x1 + x2, data = dat, se_type = 'HC2')",
                        outcome = "y", treatment = "d", instrument = "z", covariates = c("x1", "x2"),
                        terms = tidy_fit(iv_robust(y ~ d + x1 + x2 | z + x1 + x2, data = dat, se_type = "HC2")))
fits$iv_cr2 <- list(call = "iv_robust(y ~ d | z, data = dat, clusters = cl)",
                    outcome = "y", treatment = "d", instrument = "z", cluster = "cl",
                    terms = tidy_fit(iv_robust(y ~ d | z, data = dat, clusters = cl)))

# Independent check of CR2 and its Satterthwaite (Bell-McCaffrey) df: clubSandwich.
ols <- lm(yc ~ zc, data = dat)
ct <- coef_test(ols, vcov = "CR2", cluster = dat$cl, test = "Satterthwaite")
club <- list(call = "coef_test(lm(yc ~ zc), vcov = 'CR2', cluster = cl, test = 'Satterthwaite')",
             term = "zc", std_error = ct$SE[2], df = ct$df_Satt[2])

# Count models
pois <- glm(count ~ z + x1, family = poisson, data = dat)
vc <- vcovHC(pois, type = "HC0")
counts <- list()
counts$poisson_hc0 <- list(call = "glm(count ~ z + x1, family = poisson); sandwich::vcovHC(type = 'HC0')",
                           outcome = "count", treatment = "z", covariates = c("x1"),
                           estimate = unname(coef(pois)["z"]), std_error = sqrt(vc["z", "z"]))
nb <- glm.nb(count ~ z + x1, data = dat, control = glm.control(epsilon = 1e-12, maxit = 200))
counts$negbin <- list(call = "MASS::glm.nb(count ~ z + x1), model-based SE",
                      outcome = "count", treatment = "z", covariates = c("x1"),
                      estimate = unname(coef(nb)["z"]), std_error = unname(sqrt(diag(vcov(nb)))["z"]),
                      theta = nb$theta)

write_json(list(purpose = "estimatr / glm reference values for whatworks.trials.analyse",
                seed = 20240607, versions = versions, data = dat, fits = fits,
                clubsandwich = club, counts = counts),
           file.path(outdir, "trials_estimatr.json"), auto_unbox = TRUE, digits = NA, pretty = TRUE,
           dataframe = "columns")
cat("wrote", file.path(outdir, "trials_power.json"), "and", file.path(outdir, "trials_estimatr.json"), "\n")
