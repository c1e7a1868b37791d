"""Technicians' hardware tools: ``appliance-tools probe`` (and, with later work, provision, prompts, capture, trace)."""
