"""Optimization-tier katas are linked here."""
