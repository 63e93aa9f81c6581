from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.modules.migration import load_script
from odoo.tests import Form, tagged
from odoo.tools import SQL
from odoo.tools.sql import column_exists

from odoo.addons.mail.tests.common import mail_new_test_user

from .common import KamCommon
from .kpi_common import KpiCommon

MIGRATION = "kam_management/migrations/18.0.1.1.0/post-migrate.py"


@tagged("post_install", "-at_install")
class TestServiceLevelRules(KamCommon):
    """What a tier gets beyond its terms lives on its service level: how often its accounts are
    contacted and surveyed, and whether they need a Key Account Manager."""

    def _level(self, tier, **vals):
        return self.env["kam.service.level"].create({"company_id": self.company.id, "tier": tier, **vals})

    def test_new_levels_start_with_the_tier_defaults(self):
        """A director creating the levels finds what the tiers got without one."""
        Level = self.env["kam.service.level"].with_user(self.director)
        levels = Level.create([{"company_id": self.company.id, "tier": tier} for tier in ("a", "b", "c", "none")])
        self.assertEqual(
            [(lv.tier, lv.contact_interval, lv.survey_months, lv.kam_required) for lv in levels],
            [("a", 30, 6, True), ("b", 90, 12, False), ("c", 0, 0, False), ("none", 0, 0, False)],
        )

    def test_bad_rules_are_refused_and_nothing_saved(self):
        level = self._level("a")
        for vals, message in (
            ({"contact_interval": -1}, "cannot be negative"),
            ({"survey_months": -1}, "from 0 \\(never\\) to 60 months"),
            ({"survey_months": 61}, "from 0 \\(never\\) to 60 months"),
        ):
            with self.subTest(vals=vals):
                with self.assertRaisesRegex(ValidationError, message), self.env.cr.savepoint():
                    level.with_user(self.director).write(vals)
                with self.assertRaisesRegex(ValidationError, message), self.env.cr.savepoint():
                    self._level("b", **vals)
        self.env.invalidate_all()
        self.assertEqual((level.contact_interval, level.survey_months), (30, 6))
        Level = self.env["kam.service.level"]
        self.assertFalse(Level.search([("company_id", "=", self.company.id), ("tier", "=", "b")]))

    def test_kam_cannot_change_the_rules(self):
        level = self._level("a")
        with self.assertRaises(AccessError):
            level.with_user(self.kam).write({"contact_interval": 7})
        self.assertEqual(level.with_user(self.kam).contact_interval, 30, "a KAM reads them")

    def test_kam_sees_the_rules_of_the_account_on_the_partner(self):
        customer = self._customer("Seen Account")
        self.env["kam.classification"].create({"company_id": self.company.id, "partner_id": customer.id, "tier": "a"})
        partner = customer.with_user(self.kam).with_company(self.company)
        self.assertEqual(
            (partner.kam_contact_interval, partner.kam_survey_months),
            (30, 6),
            "without a level, the defaults the KPI run and the cadence job use",
        )
        self._level("a", contact_interval=21, survey_months=3)
        partner.invalidate_recordset()
        self.assertEqual((partner.kam_contact_interval, partner.kam_survey_months), (21, 3))

    def test_kam_required_follows_the_service_levels(self):
        """Four customers reach A and one B; with B requiring a KAM and A not, the directors'
        to-do lists the B account only."""
        customers = self._customers(5)
        self._post_invoices([(p, 100, self.months_ago(1)) for p in customers])
        self._level("a", kam_required=False)
        self._level("b", kam_required=True)
        run = self.Classification.with_user(self.director)._reclassify_company(self.company, self.today)
        self.assertEqual(self._tiers(customers), ["a", "a", "a", "a", "b"])
        self.assertEqual(run.unassigned_partner_ids, customers[4])
        self.assertEqual(len(run.activity_ids), 1)
        note = str(run.activity_ids.note)
        self.assertIn(customers[4].name, note)
        self.assertNotIn(customers[0].name, note)

    def test_no_kam_required_no_todo(self):
        customers = self._customers(3)
        self._post_invoices([(p, 100, self.months_ago(1)) for p in customers])
        self._level("a", kam_required=False)
        run = self.Classification.with_user(self.director)._reclassify_company(self.company, self.today)
        self.assertIn("a", self._tiers(customers))
        self.assertFalse(run.unassigned_partner_ids)
        self.assertFalse(run.activity_ids)

    def test_upgrade_moves_the_company_settings_onto_the_levels(self):
        """The upgrade to 18.0.1.1.0 copies each company's intervals and cadences onto its
        levels, creating the missing ones and keeping the terms of existing ones, then drops
        the company's columns."""
        company_2 = self.env["res.company"].create({"name": "KAM Upgrade Co"})
        pricelist = self.env["product.pricelist"].create({"name": "Key", "company_id": company_2.id})
        kept = self.env["kam.service.level"].create(
            {"company_id": company_2.id, "tier": "a", "pricelist_id": pricelist.id, "kam_required": False}
        )
        old = {
            self.company.id: (21, 60, 3, 9, 0),
            company_2.id: (45, 120, 12, 0, 24),
        }
        cr = self.env.cr
        columns = ("kam_contact_interval_a", "kam_contact_interval_b", "kam_survey_months_a", "kam_survey_months_b")
        for column in (*columns, "kam_survey_months_c"):
            cr.execute(SQL("ALTER TABLE res_company ADD COLUMN %s int4", SQL.identifier(column)))
        for company_id, values in old.items():
            cr.execute(
                SQL(
                    "UPDATE res_company SET kam_contact_interval_a = %s, kam_contact_interval_b = %s, "
                    "kam_survey_months_a = %s, kam_survey_months_b = %s, kam_survey_months_c = %s WHERE id = %s",
                    *values,
                    company_id,
                )
            )
        load_script(MIGRATION, "kam_post_migrate_18_0_1_1_0").migrate(cr, "18.0.1.0.0")
        self.env.invalidate_all()
        for company_id, (interval_a, interval_b, months_a, months_b, months_c) in old.items():
            levels = self.env["kam.service.level"].search([("company_id", "=", company_id)])
            self.assertEqual(
                {lv.tier: (lv.contact_interval, lv.survey_months) for lv in levels},
                {"a": (interval_a, months_a), "b": (interval_b, months_b), "c": (0, months_c)},
            )
        self.assertEqual((kept.pricelist_id, kept.kam_required), (pricelist, False), "the rest of a level is kept")
        self.assertFalse(kept.to_apply, "no term changed: nothing to re-apply")
        for column in (*columns, "kam_survey_months_c"):
            self.assertFalse(column_exists(cr, "res_company", column))
        # Run again (or on a database that never had the columns): nothing to do.
        load_script(MIGRATION, "kam_post_migrate_18_0_1_1_0").migrate(cr, "18.0.1.1.0")

    def test_upgrade_drops_the_team_kept_on_the_classification(self):
        """The upgrade to 18.0.1.2.0 drops the column where the classification kept the sales
        team applied (nothing read it), with its foreign key; run again, it does nothing."""
        cr = self.env.cr
        cr.execute("ALTER TABLE kam_classification ADD COLUMN sl_team_id int REFERENCES crm_team (id)")
        script = load_script("kam_management/migrations/18.0.1.2.0/post-migrate.py", "kam_post_migrate_18_0_1_2_0")
        script.migrate(cr, "18.0.1.1.0")
        self.assertFalse(column_exists(cr, "kam_classification", "sl_team_id"))
        script.migrate(cr, "18.0.1.1.0")

    def test_upgrade_refuses_bad_values(self):
        """A value the levels would refuse stops the upgrade instead of being saved."""
        with self.assertRaises(ValidationError):
            self.env["kam.service.level"]._adopt_tier_rules({self.company.id: {"a": {"contact_interval": -3}}})


