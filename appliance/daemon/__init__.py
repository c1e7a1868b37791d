"""The daemon: supervised services, systemd notification, and the one place that wires them."""
