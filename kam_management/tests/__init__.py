from . import test_tier_rules
from . import test_classification
from . import test_classification_security
from . import test_classification_tour
