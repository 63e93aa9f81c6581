"""Names and choices shared across the addon, defined once.

Selection labels here are the source strings; screens and reports show them translated
through the fields that use them (``_description_selection``), never through ``dict(...)``.
"""

# Security groups (XML ids).
KAM_GROUP = "kam_management.group_kam_manager"
DIRECTOR_GROUP = "kam_management.group_kam_director"

# 80/20 tiers of a customer.
TIERS = [("a", "A – Key account"), ("b", "B"), ("c", "C")]

# Value-versus-effort quadrant of the cost to serve.
QUADRANTS = [
    ("protect", "Protect"),
    ("develop", "Develop"),
    ("streamline", "Streamline"),
    ("restructure", "Restructure"),
]

# Where the ranking by net contribution disagrees with the ranking by revenue.
RANKING_FLAGS = [
    ("loses_money", "Key account losing money"),
    ("costs_more_than_earns", "Costs more to serve than it earns"),
    ("ranks_lower", "Ranks far lower by contribution"),
    ("ranks_higher", "Ranks far higher by contribution"),
]

# Where the cost of goods of a customer's margin comes from.
MARGIN_SOURCES = [
    ("orders", "Sales order costs"),
    ("products", "Product costs"),
    ("mixed", "Sales order and product costs"),
]
