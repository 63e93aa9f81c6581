from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    _inherit = "res.company"

    kam_threshold_a = fields.Float(
        string="Tier A threshold (%)",
        default=80.0,
        help="Customers are tier A while the revenue of the customers ranked above "
        "them is below this share of the total.",
    )
    kam_threshold_b = fields.Float(
        string="Tier B threshold (%)",
        default=95.0,
        help="Customers that are not A are tier B while the revenue of the customers "
        "ranked above them is below this share of the total; the rest are C.",
    )
    kam_window_months = fields.Integer(
        string="Revenue window (months)",
        default=12,
        help="Trailing number of months, ending on the run date, whose revenue ranks customers.",
    )
    kam_demotion_grace = fields.Integer(
        string="Demotion grace (runs)",
        default=2,
        help="A customer is demoted only after it has ranked below its tier in more than "
        "this number of consecutive runs; 0 demotes at once.",
    )
    kam_revenue_source = fields.Selection(
        [("invoice", "Posted invoices"), ("sale_order", "Confirmed sales orders")],
        string="Revenue source",
        default="invoice",
        required=True,
    )

    @api.constrains("kam_threshold_a", "kam_threshold_b")
    def _check_kam_thresholds(self):
        for company in self:
            a, b = company.kam_threshold_a, company.kam_threshold_b
            if not (0.0 <= a <= 100.0 and 0.0 <= b <= 100.0):
                raise ValidationError(
                    _(
                        "The tier thresholds of %(company)s must lie between 0 and 100 %%; "
                        "enter percentages such as 80 and 95.",
                        company=company.name,
                    )
                )
            if a >= b:
                raise ValidationError(
                    _(
                        "The tier A threshold of %(company)s (%(a)s %%) must be lower than the "
                        "tier B threshold (%(b)s %%).",
                        company=company.name,
                        a=a,
                        b=b,
                    )
                )

    @api.constrains("kam_window_months")
    def _check_kam_window_months(self):
        for company in self:
            if company.kam_window_months < 1:
                raise ValidationError(
                    _(
                        "The revenue window of %(company)s must be at least 1 month.",
                        company=company.name,
                    )
                )

    @api.constrains("kam_demotion_grace")
    def _check_kam_demotion_grace(self):
        for company in self:
            if company.kam_demotion_grace < 0:
                raise ValidationError(
                    _(
                        "The demotion grace of %(company)s cannot be negative; use 0 to demote at once.",
                        company=company.name,
                    )
                )
