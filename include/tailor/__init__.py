"""Tailor: warehouse-native micro-targeted email personalization."""

__version__ = "0.1.0"
