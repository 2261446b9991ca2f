"""The webhook receiver (Flask): verify, store durably, acknowledge fast."""
