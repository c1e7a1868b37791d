"""The ``appliance`` command line (INTERFACES.md §2)."""
