"""Scenarios written in other tools' input formats (`caravan export`)."""
