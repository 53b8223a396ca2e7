"""Auth routes: signing in and out with the second step (`sign_in.py`), and one's own account,
password, two-step set-up and sessions (`account.py`)."""

from clinic.auth.routes import account, sign_in  # noqa: F401
