"""Inbound SMS: the ordered hooks every received message goes through (router.py)."""