@tagged("post_install", "-at_install")
class TestServiceLevelRulesKpi(KpiCommon):
    """The daily snapshot reads each account's contact interval from its tier's service level."""

    def test_contact_interval_of_the_tier(self):
        # Second (A, KAM Mario) was last contacted 40 days ago, Anchor (A) 10 days ago.
        level_a = self.env["kam.service.level"].create({"company_id": self.company.id, "tier": "a"})
        level_a.contact_interval = 45
        self._take()
        second, anchor = self._snapshot(self.second), self._snapshot(self.anchor)
        self.assertEqual((second.contact_interval, second.contact_overdue), (45, False))
        self.assertEqual(second.health_loss_contact, 0.0, "on time: contact costs no health point")
        self.assertFalse(self._activities(self.second, self.contact_type), "within 45 days")

        self.assertFalse(anchor.contact_overdue)
        level_a.contact_interval = 7
        self._take()
        self.env.invalidate_all()
        anchor = self._snapshot(self.anchor)
        self.assertEqual((anchor.contact_interval, anchor.contact_overdue), (7, True))
        self.assertEqual(self._activities(self.anchor, self.contact_type).user_id, self.kam)

    def test_no_interval_no_reminder(self):
        self.env["kam.service.level"].create({"company_id": self.company.id, "tier": "a", "contact_interval": 0})
        self._take()
        second = self._snapshot(self.second)
        self.assertEqual((second.contact_interval, second.contact_overdue), (0, False))
        self.assertEqual(second.health_loss_contact, 0.0, "contacted, with no interval to be late on")
        self.assertFalse(self._activities(self.second, self.contact_type))

    def test_tier_b_interval(self):
        self.company.kam_kpi_include_b = True
        self.env["kam.service.level"].create({"company_id": self.company.id, "tier": "b", "contact_interval": 20})
        self._take(alerts=False)
        row = self._snapshot(self.small)
        self.assertEqual((row.tier, row.contact_interval, row.contact_overdue), ("b", 20, True))
        self.assertEqual(self._snapshot(self.second).contact_interval, 30, "tier A keeps its default")


