from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from odoo.addons.mail.tests.common import mail_new_test_user

from .common import KamCommon

# Queries to read the whole portfolio of a company, and to suggest managers for a batch of
# key accounts, whatever their number.
QUERIES_PORTFOLIO_READ = 3
QUERIES_SUGGESTION = 7


class KamTeamCommon(KamCommon):
    """Six classified customers (A, A, A, B, B, C) and a team of three KAMs and a director."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kam2 = cls._kam_user("kam_maria", "Manager Maria")
        cls.kam3 = cls._kam_user("kam_nuria", "Manager Nuria")
        cls.a1, cls.a2, cls.a3, cls.b1, cls.b2, cls.c1 = customers = cls._customers(6, "Team customer")
        day = cls.today.replace(day=1)
        amounts = (4000, 3000, 1000, 1000, 500, 500)
        cls._post_invoices([(partner, amount, day) for partner, amount in zip(customers, amounts, strict=True)])
        cls.first_run = cls.env["kam.classification"]._reclassify_company(cls.company, cls.today)
        cls.History = cls.env["kam.manager.history"]

    @classmethod
    def _kam_user(cls, login, name, groups="base.group_user,kam_management.group_kam_manager", company=None):
        company = company or cls.company
        return mail_new_test_user(
            cls.env,
            login=login,
            name=name,
            groups=groups,
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
        )

    def _assign(self, manager, *partners):
        for partner in partners:
            self._row(partner).manager_id = manager

    def _history(self, partners):
        return self.History.search([("partner_id", "in", partners.ids), ("company_id", "=", self.company.id)])

    def _wizard(self, **vals):
        return self.env["kam.reassign.wizard"].with_user(self.director).create(vals)


@tagged("post_install", "-at_install")
class TestPortfolio(KamTeamCommon):
    """What the director reads in the portfolio: accounts by tier, revenue, effort and load."""

    def test_classification_gives_the_tiers_the_tests_rely_on(self):
        tiers = [self._row(p).tier for p in (self.a1, self.a2, self.a3, self.b1, self.b2, self.c1)]
        self.assertEqual(tiers, ["a", "a", "a", "b", "b", "c"])

    def test_portfolio_sums_the_accounts_of_each_manager(self):
        self._assign(self.kam, self.a1, self.a2, self.b1, self.c1)
        self._assign(self.kam2, self.a3)
        self._row(self.a1).write({"cost_to_serve": 300.0, "visit_count": 3, "visit_hours": 4.5})
        self._row(self.b1).write({"cost_to_serve": 50.0, "visit_count": 1, "visit_hours": 1.0})
        self._row(self.b2).write({"cost_to_serve": 20.0, "visit_count": 1, "visit_hours": 0.5})
        rows = self.env["kam.portfolio"].search([("company_id", "=", self.company.id)])
        by_user = {row.user_id: row for row in rows}
        self.assertNotIn(self.director, by_user, "directors lead the team; they are not rows of it")
        self.assertEqual(set(by_user), {self.kam, self.kam2, self.kam3, self.env["res.users"]})
        mario = by_user[self.kam]
        self.assertEqual(
            (mario.key_account_count, mario.tier_b_count, mario.tier_c_count, mario.account_count),
            (2, 1, 1, 4),
        )
        self.assertEqual(mario.revenue, 8500)
        self.assertEqual((mario.cost_to_serve, mario.visit_count, mario.visit_hours), (350.0, 4, 5.5))
        self.assertAlmostEqual(mario.load, 2 * 100 / 15)
        self.assertEqual(by_user[self.kam2].revenue, 1000)
        nuria = by_user[self.kam3]
        self.assertEqual(
            (nuria.account_count, nuria.revenue, nuria.load), (0, 0, 0), "a KAM without accounts has a row"
        )
        nobody = by_user[self.env["res.users"]]
        self.assertTrue(nobody.is_unassigned)
        self.assertEqual((nobody.key_account_count, nobody.tier_b_count, nobody.account_count), (0, 1, 1))
        self.assertEqual((nobody.revenue, nobody.cost_to_serve), (500, 20.0))
        self.assertEqual(nobody.display_name, "Without KAM")
        # Nobody carries the accounts without a KAM: no maximum, no load, never overloaded.
        self.assertEqual((nobody.max_key_accounts, nobody.load, nobody.is_overloaded), (0, 0.0, False))
        self.assertEqual(mario.max_key_accounts, 15)

    def test_overloaded_above_the_maximum(self):
        self._assign(self.kam, self.a1, self.a2)
        self._assign(self.kam2, self.a3)
        self.company.kam_max_key_accounts = 1
        rows = self.env["kam.portfolio"].search([("company_id", "=", self.company.id), ("is_overloaded", "=", True)])
        self.assertEqual(rows.user_id, self.kam, "at the maximum is full, above it is overloaded")
        self.assertEqual(rows.load, 200.0)

    def test_a_kam_sees_only_their_row(self):
        self._assign(self.kam, self.a1)
        self._assign(self.kam2, self.a2)
        Portfolio = self.env["kam.portfolio"]
        self.assertEqual(Portfolio.with_user(self.kam).search([]).user_id, self.kam)
        self.assertEqual(len(Portfolio.with_user(self.director).search([("company_id", "=", self.company.id)])), 4)
        with self.assertRaises(AccessError):
            Portfolio.with_user(self.salesman).search([])

    def test_portfolio_of_another_company_is_invisible(self):
        company_2 = self.setup_other_company(name="Portfolio second company")["company"]
        self.director.company_ids = [Command.link(company_2.id)]
        self.env["kam.classification"].create(
            {"company_id": company_2.id, "partner_id": self.a1.id, "manager_id": self.director.id}
        )
        Portfolio = self.env["kam.portfolio"].with_user(self.director)
        rows = Portfolio.with_context(allowed_company_ids=[self.company.id]).search([])
        self.assertEqual(rows.company_id, self.company)
        rows = Portfolio.with_context(allowed_company_ids=[self.company.id, company_2.id]).search([])
        self.assertIn(company_2, rows.company_id)
        self.assertEqual(len(Portfolio.with_user(self.kam).search([])), 1, "a KAM of the first company only")

    def test_portfolio_reads_in_constant_queries(self):
        """Reading the portfolio costs the same with 6 accounts and with 60."""
        Portfolio = self.env["kam.portfolio"].with_user(self.director)
        domain = [("company_id", "=", self.company.id)]
        names = ["user_id", "key_account_count", "tier_b_count", "account_count", "revenue", "cost_to_serve", "load"]
        self._assign(self.kam, self.a1, self.b1)
        self._warm_up(lambda: Portfolio.search_read(domain, names))
        self.env.invalidate_all()
        with self.assertQueryCount(QUERIES_PORTFOLIO_READ):
            small = Portfolio.search_read(domain, names)
        partners = self._customers(54, "Bulk customer")
        self.env["kam.classification"].create(
            [
                {
                    "company_id": self.company.id,
                    "partner_id": p.id,
                    "manager_id": (self.kam2 if i % 2 else self.kam3).id,
                }
                for i, p in enumerate(partners)
            ]
        )
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(QUERIES_PORTFOLIO_READ):
            large = Portfolio.search_read(domain, names)
        self.assertEqual(len(small), len(large))
        self.assertEqual(sum(r["account_count"] for r in large), 6 + 54)

    def test_portfolio_opens_the_accounts_of_the_row(self):
        self._assign(self.kam, self.a1, self.b1)
        row = self.env["kam.portfolio"].search([("user_id", "=", self.kam.id)])
        action = row.action_open_accounts()
        self.assertEqual(self.env["kam.classification"].search(action["domain"]).partner_id, self.a1 | self.b1)
        nobody = self.env["kam.portfolio"].search([("company_id", "=", self.company.id), ("is_unassigned", "=", True)])
        accounts = self.env["kam.classification"].search(nobody.action_open_accounts()["domain"])
        self.assertEqual(accounts.partner_id, self.a2 | self.a3 | self.b2 | self.c1)


@tagged("post_install", "-at_install")
class TestReassignment(KamTeamCommon):
    """Moving accounts between KAMs: the accounts, their open work and their history."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for partner in (cls.a1, cls.a2, cls.b1):
            cls.env["kam.classification"].search(
                [("company_id", "=", cls.company.id), ("partner_id", "=", partner.id)]
            ).manager_id = cls.kam
        cls.contact = cls.env["res.partner"].create({"name": "Buyer of A1", "parent_id": cls.a1.id})
        (cls.a1 | cls.a2 | cls.b1).message_subscribe(partner_ids=cls.kam.partner_id.ids)
        cls.todo = cls.env.ref("mail.mail_activity_data_todo")

    def _activity(self, record, user, summary):
        return record.activity_schedule(act_type_xmlid="mail.mail_activity_data_todo", user_id=user.id, summary=summary)

    def _followers(self, record):
        return record.message_follower_ids.partner_id

    def test_reassign_with_carry_over(self):
        """Activities of the old KAM, their open plans and their followership go to the new KAM."""
        call = self._activity(self.a1, self.kam, "Call the buyer")
        on_contact = self._activity(self.contact, self.kam, "Send the catalogue")
        not_theirs = self._activity(self.a1, self.salesman, "Salesman's own call")
        plan = self._plan(self.a1, self.kam)
        on_plan = self._activity(plan, self.kam, "Prepare the review")
        closed = self._plan(self.a1, self.kam, state="cancelled")
        messages_before = len(self.a1.message_ids)
        wizard = self._wizard(
            partner_ids=[Command.set((self.a1 | self.a2).ids)],
            target_manager_id=self.kam2.id,
            reason="Territory change",
        )
        self.assertEqual((wizard.account_count, wizard.key_account_count), (2, 2))
        self.assertFalse(wizard.warning)
        result = wizard.action_apply()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual((self._row(self.a1).manager_id, self._row(self.a2).manager_id), (self.kam2, self.kam2))
        self.assertEqual(self._row(self.b1).manager_id, self.kam, "accounts not selected stay")
        self.assertEqual((call.user_id, on_contact.user_id, on_plan.user_id), (self.kam2, self.kam2, self.kam2))
        self.assertEqual(not_theirs.user_id, self.salesman, "only the old KAM's activities move")
        self.assertEqual(plan.kam_id, self.kam2)
        self.assertEqual(closed.kam_id, self.kam, "closed and cancelled plans keep their owner")
        self.assertIn(self.kam2.partner_id, self._followers(self.a1))
        self.assertNotIn(self.kam.partner_id, self._followers(self.a1))
        self.assertIn(self.kam.partner_id, self._followers(self.b1))
        self.assertIn(self.kam2.partner_id, self._followers(plan))
        self.assertNotIn(self.kam.partner_id, self._followers(plan))
        history = self._history(self.a1 | self.a2).filtered(lambda h: h.new_manager_id == self.kam2)
        self.assertEqual(len(history), 2)
        for line in history:
            self.assertEqual(
                (line.old_manager_id, line.new_manager_id, line.reason, line.state, line.user_id),
                (self.kam, self.kam2, "Territory change", "done", self.director),
            )
            self.assertEqual(line.date, fields.Date.context_today(line))
        new_messages = self.a1.message_ids[: len(self.a1.message_ids) - messages_before]
        self.assertEqual(len(new_messages), 1, "one chatter note per account, no duplicate")
        self.assertIn(self.kam2.name, new_messages.body)

    def test_reassign_without_carry_over(self):
        call = self._activity(self.a1, self.kam, "Call the buyer")
        plan = self._plan(self.a1, self.kam)
        self._wizard(
            partner_ids=[Command.set(self.a1.ids)],
            target_manager_id=self.kam2.id,
            carry_activities=False,
            carry_plans=False,
            carry_followers=False,
        ).action_apply()
        self.assertEqual(self._row(self.a1).manager_id, self.kam2)
        self.assertEqual(call.user_id, self.kam)
        self.assertEqual(plan.kam_id, self.kam)
        self.assertIn(self.kam.partner_id, self._followers(self.a1))
        self.assertNotIn(self.kam2.partner_id, self._followers(self.a1))
        self.assertEqual(self._history(self.a1)[0].new_manager_id, self.kam2)
        self.assertEqual(len(self._history(self.a1)), 2, "the setup's assignment, then this one")

    def test_followers_of_an_account_managed_in_another_company_stay(self):
        company_2 = self.setup_other_company(name="Followers second company")["company"]
        self.kam.company_ids = [Command.link(company_2.id)]
        self.env["kam.classification"].create(
            {"company_id": company_2.id, "partner_id": self.a1.id, "manager_id": self.kam.id}
        )
        self._wizard(partner_ids=[Command.set(self.a1.ids)], target_manager_id=self.kam2.id).action_apply()
        self.assertIn(self.kam.partner_id, self._followers(self.a1), "still the KAM of the account elsewhere")

    def test_reassign_every_account_of_a_kam(self):
        wizard = self._wizard(scope="manager", source_manager_id=self.kam.id, target_manager_id=self.kam3.id)
        self.assertEqual(wizard.account_count, 3)
        wizard.action_apply()
        self.assertFalse(self.env["kam.classification"].search([("manager_id", "=", self.kam.id)]))
        self.assertEqual(
            len(self._history(self.a1 | self.a2 | self.b1).filtered(lambda h: h.new_manager_id == self.kam3)), 3
        )

    def test_wizard_from_partners_creates_missing_rows(self):
        newcomer = self._customer("Not yet classified")
        wizard = (
            self.env["kam.reassign.wizard"]
            .with_user(self.director)
            .with_context(active_model="res.partner", active_ids=self.contact.ids + newcomer.ids)
            .create({"target_manager_id": self.kam2.id})
        )
        self.assertEqual(wizard.partner_ids, self.a1 | newcomer, "contacts stand for their company")
        wizard.action_apply()
        self.assertEqual(self._row(newcomer).manager_id, self.kam2)
        self.assertEqual(newcomer.with_company(self.company).kam_manager_id, self.kam2)

    def test_planned_reassignment_applies_on_its_date(self):
        today = fields.Date.context_today(self.env.user)
        later = today + timedelta(days=10)
        self._wizard(
            partner_ids=[Command.set((self.a1 | self.a2).ids)],
            target_manager_id=self.kam2.id,
            date_from=later,
            reason="Leave",
        ).action_apply()
        self.assertEqual(self._row(self.a1).manager_id, self.kam, "nothing changes before the date")
        history_before = self._history(self.a1 | self.a2)
        planned = history_before.filtered(lambda h: h.state == "planned")
        self.assertEqual(len(planned), 2)
        self.History._apply_planned(later - timedelta(days=1))
        self.assertEqual(self._row(self.a1).manager_id, self.kam)
        self.History._apply_planned(later)
        self.assertEqual(self._row(self.a1).manager_id, self.kam2)
        self.assertEqual(self._history(self.a1 | self.a2), history_before, "the planned rows become the history")
        self.assertEqual(planned.mapped("state"), ["done", "done"])
        self.assertEqual(planned.old_manager_id, self.kam)
        self.assertEqual(planned.mapped("date"), [later, later])

    def test_planned_reassignment_to_a_kam_who_left_is_cancelled(self):
        later = fields.Date.context_today(self.env.user) + timedelta(days=3)
        self._wizard(
            partner_ids=[Command.set(self.a1.ids)], target_manager_id=self.kam2.id, date_from=later
        ).action_apply()
        self.kam2.active = False
        self.History._apply_planned(later)
        self.assertEqual(self._row(self.a1).manager_id, self.kam)
        self.assertEqual(self._history(self.a1)[0].state, "cancelled")
        self.assertIn("cancelled", self.a1.message_ids[0].body)

    def test_changes_from_the_partner_form_are_kept(self):
        partner = self.b2.with_user(self.director).with_company(self.company)
        partner.kam_manager_id = self.kam3
        partner.kam_manager_id = self.kam2
        partner.kam_manager_id = False
        history = self._history(self.b2).sorted("id")
        self.assertEqual(
            [(h.old_manager_id, h.new_manager_id) for h in history],
            [
                (self.env["res.users"], self.kam3),
                (self.kam3, self.kam2),
                (self.kam2, self.env["res.users"]),
            ],
        )

    def test_bad_targets_are_refused_and_nothing_is_saved(self):
        history_before = self._history(self.a1)
        archived = self._kam_user("kam_gone", "Gone Gonzalo")
        archived.active = False
        outsider = self._kam_user(
            "kam_outsider", "Outsider Olga", company=self.setup_other_company(name="Elsewhere")["company"]
        )
        portal = mail_new_test_user(self.env, login="kam_portal", name="Portal Pablo", groups="base.group_portal")
        for target in (archived, self.salesman, outsider, portal):
            with self.subTest(target=target.name):
                wizard = self._wizard(partner_ids=[Command.set(self.a1.ids)], target_manager_id=target.id)
                with self.assertRaises(ValidationError) as catcher:
                    wizard.action_apply()
                self.assertIn("cannot manage the key accounts", str(catcher.exception))
                with self.assertRaises(ValidationError):
                    self.a1.with_user(self.director).with_company(self.company).kam_manager_id = target
                with self.assertRaises(ValidationError):
                    self._wizard(
                        partner_ids=[Command.set(self.a1.ids)],
                        target_manager_id=target.id,
                        date_from=fields.Date.context_today(self.env.user) + timedelta(days=5),
                    ).action_apply()
        self.assertEqual(self._row(self.a1).manager_id, self.kam)
        self.assertEqual(self._history(self.a1), history_before)

    def test_a_kam_cannot_reassign(self):
        with self.assertRaises(AccessError):
            self.env["kam.reassign.wizard"].with_user(self.kam).create({"target_manager_id": self.kam2.id})
        with self.assertRaises(AccessError):
            self._row(self.a1).with_user(self.kam)._reassign_manager(self.kam2)
        with self.assertRaises(AccessError):
            self.History.with_user(self.kam).search([])[:1].write({"reason": "mine"})


