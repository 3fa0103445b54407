"""Wire formats: bytes in, typed messages out, and back. No I/O and no device state here."""
