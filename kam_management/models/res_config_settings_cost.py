from odoo import fields, models

KAM_GROUP = "kam_management.group_kam_manager"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    kam_hourly_cost = fields.Monetary(related="company_id.kam_hourly_cost", readonly=False, groups=KAM_GROUP)
    kam_km_cost = fields.Monetary(related="company_id.kam_km_cost", readonly=False, groups=KAM_GROUP)
    kam_value_line = fields.Float(related="company_id.kam_value_line", readonly=False)
    kam_effort_line = fields.Float(related="company_id.kam_effort_line", readonly=False)
    kam_rank_gap = fields.Float(related="company_id.kam_rank_gap", readonly=False)

    def action_kam_open_cost_rates(self):
        self.ensure_one()
        return self.env["ir.actions.actions"]._for_xml_id("kam_management.kam_cost_rate_action")
