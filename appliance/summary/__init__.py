"""The daily summary to staff and the ``daily_summary`` uplink event (see ``daily.py``)."""
