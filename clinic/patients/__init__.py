"""Patients wing: the patient record that every other wing hangs from, registration and search.

The blueprint lives in `routes.py` (not here) because `clinic.auth.models` imports this
package's models and the routes need the policy module, which needs `clinic.auth.models`.
"""
