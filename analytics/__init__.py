"""Analytics over the HR store: predictive validity of interview scores against later
performance, adverse impact per hiring stage, their statistics and SVG plots, and the
synthetic cohort that demonstrates them."""
