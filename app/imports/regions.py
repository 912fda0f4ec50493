"""Resolving a row's region (app.regions.lookup; kept for the import's imports)."""

from app.regions.lookup import RegionIndex, Resolved, loose

__all__ = ["RegionIndex", "Resolved", "loose"]
