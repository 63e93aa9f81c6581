from odoo import fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    kam_plan_count = fields.Integer(
        string="Account plans", compute="_compute_kam_plan_count", groups="sales_team.group_sale_salesman"
    )

    def _compute_kam_plan_count(self):
        counts = self.env["kam.account.plan"]._plan_counts(self.partner_id.commercial_partner_id)
        for lead in self:
            lead.kam_plan_count = counts.get(lead.partner_id.commercial_partner_id.id, 0)

    def action_view_kam_plans(self):
        self.ensure_one()
        return self.env["kam.account.plan"]._action_for_account(self.partner_id.commercial_partner_id)
