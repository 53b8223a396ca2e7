"""Patients wing: the patient record that every other wing hangs from."""
