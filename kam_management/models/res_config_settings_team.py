from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    kam_max_key_accounts = fields.Integer(related="company_id.kam_max_key_accounts", readonly=False)
    kam_assignment_strategy = fields.Selection(related="company_id.kam_assignment_strategy", readonly=False)
