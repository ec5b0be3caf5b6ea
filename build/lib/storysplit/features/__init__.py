"""Text → segments → numbers: everything both training and inference compute from a document."""
