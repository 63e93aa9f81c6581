from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    kam_threshold_a = fields.Float(related="company_id.kam_threshold_a", readonly=False)
    kam_threshold_b = fields.Float(related="company_id.kam_threshold_b", readonly=False)
    kam_window_months = fields.Integer(related="company_id.kam_window_months", readonly=False)
    kam_demotion_grace = fields.Integer(related="company_id.kam_demotion_grace", readonly=False)
    kam_revenue_source = fields.Selection(related="company_id.kam_revenue_source", readonly=False)

    def action_kam_preview_reclassification(self):
        self.ensure_one()
        return self.env["kam.reclassify.wizard"].action_open_for_company(self.company_id)
