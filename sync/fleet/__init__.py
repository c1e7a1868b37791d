"""The fleet simulator: many simulated sites on the appliance's own sync code, a private broker and database."""
