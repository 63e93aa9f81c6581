from . import kam_reclassify_wizard
from . import kam_tier_lock_wizard
