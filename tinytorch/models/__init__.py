"""Whole models built from the katas (GPT, kata 13) are linked here."""
