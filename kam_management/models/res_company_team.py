from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

ASSIGNMENT_STRATEGIES = [
    ("accounts", "Fewest key accounts"),
    ("revenue", "Least revenue under management"),
]


class ResCompany(models.Model):
    """Settings of the key-account team: how many key accounts a KAM can carry, whom to suggest."""

    _inherit = "res.company"

    kam_max_key_accounts = fields.Integer(
        string="Maximum key accounts per KAM",
        default=15,
        help="Suggestions never give a Key Account Manager more key accounts than this; "
        "a director may assign more, and is warned.",
    )
    kam_assignment_strategy = fields.Selection(
        ASSIGNMENT_STRATEGIES,
        string="Suggest the KAM with",
        default="accounts",
        required=True,
        help="Which Key Account Manager has the most room for a new key account: the one "
        "with the fewest key accounts, or the one with the least revenue under management.",
    )

    @api.constrains("kam_max_key_accounts")
    def _check_kam_max_key_accounts(self):
        for company in self:
            if company.kam_max_key_accounts < 1:
                raise ValidationError(
                    _(
                        "The maximum number of key accounts per Key Account Manager of %(company)s must be at least 1.",
                        company=company.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        # A new company starts with the competency framework, like the main company.
        self.env["kam.competency"].sudo()._create_default_framework(companies)
        return companies
