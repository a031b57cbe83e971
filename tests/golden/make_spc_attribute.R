# Purpose: golden limits for whatworks.performance.attribute (c, u, p, Laney u′ and p′ charts), computed in base R
#   from the qicharts2 formulas (qicharts2 0.7, R/helper.functions.R: qic.c, qic.u, qic.p, qic.up, qic.pp), since
#   qicharts2 itself is not packaged for this machine. Issue 13.
# Regenerate: Rscript tests/golden/make_spc_attribute.R   (writes tests/golden/spc_attribute_golden.json)
# Seed: 2026. Versions: see "r_version" in the JSON (base R only; jsonlite not needed).
set.seed(2026)
n_pts <- 24
series <- list(
  list(name = "small_counts", y = rpois(n_pts, 3), n = rep(1, n_pts)),
  list(name = "rates", y = rpois(n_pts, 40), n = round(runif(n_pts, 800, 1200))),
  list(name = "proportions", y = NA, n = round(runif(n_pts, 50, 400))),
  list(name = "overdispersed", y = NA, n = round(runif(n_pts, 2000, 6000)))
)
series[[3]]$y <- rbinom(n_pts, series[[3]]$n, 0.3)
p_od <- pmin(pmax(rnorm(n_pts, 0.25, 0.03), 0.01), 0.99)
series[[4]]$y <- rbinom(n_pts, series[[4]]$n, p_od)

limits <- function(chart, x, n) {
  if (chart == "c") {
    y <- x; cl <- mean(y); s <- rep(sqrt(cl), length(y))
  } else {
    y <- x / n; cl <- sum(x) / sum(n)
    s <- if (chart %in% c("u", "up")) sqrt(cl / n) else sqrt(cl * (1 - cl) / n)
    if (chart %in% c("up", "pp")) {
      z <- (y - cl) / s
      sigma_z <- mean(abs(diff(z))) / 1.128
      s <- s * sigma_z
    }
  }
  lcl <- cl - 3 * s; ucl <- cl + 3 * s
  lcl[lcl < 0] <- 0
  if (chart %in% c("p", "pp")) ucl[ucl > 1] <- 1
  list(value = y, cl = rep(cl, length(y)), lcl = lcl, ucl = ucl)
}
num <- function(v) paste0("[", paste(sprintf("%.17g", v), collapse = ", "), "]")
charts <- c(c = "c", u = "u", p = "p", u_prime = "up", p_prime = "pp")
out <- c()
for (s in series) {
  parts <- c()
  for (nm in names(charts)) {
    if (nm %in% c("p", "p_prime") && any(s$y > s$n)) next
    l <- limits(charts[[nm]], s$y, s$n)
    parts <- c(parts, sprintf('"%s": {"value": %s, "mean": %s, "lpl": %s, "upl": %s}', nm, num(l$value),
                              num(l$cl), num(l$lcl), num(l$ucl)))
  }
  out <- c(out, sprintf('{"name": "%s", "y": %s, "n": %s, "charts": {%s}}', s$name, num(s$y), num(s$n),
                        paste(parts, collapse = ", ")))
}
json <- sprintf('{"purpose": "qicharts2 limit formulas in base R (issue 13)", "r_version": "%s", "seed": 2026, "series": [%s]}',
                R.version.string, paste(out, collapse = ", "))
writeLines(json, "tests/golden/spc_attribute_golden.json")
