"""Looking at grouped data before any model: group summaries, histograms, samples."""
