from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    def write(self, vals):
        if "partner_id" in vals or "company_id" in vals:
            # The stored monthly figures of the customer an invoice leaves are computed again.
            invoices = self.filtered(lambda move: move.move_type in ("out_invoice", "out_refund"))
            if invoices:
                self.env["kam.account.fact"]._mark_touched(
                    (move.company_id.id, move.commercial_partner_id.id) for move in invoices
                )
        return super().write(vals)
