# Golden values for whatworks.performance.funnel: Spiegelhalter (2005) over-dispersed funnel limits.
#
# Purpose:    an independent base-R implementation of the FunnelPlotR formulas (arcsine transform for proportions,
#             square-root "CQC" transform for ratios and rates, z-scores winsorised at the 10th/90th percentiles with
#             R's quantile type 7, phi = mean(z_w^2), tau2 = max(0, (I*phi - (I-1)) / (sum(w) - sum(w^2)/sum(w))),
#             limits target -/+ z * sqrt(s^2 + tau2) transformed back) on seeded data sets, plus a cross-check of the
#             tau2 formula against metafor::rma(method = "DL") when the target is the weighted mean and nothing is
#             winsorised (then the two are the same estimator).
# Regenerate: Rscript tests/golden/make_funnel_golden.R   (from the repository root)
# Seed:       set.seed(2005)
# Versions:   R, metafor and jsonlite versions are written into the JSON.
suppressMessages({library(jsonlite); library(metafor)})
set.seed(2005)

funnel_ref <- function(num, den, kind, target = NULL, trim = 0.1, od = TRUE) {
  if (is.null(target)) target <- if (kind == "ratio") 1 else sum(num) / sum(den)
  if (kind == "proportion") {
    y <- asin(sqrt(num / den)); s <- 1 / (2 * sqrt(den)); t <- asin(sqrt(target))
    back <- function(v) sin(pmin(pmax(v, 0), pi / 2))^2
  } else {
    e <- if (kind == "rate") target * den else den
    y <- sqrt(num / e); s <- 1 / (2 * sqrt(e)); t <- if (kind == "rate") 1 else sqrt(target)
    back <- function(v) pmax(v, 0)^2 * (if (kind == "rate") target else 1)
  }
  z <- (y - t) / s
  if (trim > 0) {
    lz <- quantile(z, trim); uz <- quantile(z, 1 - trim)
    zw <- ifelse(z < lz, lz, ifelse(z > uz, uz, z))
  } else zw <- z
  n <- length(z)
  phi <- mean(zw^2)
  w <- 1 / s^2
  tau2 <- if (n * phi < n - 1) 0 else max(0, (n * phi - (n - 1)) / (sum(w) - sum(w^2) / sum(w)))
  if (!od) tau2 <- 0
  sd <- sqrt(s^2 + tau2)
  list(kind = kind, numerator = num, denominator = den, trim = trim, overdispersion = od, target = target,
       phi = phi, tau2 = tau2,
       lower_95 = unname(back(t - qnorm(0.975) * sd)), upper_95 = unname(back(t + qnorm(0.975) * sd)),
       lower_998 = unname(back(t - qnorm(0.999) * sd)), upper_998 = unname(back(t + qnorm(0.999) * sd)))
}

cases <- list()
# proportions: solved crimes by area, over-dispersed (area effects on the logit scale)
n1 <- round(runif(60, 80, 2000)); p1 <- plogis(qlogis(0.12) + rnorm(60, 0, 0.35))
cases[[1]] <- funnel_ref(rbinom(60, n1, p1), n1, "proportion")
# proportions without extra variation
n2 <- round(runif(40, 50, 800))
cases[[2]] <- funnel_ref(rbinom(40, n2, 0.3), n2, "proportion")
cases[[3]] <- funnel_ref(cases[[2]]$numerator, n2, "proportion", od = FALSE)
# rates: counts per population, over-dispersed, with a zero count
pop <- round(runif(45, 1200, 3000)); lam <- pop * 0.02 * exp(rnorm(45, 0, 0.3))
cnt <- rpois(45, lam); cnt[3] <- 0
cases[[4]] <- funnel_ref(cnt, pop, "rate")
cases[[5]] <- funnel_ref(cnt, pop, "rate", target = 0.025, trim = 0.05)
# ratios: observed / expected
ex <- runif(35, 5, 120)
cases[[6]] <- funnel_ref(rpois(35, ex * exp(rnorm(35, 0, 0.2))), ex, "ratio")

# metafor DL cross-check: target = weighted mean on the sqrt scale, no winsorising
ob <- cases[[6]]$numerator; y <- sqrt(ob / ex); s <- 1 / (2 * sqrt(ex)); w <- 1 / s^2
ybar <- sum(w * y) / sum(w)
dl <- rma(yi = y, vi = s^2, method = "DL")
ref_dl <- funnel_ref(ob, ex, "ratio", target = ybar^2, trim = 0)
metafor_check <- list(numerator = ob, denominator = ex, target = ybar^2, metafor_tau2 = dl$tau2,
                      formula_tau2 = ref_dl$tau2)

out <- list(purpose = "Funnel limits (Spiegelhalter 2005, FunnelPlotR formulas) for whatworks.performance.funnel",
            generator = "tests/golden/make_funnel_golden.R", seed = 2005, r_version = R.version.string,
            metafor_version = as.character(packageVersion("metafor")),
            jsonlite_version = as.character(packageVersion("jsonlite")),
            cases = cases, metafor_check = metafor_check)
write_json(out, "tests/golden/funnel_golden.json", auto_unbox = TRUE, digits = NA, pretty = FALSE)
cat("wrote tests/golden/funnel_golden.json; DL tau2", dl$tau2, "formula", ref_dl$tau2, "\n")
for (c in cases) cat(c$kind, "phi", c$phi, "tau2", c$tau2, "\n")
