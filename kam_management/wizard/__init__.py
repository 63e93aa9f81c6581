from . import kam_reclassify_wizard
from . import kam_tier_lock_wizard
from . import kam_reassign_wizard
from . import kam_report_wizard
from . import kam_service_level_apply_wizard
from . import kam_survey_invite_wizard
