"""Build the labelled mixed-content corpus from real pages (`python -m train.corpus CONFIG`)."""
