# Golden case for whatworks.place.gistar from R's spdep (an implementation independent of esda and whatworks).
#
# Purpose:    Gi* z-scores (spdep::localG with the cell itself included, binary weights) for the two cases whose
#             inputs are in tests/golden/place_gistar_golden.json (made by make_place_gistar.py).
#             Neighbours: spdep::dnearneigh(coords, 0, distance * (1 + 1e-9)), include.self(), nb2listw(style = "B").
# Regenerate: Rscript tests/golden/make_place_gistar_spdep.R   (from the repository root; needs r-cran-spdep, jsonlite)
# Seed:       none (deterministic; inputs come from the Python golden).
# Versions:   recorded in the JSON ("versions").
suppressPackageStartupMessages({library(spdep); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
inp <- fromJSON(file.path(here, "place_gistar_golden.json"), simplifyVector = TRUE)
cases <- list()
for (k in seq_len(nrow(inp$cases))) {
  cs <- inp$cases[k, ]
  coords <- cbind(unlist(cs$x), unlist(cs$y))
  nb <- dnearneigh(coords, 0, cs$distance * (1 + 1e-9))
  lw <- nb2listw(include.self(nb), style = "B", zero.policy = TRUE)
  z <- as.numeric(localG(unlist(cs$value), lw, zero.policy = TRUE))
  cases[[k]] <- list(name = cs$name, z = z)
}
out <- list(versions = list(R = R.version.string, spdep = as.character(packageVersion("spdep"))), cases = cases)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), file.path(here, "place_gistar_spdep.json"))
cat("wrote", file.path(here, "place_gistar_spdep.json"), "\n")
