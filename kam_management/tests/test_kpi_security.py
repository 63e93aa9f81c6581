from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.sql_db import db_connect
from odoo.tests import tagged

from odoo.addons.mail.tests.common import mail_new_test_user

from ..models.kam_classification import _RUN_LOCK_KEY
from .kpi_common import KpiCommon


@tagged("post_install", "-at_install")
class TestKpiSecurity(KpiCommon):
    """Who sees which account's KPIs: Mario sees his accounts, Olga hers, directors all, each in their companies.

    Mario (``kam``) manages Anchor and Second; Olga manages Third; Sam is a salesman.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_kam = mail_new_test_user(
            cls.env,
            login="kam_other_kpi",
            name="Other KAM Olga",
            groups="base.group_user,kam_management.group_kam_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.third.with_company(cls.company).kam_manager_id = cls.other_kam
        cls.Snapshot._take_snapshots(cls.company, cls.day, alerts=False)
        cls.rows = cls.Snapshot.search([("company_id", "=", cls.company.id)])

    def _visible(self, user):
        return self.Snapshot.with_user(user).search([("id", "in", self.rows.ids)]).partner_id

    def test_a_kam_sees_their_own_accounts_only(self):
        self.assertEqual(self._visible(self.kam), self.anchor | self.second)
        self.assertEqual(self._visible(self.other_kam), self.third)
        third_row = self.rows.filtered(lambda row: row.partner_id == self.third)
        with self.assertRaises(AccessError):
            third_row.with_user(self.kam).read(["revenue"])
        groups = self.Snapshot.with_user(self.kam)._read_group([], ["partner_id"], ["revenue:sum"])
        self.assertEqual({partner.id for partner, _revenue in groups}, set((self.anchor | self.second).ids))

    def test_a_new_kam_sees_the_accounts_history(self):
        """The snapshots of the days before the handover follow the account to its new KAM."""
        self.second.with_company(self.company).kam_manager_id = self.other_kam
        self.assertIn(self.second, self._visible(self.other_kam))
        self.assertEqual(self.rows.filtered(lambda row: row.partner_id == self.second).manager_id, self.other_kam)

    def test_a_director_sees_every_account(self):
        self.assertEqual(self._visible(self.director), self.anchor | self.second | self.third)

    def test_nobody_edits_a_snapshot(self):
        for user in (self.kam, self.director):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    self.rows[:1].with_user(user).write({"health_score": 100})
                with self.assertRaises(AccessError):
                    self.rows[:1].with_user(user).unlink()
                with self.assertRaises(AccessError):
                    self.Snapshot.with_user(user).create(
                        {"company_id": self.company.id, "partner_id": self.anchor.id, "date": "2020-01-01"}
                    )

    def test_a_salesman_has_no_access(self):
        with self.assertRaises(AccessError):
            self.Snapshot.with_user(self.salesman).search([])
        partner = self.anchor.with_user(self.salesman)
        self.assertNotIn("kam_health_score", partner.fields_get())

    def test_only_a_director_takes_snapshots_by_hand(self):
        with self.assertRaises(AccessError):
            self.Snapshot.with_user(self.kam).action_take_snapshots_now()
        action = self.Snapshot.with_user(self.director).with_context(allowed_company_ids=self.company.ids)
        self.assertEqual(action.action_take_snapshots_now()["params"]["type"], "success")

    def test_a_snapshot_by_hand_does_not_wait_for_a_run(self):
        """While a reclassification or the daily job updates a company's figures (another
        transaction holds its lock), the director is told at once instead of waiting."""
        busy = self.setup_other_company(name="KPI busy company")["company"]
        self.director.company_ids |= busy
        Snapshot = self.Snapshot.with_user(self.director).with_context(allowed_company_ids=(self.company | busy).ids)
        other = db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", (_RUN_LOCK_KEY, busy.id))
            self.assertTrue(other.fetchone()[0])
            # Waiting instead would end in an error here rather than keep the test waiting.
            self.env.cr.execute("SET LOCAL lock_timeout = '5s'")
            with self.assertRaisesRegex(UserError, "KPI busy company are being updated"):
                Snapshot.action_take_snapshots_now()
            other.rollback()
        finally:
            other.close()
        self.assertEqual(Snapshot.action_take_snapshots_now()["params"]["type"], "success")

    def test_companies_are_kept_apart(self):
        company_2 = self.setup_other_company(name="KPI second company")["company"]
        self._post_invoices([(self.anchor, 500, self.day)], company=company_2)
        self.Classification._reclassify_company(company_2, self.day)
        self.kam.company_ids |= company_2
        self.anchor.with_company(company_2).kam_manager_id = self.kam
        self.Snapshot._take_snapshots(company_2, self.day, alerts=False)
        other = self.Snapshot.search([("company_id", "=", company_2.id)])
        self.assertEqual((other.partner_id, other.revenue), (self.anchor, 500))
        Snapshot = self.Snapshot.with_user(self.kam)
        self.assertEqual(
            Snapshot.with_context(allowed_company_ids=self.company.ids).search([]).company_id, self.company
        )
        both = Snapshot.with_context(allowed_company_ids=(self.company | company_2).ids).search([])
        self.assertEqual(both.company_id, self.company | company_2)
        # The director of the first company only does not see the second one.
        self.assertFalse(self.Snapshot.with_user(self.director).search([("company_id", "=", company_2.id)]))

    def test_the_partner_shows_health_to_its_kam_only(self):
        self.assertEqual(
            self.third.with_user(self.other_kam).kam_health_score,
            self.rows.filtered(lambda row: row.partner_id == self.third).health_score,
        )
        self.assertFalse(self.third.with_user(self.kam).kam_kpi_snapshot_id)
