"""Core katas (Foundation and Architecture tiers) are linked here."""
