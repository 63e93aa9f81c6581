from datetime import date

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.mail.tests.common import mail_new_test_user

from .common import KamCommon

SUB_MODELS = (
    "kam.account.plan.objective",
    "kam.account.plan.action",
    "kam.account.plan.stakeholder",
    "kam.account.review",
)


@tagged("post_install", "-at_install")
class TestAccountPlanSecurity(KamCommon):
    """Who sees and edits which account plan, through the screens and through the API alike.

    Mario (``kam``) runs one plan himself and manages the account of a plan that a director
    drew up; Olga, another KAM, runs a third plan; Sam is a salesman with no key-account role.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_kam = mail_new_test_user(
            cls.env,
            login="kam_other",
            name="Other KAM Olga",
            groups="base.group_user,kam_management.group_kam_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.own_account, cls.managed_account, cls.foreign_account = cls._customers(3, "Secured")
        cls.contacts = cls.env["res.partner"].create(
            [
                {"name": f"Contact of {p.name}", "parent_id": p.id}
                for p in (cls.own_account, cls.managed_account, cls.foreign_account)
            ]
        )
        cls.managed_account.with_company(cls.company).kam_manager_id = cls.kam
        cls.foreign_account.with_company(cls.company).kam_manager_id = cls.other_kam
        Plan = cls.env["kam.account.plan"]
        period = {"company_id": cls.company.id, "date_start": date(2026, 1, 1), "date_end": date(2026, 12, 31)}
        cls.own_plan = Plan.create({"partner_id": cls.own_account.id, "kam_id": cls.kam.id, **period})
        cls.managed_plan = Plan.create({"partner_id": cls.managed_account.id, "kam_id": cls.director.id, **period})
        cls.foreign_plan = Plan.create({"partner_id": cls.foreign_account.id, **period})
        cls.plans = cls.own_plan | cls.managed_plan | cls.foreign_plan
        for plan, contact in zip(cls.plans, cls.contacts, strict=True):
            plan.write(
                {
                    "objective_ids": [Command.create({"measure": "revenue", "target": 100})],
                    "stakeholder_ids": [Command.create({"partner_id": contact.id, "influence": 3})],
                    "review_ids": [Command.create({"date": date(2026, 3, 1), "satisfaction_score": 7})],
                    "action_ids": [
                        Command.create({"name": "Step", "user_id": plan.kam_id.id, "date_deadline": date(2026, 9, 1)})
                    ],
                }
            )

    def test_a_kam_sees_and_edits_the_plans_of_their_accounts_only(self):
        self.assertEqual(self.foreign_plan.kam_id, self.other_kam, "the account's KAM runs the plan by default")
        Plan = self.env["kam.account.plan"].with_user(self.kam)
        self.assertEqual(Plan.search([("id", "in", self.plans.ids)]), self.own_plan | self.managed_plan)
        for plan in (self.own_plan, self.managed_plan):
            plan.with_user(self.kam).write({"strategy": "<p>Mine</p>"})
            plan.objective_ids.with_user(self.kam).write({"target": 200})
            self.env["kam.account.plan.action"].with_user(self.kam).create(
                {"plan_id": plan.id, "name": "Next step", "user_id": self.kam.id, "date_deadline": date(2026, 10, 1)}
            )
        for model in SUB_MODELS:
            with self.subTest(model=model):
                records = self.env[model].with_user(self.kam).search([("plan_id", "in", self.plans.ids)])
                self.assertEqual(records.plan_id, self.own_plan | self.managed_plan)

    def test_a_kam_cannot_open_another_kams_plan_even_through_the_api(self):
        foreign = self.foreign_plan.with_user(self.kam)
        with self.assertRaises(AccessError):
            foreign.read(["name"])
        with self.assertRaises(AccessError):
            foreign.write({"strategy": "<p>Taken over</p>"})
        with self.assertRaises(AccessError):
            foreign.action_renew()
        self.assertFalse(
            self.env["kam.account.plan"].with_user(self.kam).search_read([("id", "=", self.foreign_plan.id)])
        )
        self.assertFalse(
            self.env["kam.account.plan"]
            .with_user(self.kam)
            .web_search_read([("partner_id", "=", self.foreign_account.id)], {"name": {}})["records"]
        )
        for model in SUB_MODELS:
            with self.subTest(model=model):
                records = self.env[model].search([("plan_id", "=", self.foreign_plan.id)]).with_user(self.kam)
                with self.assertRaises(AccessError):
                    records.read(["plan_id"])
        with self.assertRaises(AccessError):
            self.env["kam.account.plan.objective"].with_user(self.kam).create(
                {"plan_id": self.foreign_plan.id, "measure": "revenue", "target": 1}
            )
        with self.assertRaises(AccessError):
            self.env["kam.account.review"].with_user(self.kam).create(
                {"plan_id": self.foreign_plan.id, "satisfaction_score": 1}
            )
        with self.assertRaises(AccessError):
            self.env["kam.account.plan"].with_user(self.kam).create(
                {"partner_id": self.foreign_account.id, "kam_id": self.other_kam.id}
            )
        self.assertFalse(self.foreign_account.with_user(self.kam).kam_plan_count)

    def test_the_account_kam_loses_access_when_the_account_changes_hands(self):
        self.managed_account.with_company(self.company).kam_manager_id = self.other_kam
        self.env.invalidate_all()
        with self.assertRaises(AccessError):
            self.managed_plan.with_user(self.kam).read(["name"])
        self.assertTrue(self.managed_plan.with_user(self.other_kam).read(["name"]))

    def test_a_kam_reads_the_opportunities_of_their_accounts_whoever_sells(self):
        """Sam sells to Mario's account and to Olga's: Mario reads the first (his plan lists
        it) but cannot change it, and never sees the second."""
        Lead = self.env["crm.lead"]
        mine, foreign = Lead.create(
            [
                {
                    "name": f"Deal with {partner.name}",
                    "type": "opportunity",
                    "partner_id": contact.id,
                    "user_id": self.salesman.id,
                    "company_id": self.company.id,
                    "expected_revenue": 1000,
                }
                for partner, contact in (
                    (self.managed_account, self.contacts[1]),
                    (self.foreign_account, self.contacts[2]),
                )
            ]
        )
        as_kam = Lead.with_user(self.kam)
        self.assertEqual(as_kam.search([("id", "in", (mine | foreign).ids)]), mine)
        self.assertEqual(self.managed_plan.with_user(self.kam).opportunity_ids, mine)
        with self.assertRaises(AccessError):
            mine.with_user(self.kam).write({"expected_revenue": 1})
        with self.assertRaises(AccessError):
            foreign.with_user(self.kam).read(["name"])
        # The rule follows the account: once it changes hands, Olga reads it, Mario no more.
        self.managed_account.with_company(self.company).kam_manager_id = self.other_kam
        self.env.invalidate_all()
        self.assertFalse(as_kam.search([("id", "=", mine.id)]))
        self.assertEqual(Lead.with_user(self.other_kam).search([("id", "in", (mine | foreign).ids)]), mine | foreign)

    def test_directors_see_and_edit_every_plan(self):
        Plan = self.env["kam.account.plan"].with_user(self.director)
        self.assertEqual(Plan.search([("id", "in", self.plans.ids)]), self.plans)
        self.foreign_plan.with_user(self.director).write({"kam_id": self.kam.id})
        self.assertTrue(self.foreign_plan.with_user(self.kam).read(["name"]), "now Mario runs it")

    def test_salespeople_read_only_the_plans_they_follow(self):
        Plan = self.env["kam.account.plan"].with_user(self.salesman)
        self.assertFalse(Plan.search([("id", "in", self.plans.ids)]))
        with self.assertRaises(AccessError):
            self.own_plan.with_user(self.salesman).read(["name"])
        self.own_plan.message_subscribe(partner_ids=self.salesman.partner_id.ids)
        self.assertEqual(Plan.search([("id", "in", self.plans.ids)]), self.own_plan)
        self.assertTrue(self.own_plan.with_user(self.salesman).objective_ids.read(["actual", "status"]))
        with self.assertRaises(AccessError):
            self.own_plan.with_user(self.salesman).write({"strategy": "<p>Mine now</p>"})
        with self.assertRaises(AccessError):
            self.own_plan.objective_ids.with_user(self.salesman).write({"target": 1})
        with self.assertRaises(AccessError):
            self.env["kam.account.plan"].with_user(self.salesman).create({"partner_id": self.own_account.id})

    def test_a_salesperson_owning_a_step_closes_it_from_their_activities(self):
        action = self.env["kam.account.plan.action"].create(
            {
                "plan_id": self.own_plan.id,
                "name": "Demo for the plant",
                "user_id": self.salesman.id,
                "date_deadline": date(2026, 9, 1),
            }
        )
        activities = self.env["mail.activity"].with_user(self.salesman).search([("user_id", "=", self.salesman.id)])
        self.assertIn(action.activity_id, activities)
        self.assertTrue(self.own_plan.with_user(self.salesman).read(["name"]), "the owner follows the plan")
        action.activity_id.with_user(self.salesman).action_done()
        self.assertEqual(action.state, "done")
        with self.assertRaises(AccessError):
            action.with_user(self.salesman).write({"state": "todo"})

    def test_plans_of_another_company_are_invisible(self):
        company_2 = self.setup_other_company(name="Plan security company")["company"]
        plan = self.env["kam.account.plan"].create(
            {"partner_id": self.own_account.id, "company_id": company_2.id, "kam_id": self.kam.id}
        )
        with self.assertRaises(AccessError):
            plan.with_user(self.kam).read(["name"])
        self.kam.company_ids = [Command.link(company_2.id)]
        self.assertTrue(
            plan.with_user(self.kam).with_context(allowed_company_ids=[self.company.id, company_2.id]).read(["name"])
        )
