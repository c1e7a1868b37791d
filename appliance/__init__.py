"""Customer-service appliance for medical-lab receptions."""

__version__ = "0.1.0"
