from odoo import models
from odoo.tools import SQL


class KamClassification(models.Model):
    """A new KAM takes over the account's dashboard card at once, not at the next snapshot."""

    _inherit = "kam.classification"

    def write(self, vals):
        res = super().write(vals)
        if "manager_id" in vals:
            self._sync_latest_snapshot_manager()
        return res

    def _sync_latest_snapshot_manager(self):
        """Give the latest KPI snapshot of these accounts their current manager (one UPDATE)."""
        self.flush_recordset(["manager_id", "partner_id", "company_id"])
        Snapshot = self.env["kam.kpi.snapshot"]
        Snapshot.flush_model(["manager_id", "is_latest"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE kam_kpi_snapshot s
                   SET manager_id = k.manager_id
                  FROM kam_classification k
                 WHERE k.id = ANY(%s) AND s.partner_id = k.partner_id AND s.company_id = k.company_id
                   AND s.is_latest AND s.manager_id IS DISTINCT FROM k.manager_id
                """,
                self.ids,
            )
        )
        if self.env.cr.rowcount:
            Snapshot.invalidate_model(["manager_id"])
