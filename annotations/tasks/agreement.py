"""Placeholder until the agreement tasks land."""
