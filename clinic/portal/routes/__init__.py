"""Portal routes: staff managing a patient's access, and the public link and portal pages."""

from clinic.portal.routes import access, public  # noqa: F401
