from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    kam_plan_count = fields.Integer(
        string="Account plans", compute="_compute_kam_plan_count", groups="sales_team.group_sale_salesman"
    )

    def _compute_kam_plan_count(self):
        counts = self.env["kam.account.plan"]._plan_counts(self.commercial_partner_id)
        for partner in self:
            partner.kam_plan_count = counts.get(partner.commercial_partner_id.id, 0)

    def action_view_kam_plans(self):
        self.ensure_one()
        return self.env["kam.account.plan"]._action_for_account(self.commercial_partner_id)
