"""Shared model foundation: base class, column helpers and the audit trail."""
