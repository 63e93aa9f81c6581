from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

KAM_GROUP = "kam_management.group_kam_manager"


class ResCompany(models.Model):
    _inherit = "res.company"

    kam_hourly_cost = fields.Monetary(
        string="Hourly cost of a salesperson",
        currency_field="currency_id",
        compute="_compute_kam_rates",
        inverse="_inverse_kam_rates",
        groups=KAM_GROUP,
        help="Company default in force today. Changing it adds a rate from today on: visits "
        "dated before keep the cost they had.",
    )
    kam_km_cost = fields.Monetary(
        string="Cost per km",
        currency_field="currency_id",
        compute="_compute_kam_rates",
        inverse="_inverse_kam_rates",
        groups=KAM_GROUP,
    )
    kam_value_line = fields.Float(
        string="Value line (% of gross margin)",
        default=80.0,
        help="High-value customers are those that together make this share of the gross margin "
        "of the window, ranked from the largest; the customer that crosses the line is included.",
    )
    kam_effort_line = fields.Float(
        string="Effort line (% of revenue)",
        default=10.0,
        help="High-effort customers cost at least this share of their revenue to serve; a customer "
        "with costs to serve and no revenue is always high effort.",
    )
    kam_rank_gap = fields.Float(
        string="Ranking gap (%)",
        default=25.0,
        help="Warn when a customer's rank by net contribution and its rank by revenue are apart by "
        "at least this share of the ranked customers.",
    )

    def _compute_kam_rates(self):
        today = fields.Date.context_today(self)
        rates = self.env["kam.cost.rate"]._lookup({(company.id, False, today) for company in self})
        for company in self:
            company.kam_hourly_cost, company.kam_km_cost = rates[(company.id, False, today)]

    def _inverse_kam_rates(self):
        today = fields.Date.context_today(self)
        Rate = self.env["kam.cost.rate"]
        current = Rate._lookup({(company.id, False, today) for company in self})
        todays = Rate.search([("company_id", "in", self.ids), ("user_id", "=", False), ("date_from", "=", today)])
        todays_by_company = {rate.company_id.id: rate for rate in todays}
        for company in self:
            vals = {"hourly_rate": company.kam_hourly_cost, "km_rate": company.kam_km_cost}
            if current[(company.id, False, today)] == (vals["hourly_rate"], vals["km_rate"]):
                continue
            if company.id in todays_by_company:
                todays_by_company[company.id].write(vals)
            else:
                Rate.create({**vals, "company_id": company.id, "date_from": today})

    @api.constrains("kam_value_line", "kam_effort_line", "kam_rank_gap")
    def _check_kam_cost_lines(self):
        for company in self:
            if not 0.0 < company.kam_value_line <= 100.0:
                raise ValidationError(
                    _(
                        "The value line of %(company)s must lie above 0 and up to 100 %% of the gross "
                        "margin; 80 is a common choice.",
                        company=company.name,
                    )
                )
            if company.kam_effort_line < 0.0:
                raise ValidationError(
                    _(
                        "The effort line of %(company)s cannot be negative: enter the share of revenue, "
                        "such as 10, above which serving a customer is high effort.",
                        company=company.name,
                    )
                )
            if not 0.0 < company.kam_rank_gap <= 100.0:
                raise ValidationError(
                    _(
                        "The ranking gap of %(company)s must lie above 0 and up to 100 %% of the ranked customers.",
                        company=company.name,
                    )
                )
