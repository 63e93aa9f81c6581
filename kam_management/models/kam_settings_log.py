from odoo import api, fields, models


class KamSettingsLog(models.Model):
    """One row per change of a key-account setting of a company: who, when, what, old and new.

    Rows are written by ``res.company.write`` only, whichever screen the change comes from
    (Key Accounts > Configuration > Settings or Odoo's Settings page); nobody edits them.
    Values are kept as the screens showed them to the person who changed them, as Odoo's
    own field tracking does.
    """

    _name = "kam.settings.log"
    _description = "Key account settings log"
    _order = "date desc, id desc"
    _rec_name = "setting"

    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade", readonly=True)
    user_id = fields.Many2one("res.users", string="Changed by", index=True, ondelete="set null", readonly=True)
    date = fields.Datetime(string="Changed on", required=True, default=fields.Datetime.now, readonly=True)
    setting = fields.Selection(selection="_selection_setting", required=True, index=True, readonly=True)
    old_value = fields.Char(string="Old value", readonly=True)
    new_value = fields.Char(string="New value", readonly=True)

    @api.model
    def _selection_setting(self):
        Company = self.env["res.company"]
        return [
            (fname, Company._fields[fname]._description_string(self.env)) for fname in Company._kam_setting_fields()
        ]
