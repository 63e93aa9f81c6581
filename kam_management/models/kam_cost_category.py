from odoo import fields, models


class KamCostCategory(models.Model):
    """What a cost to serve other than a visit is for: logistics, special discounts, samples..."""

    _name = "kam.cost.category"
    _description = "Cost-to-serve category"
    _order = "sequence, name, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Leave empty to offer the category in every company.",
    )
    description = fields.Text(translate=True)
