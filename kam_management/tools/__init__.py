from . import tier_rules
