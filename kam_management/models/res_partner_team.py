from odoo import _, api, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    @api.onchange("kam_manager_id")
    def _onchange_kam_manager_id_maximum(self):
        """Warn, without blocking, when the new KAM goes past the maximum of key accounts."""
        partner = self.commercial_partner_id
        company = self.env.company
        if not self.kam_manager_id or partner.with_company(company).kam_tier != "a":
            return None
        if self.kam_manager_id == self._origin.kam_manager_id:
            return None
        message = self.env["kam.classification"]._maximum_warning(self.kam_manager_id, company, 1)
        if message:
            return {"warning": {"title": _("Over the maximum of key accounts"), "message": message}}
        return None
