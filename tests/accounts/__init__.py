"""Accounts, tokens and scope."""
