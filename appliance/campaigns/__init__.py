"""Education campaigns: a segment of local contacts, one SMS each, paced (see ``campaigns.py``)."""
