from odoo import models


class ResConfigSettings(models.TransientModel):
    """The key-account block of Odoo's Settings page: its fields are those of
    ``kam.settings.mixin``, shared with the directors' screen."""

    _name = "res.config.settings"
    _inherit = ["res.config.settings", "kam.settings.mixin"]
