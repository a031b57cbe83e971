# Golden values for whatworks.survey (issue 15): design-based estimates, raking, calibration, post-stratification.
#
# Purpose:    R's survey package on its own `api` data (apistrat: stratified by school type, fpc; apiclus1: one-stage
#             cluster sample of school districts, fpc) — svymean / svytotal (with deff), svyby(svymean), svyciprop
#             (method = "logit"), rake(), calibrate() (linear and raking), postStratify() and svyglm(quasibinomial);
#             the inputs are written
#             into the JSON with the outputs so the Python test needs no R.
# Regenerate: Rscript tests/golden/make_survey_golden.R   (from the repository root) -> tests/golden/survey_golden.json
# Seed:       none (no randomness).
# Versions:   R, survey and jsonlite versions are written into the JSON.
suppressMessages({library(survey); library(jsonlite)})
data(api)
keep <- c("cds", "stype", "sch.wide", "awards", "api00", "api99", "enroll", "dnum", "pw", "fpc", "ell", "meals", "mobility")
stat <- function(s, ...) {
  out <- list(estimate = unname(coef(s)), se = unname(SE(s)))
  d <- attr(s, "deff"); if (!is.null(d)) out$deff <- unname(diag(as.matrix(d)))
  out
}
byfun <- function(b, val) list(groups = as.character(b[[1]]), estimate = unname(b[[val]]), se = unname(SE(b)),
                              deff = unname(b[[grep("^DEff", names(b))[1]]]))
ciprop <- function(f, d) { p <- svyciprop(f, d, method = "logit"); ci <- attr(p, "ci")
  list(estimate = unname(as.numeric(p)), se = unname(sqrt(attr(p, "var")[1])), ci_low = unname(ci[1]), ci_high = unname(ci[2])) }
cipropby <- function(f, by, d) { b <- svyby(f, by, d, svyciprop, method = "logit", vartype = c("se", "ci"))
  list(groups = as.character(b[[1]]), estimate = unname(b[[2]]), se = unname(SE(b)),
       ci_low = unname(b[["ci_l"]]), ci_high = unname(b[["ci_u"]])) }
analyse <- function(d) list(
  mean_api00 = stat(svymean(~api00, d, deff = TRUE)),
  total_enroll = stat(svytotal(~enroll, d, deff = TRUE)),
  mean_api00_by_stype = byfun(svyby(~api00, ~stype, d, svymean, deff = TRUE), "api00"),
  mean_api00_by_awards_stype = list(b = svyby(~api00, ~awards + stype, d, svymean))[[1]] |> (\(b) list(awards = as.character(b$awards),
      stype = as.character(b$stype), estimate = unname(b$api00), se = unname(SE(b))))(),
  total_enroll_by_stype = byfun(svyby(~enroll, ~stype, d, svytotal, deff = TRUE), "enroll"),
  prop_schwide = ciprop(~I(sch.wide == "Yes"), d),
  prop_schwide_by_stype = cipropby(~as.numeric(sch.wide == "Yes"), ~stype, d)
)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
# raking apiclus1 to school type and sch.wide (the survey package's own rake() example), converged tightly
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
rclus1 <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), control = list(maxit = 1000, epsilon = 1e-11))
# the same margins by raking calibration (GREG linearisation, as whatworks uses for every adjustment)
kclus1 <- calibrate(dclus1, ~stype + sch.wide, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122),
                    calfun = "raking", epsilon = 1e-12, maxit = 100)
# linear calibration to school type and api99 totals (R's calibrate() example)
lclus1 <- calibrate(dclus1, ~stype + api99, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069))
psclus1 <- postStratify(dclus1, ~stype, pop.types)
# survey-weighted logistic regression (the confidence model's engine): svyglm(quasibinomial), design-based SEs
glmfit <- function(d) { m <- svyglm(I(sch.wide == "Yes") ~ ell + meals + mobility, design = d, family = quasibinomial(),
                                    control = glm.control(epsilon = 1e-13, maxit = 100))
  list(terms = names(coef(m)), estimate = unname(coef(m)), se = unname(SE(m))) }
adj <- function(d) c(list(weights = unname(weights(d))), analyse(d))
out <- list(
  versions = list(R = R.version.string, survey = as.character(packageVersion("survey")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  apistrat = as.list(apistrat[, keep]), apiclus1 = as.list(apiclus1[, keep]),
  strat = analyse(dstrat), clus1 = analyse(dclus1), degf_strat = degf(dstrat), degf_clus1 = degf(dclus1),
  glm_strat = glmfit(dstrat), glm_clus1 = glmfit(dclus1), glm_rake = glmfit(rclus1), glm_calibrate = glmfit(kclus1),
  rake = adj(rclus1), calibrate_raking = adj(kclus1), calibrate_linear = adj(lclus1), poststratify = adj(psclus1)
)
out$apistrat$stype <- as.character(apistrat$stype); out$apiclus1$stype <- as.character(apiclus1$stype)
out$apistrat$sch.wide <- as.character(apistrat$sch.wide); out$apiclus1$sch.wide <- as.character(apiclus1$sch.wide)
out$apistrat$awards <- as.character(apistrat$awards); out$apiclus1$awards <- as.character(apiclus1$awards)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), "tests/golden/survey_golden.json")
