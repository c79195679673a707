"""Experiments that reproduce the papers' claims on the built-in world, one module per family."""
