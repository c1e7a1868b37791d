"""The HTTP face: health, metrics, login and the technicians' status page."""
