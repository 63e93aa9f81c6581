from odoo import api, fields, models

from ..tools.health_rules import BANDS

KAM_GROUP = "kam_management.group_kam_manager"


class ResPartner(models.Model):
    """The account's latest KPI snapshot in the current company: its health, one click from its evolution."""

    _inherit = "res.partner"

    kam_kpi_snapshot_id = fields.Many2one(
        "kam.kpi.snapshot", string="Latest KPI snapshot", compute="_compute_kam_kpi_snapshot", groups=KAM_GROUP
    )
    kam_health_score = fields.Integer(string="Health", compute="_compute_kam_kpi_snapshot", groups=KAM_GROUP)
    kam_health_band = fields.Selection(
        BANDS, string="Health band", compute="_compute_kam_kpi_snapshot", groups=KAM_GROUP
    )

    @api.depends_context("company", "uid")
    def _compute_kam_kpi_snapshot(self):
        snapshots = self.env["kam.kpi.snapshot"].search(
            [
                ("company_id", "=", self.env.company.id),
                ("partner_id", "in", self.commercial_partner_id.ids),
                ("is_latest", "=", True),
            ]
        )
        by_partner = {snapshot.partner_id.id: snapshot for snapshot in snapshots}
        for partner in self:
            snapshot = by_partner.get(partner.commercial_partner_id.id, snapshots.browse())
            partner.kam_kpi_snapshot_id = snapshot
            partner.kam_health_score = snapshot.health_score
            partner.kam_health_band = snapshot.health_band

    def action_kam_open_kpis(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "kam.kpi.snapshot",
            "res_id": self.kam_kpi_snapshot_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def action_kam_open_evolution(self):
        self.ensure_one()
        return self.env["kam.kpi.snapshot"]._evolution_action(self.commercial_partner_id, self.env.company)
