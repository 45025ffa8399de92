"""clip."""