@tagged("post_install", "-at_install")
class TestSuggestion(KamTeamCommon):
    """Whom to suggest for a new key account without a KAM, and the maximum per KAM."""

    def test_the_run_suggests_managers_to_the_directors(self):
        """Three new key accounts, nobody manages them: the run's note spreads them over the team."""
        note = self.first_run.message_ids.filtered(lambda m: "Suggested Key Account Managers" in (m.body or ""))
        self.assertEqual(len(note), 1)
        for name in (self.a1.name, self.a2.name, self.a3.name, self.kam.name, self.kam2.name, self.kam3.name):
            self.assertIn(name, note.body)

    def test_suggestions_spread_over_the_room_left(self):
        self.company.kam_max_key_accounts = 2
        self._assign(self.kam, self.a1)
        rows = self._row(self.a2) | self._row(self.a3)
        self.assertEqual(rows.mapped("suggested_manager_id"), self.kam2 | self.kam3)
        self.assertEqual(self._row(self.a2).suggested_manager_id, self.kam2, "fewest key accounts, then lowest id")
        self.assertEqual(self._row(self.a3).suggested_manager_id, self.kam3, "the second goes to the next with room")
        self.assertFalse(self._row(self.a1).suggested_manager_id, "assigned accounts get no suggestion")
        self.assertFalse(self._row(self.b2).suggested_manager_id, "only key accounts are suggested")
        rows.with_user(self.director).action_assign_suggested()
        self.assertEqual((self._row(self.a2).manager_id, self._row(self.a3).manager_id), (self.kam2, self.kam3))
        self.assertIn("Suggested", self._history(self.a2).reason)

    def test_strategy_fewest_accounts_or_least_revenue(self):
        """Mario: 1 key account (1,000); Maria: B and C accounts only (2,000); Nuria: 1 key account (4,000)."""
        self.company.kam_max_key_accounts = 2
        self._assign(self.kam, self.a3)
        self._assign(self.kam2, self.b1, self.b2, self.c1)
        self._assign(self.kam3, self.a1)
        self.company.kam_assignment_strategy = "accounts"
        self.assertEqual(self._row(self.a2).suggested_manager_id, self.kam2)
        self.company.kam_assignment_strategy = "revenue"
        self.env.invalidate_all()
        self.assertEqual(self._row(self.a2).suggested_manager_id, self.kam)

    def test_never_past_the_maximum(self):
        self.company.kam_max_key_accounts = 1
        self._assign(self.kam, self.a1)
        self._assign(self.kam2, self.a2)
        self.kam3.active = False
        self.assertFalse(self._row(self.a3).suggested_manager_id, "everyone is full: no suggestion")
        with self.assertRaises(UserError) as catcher:
            self._row(self.a3).with_user(self.director).action_assign_suggested()
        self.assertIn("nothing to suggest", str(catcher.exception))

    def test_a_director_may_exceed_the_maximum_and_is_warned(self):
        self.company.kam_max_key_accounts = 1
        self._assign(self.kam, self.a1)
        partner = self.a2.with_user(self.director).with_company(self.company)
        with self.assertLogs("odoo.tests.form.onchange", level="WARNING") as logs:
            with Form(partner) as form:
                form.kam_manager_id = self.kam
        self.assertIn("more than the maximum of 1", logs.output[0])
        self.assertEqual(self._row(self.a2).manager_id, self.kam, "the warning does not block")
        wizard = self._wizard(partner_ids=[Command.set(self.a3.ids)], target_manager_id=self.kam.id)
        self.assertIn("would manage 3 key accounts", wizard.warning)
        result = wizard.action_apply()
        self.assertEqual(result["params"]["type"], "warning")
        self.assertEqual(self._row(self.a3).manager_id, self.kam)
        overloaded = self.env["kam.portfolio"].search(
            [("company_id", "=", self.company.id), ("is_overloaded", "=", True)]
        )
        self.assertEqual(overloaded.user_id, self.kam)

    def test_no_warning_under_the_maximum(self):
        partner = self.a2.with_user(self.director).with_company(self.company)
        with self.assertNoLogs("odoo.tests.form.onchange", level="WARNING"):
            with Form(partner) as form:
                form.kam_manager_id = self.kam

    def test_maximum_below_one_is_refused(self):
        for value in (0, -3):
            with self.subTest(value=value), self.assertRaises(ValidationError) as catcher:
                self.company.kam_max_key_accounts = value
            self.assertIn("at least 1", str(catcher.exception))
        self.assertEqual(self.company.kam_max_key_accounts, 15)

    def test_suggestion_is_computed_in_constant_queries(self):
        """Suggesting for 2 key accounts or for 40 costs the same queries."""
        partners = self._customers(38, "Bulk key account")
        bulk = self.env["kam.classification"].create(
            [{"company_id": self.company.id, "partner_id": p.id} for p in partners]
        )
        for rank, row in enumerate(bulk, start=7):
            row.write({"tier": "a", "rank": rank, "revenue": 10.0})
        small = self._row(self.a2) | self._row(self.a3)
        large = small | bulk
        self._warm_up(lambda: small.mapped("suggested_manager_id"))
        for rows, expected in ((small, self.kam2 | self.kam3), (large, self.kam | self.kam2 | self.kam3)):
            self.env.invalidate_all()
            with self.assertQueryCount(QUERIES_SUGGESTION):
                suggested = rows.mapped("suggested_manager_id")
            self.assertEqual(suggested, expected)
