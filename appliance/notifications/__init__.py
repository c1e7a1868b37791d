"""Notifications: requests from the central system, templates, quiet hours, consent rules."""
