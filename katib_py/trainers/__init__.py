"""Small training programs the examples run as trials (no image, no download needed)."""
