from . import res_company
from . import res_config_settings
from . import kam_classification
from . import kam_classification_run
from . import kam_tier_history
from . import res_partner
