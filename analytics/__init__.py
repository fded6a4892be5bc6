"""Analytics over the HR store: predictive validity of interview scores against later
performance, adverse impact per hiring stage, their statistics and SVG plots, and the
synthetic cohort that demonstrates them."""

# Shown on everything built from generated data (results, exports, plots, the cohort itself).
SYNTHETIC_LABEL = "SYNTHETIC DATA — generated, not real people"
