# Golden values for whatworks.survey.trend(baseline=) (issue 15): the change of each period from a baseline period,
# with the SE of the difference from the design covariance of the two period estimates.
#
# Purpose:    R's survey package on its own `apiclus1` (one-stage cluster sample of school districts, fpc) and on a
#             post-stratification of it, with a deterministic interview date per school spread over two years.
#             Quarters (disjoint): svyby(~y, ~quarter, svymean, covmat = TRUE) + svycontrast(each − baseline).
#             Rolling 12-month windows (overlapping, so svyby cannot hold them): svytotal of (y·m_j, m_j) for every
#             window j, then svycontrast(quote(ym_j/m_j − ym_b/m_b)) — the same delta-method linearisation.
#             The inputs are written into the JSON with the outputs, so the Python test needs no R.
# Regenerate: Rscript tests/golden/make_survey_trend.R   (from the repository root) -> tests/golden/survey_trend_golden.json
# Seed:       none (no randomness; date_i = 2023-01-01 + (37 i mod 730) days).
# Versions:   R and survey versions are written into the JSON. Needs only base R + survey (a small JSON writer below,
#             as r-cran-jsonlite is not installed on this machine kind).
suppressMessages(library(survey))
data(api)
num <- function(x) if (length(x) == 1) formatC(x, digits = 17, format = "g") else
  paste0("[", paste(formatC(x, digits = 17, format = "g"), collapse = ","), "]")
str_ <- function(x) paste0("[", paste0('"', x, '"', collapse = ","), "]")
obj <- function(l) paste0("{", paste0('"', names(l), '":', unlist(l), collapse = ","), "}")

d0 <- apiclus1
d0$date <- as.Date("2023-01-01") + (37 * seq_len(nrow(d0))) %% 730
d0$quarter <- paste0(format(d0$date, "%Y"), "Q", (as.integer(format(d0$date, "%m")) - 1) %/% 3 + 1)
d0$month <- as.integer(format(d0$date, "%Y")) * 12 + as.integer(format(d0$date, "%m")) - 1
d0$yes <- as.numeric(d0$sch.wide == "Yes")
months <- seq(min(d0$month), max(d0$month))
ends <- months[12:length(months)]
for (j in seq_along(ends)) {
  m <- as.numeric(d0$month > ends[j] - 12 & d0$month <= ends[j])
  d0[[paste0("m", j)]] <- m; d0[[paste0("ya", j)]] <- d0$api00 * m; d0[[paste0("yy", j)]] <- d0$yes * m
}
qs <- sort(unique(d0$quarter))
for (j in seq_along(qs)) {
  m <- as.numeric(d0$quarter == qs[j])
  d0[[paste0("q", j)]] <- m; d0[[paste0("qa", j)]] <- d0$api00 * m; d0[[paste0("qy", j)]] <- d0$yes * m
}
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = d0)
# post-stratified to school type (R linearises postStratify by the GREG residual, as whatworks does every adjustment;
# calibrate() would need MASS, which this machine kind lacks)
kclus1 <- postStratify(dclus1, ~stype, data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018)))

quarters <- function(d, var, base) {
  b <- svyby(as.formula(paste0("~", var)), ~quarter, d, svymean, covmat = TRUE)
  q <- as.character(b$quarter); k <- length(q); bi <- match(base, q)
  C <- diag(k); C[, bi] <- C[, bi] - 1
  rownames(C) <- q
  ct <- svycontrast(b, lapply(seq_len(k), function(i) C[i, ]))
  list(period = str_(q), estimate = num(unname(coef(b))), se = num(unname(SE(b))),
       difference = num(unname(coef(ct))), difference_se = num(unname(SE(ct))))
}
# any periods (disjoint or overlapping): totals of y*m_j (prefix) and m_j (mask), then ratios and their differences
windows <- function(d, prefix, mask, k, base_j) {
  f <- as.formula(paste("~", paste(c(paste0(prefix, seq_len(k)), paste0(mask, seq_len(k))), collapse = "+")))
  tt <- svytotal(f, d)
  ex <- lapply(seq_len(k), function(j) parse(text = sprintf("%s%d/%s%d - %s%d/%s%d", prefix, j, mask, j, prefix, base_j, mask, base_j))[[1]])
  ct <- svycontrast(tt, ex)
  one <- lapply(seq_len(k), function(j) svycontrast(tt, parse(text = sprintf("%s%d/%s%d", prefix, j, mask, j))[[1]]))
  est <- sapply(one, coef); se <- sapply(one, SE)
  list(estimate = num(unname(est)), se = num(unname(se)), difference = num(unname(coef(ct))), difference_se = num(unname(SE(ct))))
}
# the two routes agree on the plain design
chk <- windows(dclus1, "qa", "q", length(qs), 2); ref <- quarters(dclus1, "api00", "2023Q2")
stopifnot(identical(qs[2], "2023Q2"), isTRUE(all.equal(chk$difference_se, ref$difference_se)) ||
          max(abs(as.numeric(strsplit(gsub("\\[|\\]", "", chk$difference_se), ",")[[1]]) -
                  as.numeric(strsplit(gsub("\\[|\\]", "", ref$difference_se), ",")[[1]]))) < 1e-9)
lab <- function(e) sprintf("%04d-%02d", e %/% 12, e %% 12 + 1)
out <- list(
  versions = obj(list(R = paste0('"', R.version.string, '"'), survey = paste0('"', packageVersion("survey"), '"'))),
  data = obj(list(cds = str_(d0$cds), dnum = num(d0$dnum), pw = num(d0$pw), fpc = num(d0$fpc), api00 = num(d0$api00),
                  stype = str_(as.character(d0$stype)), sch_wide = str_(as.character(d0$sch.wide)),
                  date = str_(format(d0$date)))),
  baseline_quarter = '"2023Q2"', baseline_window = paste0('"', lab(ends[3]), '"'), windows = str_(lab(ends)),
  quarter_mean_api00 = obj(quarters(dclus1, "api00", "2023Q2")),
  quarter_prop_yes = obj(quarters(dclus1, "yes", "2023Q2")),
  # svyby(covmat = TRUE) fails on a post-stratified design in this survey version (an error inside svyby), so the
  # adjusted design's quarters go through the totals route, checked above to equal svyby on the plain design
  quarter_mean_api00_poststratified = obj(c(list(period = str_(qs)), windows(kclus1, "qa", "q", length(qs), 2))),
  rolling_mean_api00 = obj(windows(dclus1, "ya", "m", length(ends), 3)),
  rolling_prop_yes_poststratified = obj(windows(kclus1, "yy", "m", length(ends), 3))
)
writeLines(obj(out), "tests/golden/survey_trend_golden.json")
