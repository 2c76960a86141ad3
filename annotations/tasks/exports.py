"""Placeholder until the exports tasks land."""
