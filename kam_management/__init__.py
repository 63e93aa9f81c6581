from . import models
from . import wizard
from . import reports
from . import controllers
