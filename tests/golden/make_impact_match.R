# Golden reference for whatworks.impact.match: R MatchIt's nearest-neighbour matching on MatchIt's lalonde.
#
# Purpose
#   Write tests/golden/impact_match_golden.json holding the lalonde data (614 units), MatchIt's propensity score
#   (glm logit: treat ~ age + educ + race + married + nodegree + re74 + re75), MatchIt's 1:1 nearest pairs
#   (without replacement, m.order = "largest", MatchIt's defaults), MatchIt's balance summary before and after
#   (std. mean diff. and variance ratio), and the matched effect on re78 with pair-clustered SEs
#   (lm(re78 ~ treat, weights) + sandwich::vcovCL(cluster = ~subclass), HC1 adjustment).
#   whatworks takes the truly nearest control (REFERENCE.md: MatchIt 4.5.1 does not); the test shows both pair
#   sets' balance and checks that whatworks reproduces the score, the SE machinery and the balance table on MatchIt's pairs.
# Regenerate (from the repository root; Debian r-cran-matchit r-cran-sandwich r-cran-jsonlite):
#   Rscript tests/golden/make_impact_match.R
# Seed: none needed (no randomness: greedy matching with deterministic order).
# Versions: written into the JSON under "versions".

suppressPackageStartupMessages({
  library(MatchIt)
  library(sandwich)
  library(jsonlite)
})
data("lalonde", package = "MatchIt")
d <- lalonde
d$id <- rownames(d)
f <- treat ~ age + educ + race + married + nodegree + re74 + re75
m <- matchit(f, data = d, method = "nearest", distance = "glm")
s <- summary(m, un = TRUE)
md <- match.data(m)
fit <- lm(re78 ~ treat, data = md, weights = weights)
V <- vcovCL(fit, cluster = ~subclass)
mm <- m$match.matrix
pairs <- data.frame(treated_id = rownames(mm), control_id = mm[, 1], stringsAsFactors = FALSE)
pairs$distance <- abs(m$distance[pairs$treated_id] - m$distance[pairs$control_id])
bal <- function(tab) {
  data.frame(covariate = rownames(tab), smd = tab[, "Std. Mean Diff."], var_ratio = tab[, "Var. Ratio"])
}
naive <- mean(d$re78[d$treat == 1]) - mean(d$re78[d$treat == 0])
out <- list(
  purpose = "MatchIt nearest (1:1, no replacement, largest first) on lalonde, beside whatworks' greedy-nearest pairs",
  versions = list(R = R.version.string, MatchIt = as.character(packageVersion("MatchIt")),
                  sandwich = as.character(packageVersion("sandwich"))),
  data = d,
  formula = deparse(f),
  distance = unname(m$distance),
  matchit_pairs = pairs,
  matchit_mean_abs_distance = mean(pairs$distance),
  balance_before = bal(s$sum.all),
  balance_after = bal(s$sum.matched),
  naive_estimate = naive,
  matchit_estimate = unname(coef(fit)["treat"]),
  matchit_se_vcovCL = unname(sqrt(V["treat", "treat"])),
  experimental_estimate = 1794
)
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE, na = "null"), "tests/golden/impact_match_golden.json")
cat("wrote tests/golden/impact_match_golden.json\n")
