"""Batch parameter sweeps."""
