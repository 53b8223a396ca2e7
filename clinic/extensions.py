"""Flask extensions, created unbound and initialised in create_app."""

from typing import TYPE_CHECKING

from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from clinic.models.base import Base

db = SQLAlchemy(model_class=Base)

# The models' base class. Flask-SQLAlchemy builds `db.Model` at run time from `Base`, which a
# type checker cannot follow; to it the models derive from `Base` itself.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
