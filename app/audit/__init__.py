"""audit domain: the change log (who changed what, when, why)."""