@tagged("post_install", "-at_install")
class TestServiceLevelTeam(KamCommon):
    """A tier's service level may name the default sales team of its customers' new quotations
    and opportunities; a team chosen on purpose, a salesperson's own team (as Odoo does with any
    default team) and confirmed orders are left alone."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Team = cls.env["crm.team"]
        cls.team_sales = Team.create({"name": "Field sales", "company_id": cls.company.id, "sequence": 1})
        cls.team_key = Team.create({"name": "Key accounts desk", "company_id": cls.company.id, "sequence": 50})
        cls.team_other = Team.create({"name": "Inside sales", "company_id": cls.company.id, "sequence": 60})
        # Sam belongs to no team; Fiona belongs to the field sales team.
        cls.env["crm.team.member"].search([("user_id", "=", cls.salesman.id)]).unlink()
        cls.member = mail_new_test_user(
            cls.env,
            login="kam_field_seller",
            name="Field Fiona",
            groups="base.group_user,sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.team_sales.member_ids = cls.member
        cls.env["kam.service.level"].create({"company_id": cls.company.id, "tier": "a", "team_id": cls.team_key.id})
        cls.key = cls._customer("Team Key Account", user_id=cls.salesman.id)
        cls.small = cls._customer("Team Small Account", user_id=cls.salesman.id)
        cls.env["kam.classification"].create(
            [
                {"company_id": cls.company.id, "partner_id": cls.key.id, "tier": "a"},
                {"company_id": cls.company.id, "partner_id": cls.small.id, "tier": "c"},
            ]
        )
        cls.product = cls.env["product.product"].create({"name": "Gadget", "list_price": 10})

    def _quotation(self, partner, user=None, **context):
        form = Form(self.env["sale.order"].with_user(user or self.salesman).with_context(**context))
        form.partner_id = partner
        if user:
            form.user_id = user
        with form.order_line.new() as line:
            line.product_id = self.product
        return form.save()

    def test_quotation_of_the_tier_gets_its_team(self):
        self.assertEqual(self._quotation(self.key).team_id, self.team_key)
        small = self._quotation(self.small)
        self.assertNotEqual(small.team_id, self.team_key, "C names no team: Odoo's default")
        contact = self.env["res.partner"].create({"name": "Key Buyer", "parent_id": self.key.id})
        self.assertEqual(self._quotation(contact).team_id, self.team_key, "a contact buys for its company")

    def test_chosen_team_and_own_team_win(self):
        self.assertEqual(self._quotation(self.key, default_team_id=self.team_other.id).team_id, self.team_other)
        self.assertEqual(self._quotation(self.key, user=self.member).team_id, self.team_sales, "Fiona's own team")
        order = self._quotation(self.small)
        order.team_id = self.team_other
        order.partner_id = self.key
        self.assertEqual(order.team_id, self.team_other, "chosen on the quotation")

    def test_confirmed_order_keeps_its_team(self):
        order = self._quotation(self.small).with_user(self.env.user)
        team = order.team_id
        order.action_confirm()
        self.env["kam.classification"].search([("partner_id", "=", self.small.id)]).tier = "a"
        order.user_id = self.env.user
        order.user_id = self.salesman
        self.assertNotEqual(order.team_id, self.team_key)
        self.assertEqual(order.team_id, team)

    def test_opportunity_of_the_tier_gets_its_team(self):
        Lead = self.env["crm.lead"].with_user(self.salesman)
        lead = Lead.create(
            {"name": "Big deal", "type": "opportunity", "partner_id": self.key.id, "user_id": self.salesman.id}
        )
        self.assertEqual(lead.team_id, self.team_key)
        other = Lead.create(
            {"name": "Small deal", "type": "opportunity", "partner_id": self.small.id, "user_id": self.salesman.id}
        )
        self.assertNotEqual(other.team_id, self.team_key)
        chosen = Lead.with_context(default_team_id=self.team_other.id).create(
            {"name": "Chosen", "type": "opportunity", "partner_id": self.key.id, "user_id": self.salesman.id}
        )
        self.assertEqual(chosen.team_id, self.team_other)

    def test_team_of_another_company_is_refused(self):
        company_2 = self.env["res.company"].create({"name": "KAM Team Co"})
        foreign = self.env["crm.team"].create({"name": "Elsewhere", "company_id": company_2.id})
        level = self.env["kam.service.level"].search([("company_id", "=", self.company.id), ("tier", "=", "a")])
        with self.assertRaisesRegex(ValidationError, "belongs to KAM Team Co"), self.env.cr.savepoint():
            level.team_id = foreign
        self.assertEqual(level.team_id, self.team_key)
