from odoo import api, fields, models


class KamSettings(models.TransientModel):
    """Key-account settings of the current company, for Key Account Directors.

    Odoo's Settings page needs Administration rights; directors configure the key accounts
    here instead. The fields are those of the Settings page (``kam.settings.mixin``); saving
    hands them to ``res.company._kam_write_settings``, which checks the user, the company and
    the fields, and lets the company's constraints validate the values.
    """

    _name = "kam.settings"
    _inherit = ["kam.settings.mixin"]
    _description = "Key account settings"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company, ondelete="cascade"
    )

    @api.model_create_multi
    def create(self, vals_list):
        # The settings go to the company through its checked path, never through the related
        # fields' inverse, which would write the company as the user.
        settings = [self._pop_settings(vals) for vals in vals_list]
        records = super().create(vals_list)
        for record, values in zip(records, settings, strict=True):
            record.company_id._kam_write_settings(values)
        return records

    def write(self, vals):
        vals = dict(vals)
        settings = self._pop_settings(vals)
        result = super().write(vals) if vals else True
        if settings:
            self.company_id._kam_write_settings(settings)
        return result

    @api.model
    def _pop_settings(self, vals):
        setting_fields = self.env["res.company"]._kam_setting_fields()
        return {fname: vals.pop(fname) for fname in list(vals) if fname in setting_fields}

    def execute(self):
        """Called by the settings screen once it has saved the record, which wrote the company.

        Nothing else to do (no module to install, no menu that changes, unlike Odoo's Settings
        page, which reloads the web client): the screen then shows the values read again."""
        self.ensure_one()
        return True

    def cancel(self):
        """Discarded: open the screen again with the saved values."""
        return self.env["ir.actions.actions"]._for_xml_id("kam_management.kam_settings_action")
