from datetime import timedelta

from odoo.tests import HttpCase, tagged

from .kpi_common import KpiCommon


@tagged("post_install", "-at_install")
class TestKpiTour(KpiCommon, HttpCase):
    """A KAM opens the Key Accounts dashboard in a real browser and acts on what it shows."""

    def test_kam_follows_a_key_account_from_the_dashboard(self):
        Snapshot = self.env["kam.kpi.snapshot"]
        for days in (14, 7, 1):
            Snapshot._take_snapshots(self.company, self.day - timedelta(days=days), alerts=False)
        Snapshot._take_snapshots(self.company, self.day, alerts=False)
        self.start_tour("/odoo", "kam_dashboard_tour", login="kam_manager")
        activity = self._activities(self.second, self.contact_type)
        self.assertEqual(len(activity), 1, "the contact the dashboard suggested is scheduled")
        self.assertEqual(activity.user_id, self.kam)
