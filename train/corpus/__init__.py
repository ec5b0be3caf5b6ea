"""Build the labelled mixed-content corpus from real pages (`python -m storysplit.train.corpus CONFIG`)."""
