from odoo import fields, models

from ..const import TIERS


class KamTierLockWizard(models.TransientModel):
    _name = "kam.tier.lock.wizard"
    _description = "Lock a key account tier"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    tier = fields.Selection(TIERS, required=True, default="a")
    reason = fields.Char(required=True)
    lock_until = fields.Date(string="Locked until", help="Leave empty to keep the lock until it is lifted by hand.")

    def action_apply(self):
        self.ensure_one()
        Classification = self.env["kam.classification"]
        commercial = self.partner_id.commercial_partner_id
        row = Classification.search(
            [("company_id", "=", self.company_id.id), ("partner_id", "=", commercial.id)], limit=1
        )
        if not row:
            row = Classification.create({"company_id": self.company_id.id, "partner_id": commercial.id})
        row._set_locked_tier(self.tier, self.reason, self.lock_until)
        return {"type": "ir.actions.act_window_close"}
