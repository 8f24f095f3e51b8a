"""`make bench`: speed and quality figures, printed as ratios against baselines measured in the same run."""
