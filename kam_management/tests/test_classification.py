from dateutil.relativedelta import relativedelta
from lxml import etree

from odoo import Command, fields
from odoo.exceptions import UserError, ValidationError
from odoo.sql_db import db_connect
from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from ..models.kam_classification import _RUN_LOCK_KEY
from .common import KamCommon


@tagged("post_install", "-at_install")
class TestClassification(KamCommon):
    """The 80/20 engine on known data: what a director checks after a run."""

    def _notes(self, partner):
        """The engine's notes on ``partner``, newest first."""
        return self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", partner.id), ("message_type", "=", "notification")],
            order="id desc",
        )

    def test_tiers_follow_the_cumulative_share(self):
        """50/30/15/5: the customer that reaches 80 % is still A; B up to 95 %; C after."""
        a1, a2, b, c = self._customers(4)
        self._post_invoices(
            [
                (a1, 5000, self.months_ago(1)),
                (a2, 3000, self.months_ago(2)),
                (b, 1500, self.months_ago(3)),
                (c, 500, self.months_ago(4)),
            ]
        )
        run = self._run()
        self.assertEqual(self._tiers([a1, a2, b, c]), ["a", "a", "b", "c"])
        row = self._row(a2)
        self.assertEqual(row.rank, 2)
        self.assertAlmostEqual(row.share, 30.0)
        self.assertAlmostEqual(row.cumulative_share, 80.0)
        self.assertEqual(row.revenue, 3000)
        self.assertTrue(a1.with_company(self.company).is_key_account)
        self.assertFalse(b.with_company(self.company).is_key_account)
        self.assertEqual((run.key_account_count, run.tier_b_count, run.tier_c_count), (2, 1, 1))

    def test_crossing_customer_is_a(self):
        """50/25/20/5: the third customer takes the running share from 75 % to 95 %, and is A."""
        first, second, crossing, last = self._customers(4)
        self._post_invoices(
            [
                (first, 500, self.months_ago(1)),
                (second, 250, self.months_ago(1)),
                (crossing, 200, self.months_ago(1)),
                (last, 50, self.months_ago(1)),
            ]
        )
        self._run()
        self.assertEqual(self._tiers([first, second, crossing, last]), ["a", "a", "a", "c"])

    def test_one_customer_is_a_key_account(self):
        (only,) = self._customers(1)
        self._post_invoices([(only, 10, self.months_ago(1))])
        self._run()
        self.assertEqual(self._row(only).tier, "a")
        self.assertAlmostEqual(self._row(only).cumulative_share, 100.0)

    def test_equal_revenues_rank_by_partner_id(self):
        """Five customers at 20 % each: ties break by id, four are A and the fifth is B."""
        customers = self._customers(5)
        self._post_invoices([(p, 100, self.months_ago(1)) for p in reversed(customers)])
        self._run()
        self.assertEqual([self._row(p).rank for p in customers], [1, 2, 3, 4, 5])
        self.assertEqual(self._tiers(customers), ["a", "a", "a", "a", "b"])

    def test_zero_total_classifies_nobody(self):
        customers = self._customers(3)
        run = self._run()
        self.assertFalse(self.Classification.search([("company_id", "=", self.company.id)]))
        self.assertEqual(self._tiers(customers), [False] * 3)
        self.assertEqual(run.changed_count, 0)

    def test_refunds_above_invoices_leave_no_tier(self):
        good, refunded = self._customers(2)
        self._post_invoices([(good, 1000, self.months_ago(2)), (refunded, 100, self.months_ago(3))])
        self._run()
        self.assertEqual(self._row(refunded).tier, "b")
        self._post_invoices([(refunded, -600, self.months_ago(1))])
        self._run(run_date=self.today + relativedelta(days=1))
        row = self._row(refunded)
        self.assertFalse(row.tier, "net revenue below zero: not classified")
        self.assertEqual(row.revenue, 0)
        self.assertFalse(row.rank)
        self.assertEqual(self._row(good).cumulative_share, 100.0)

    def test_contacts_roll_up_to_their_company(self):
        big, small = self._customers(2)
        contact = self.env["res.partner"].create({"name": "Buyer", "parent_id": small.id})
        self._post_invoices(
            [(big, 600, self.months_ago(1)), (small, 300, self.months_ago(1)), (contact, 500, self.months_ago(1))]
        )
        self._run()
        self.assertFalse(self._row(contact), "contacts are never classified themselves")
        self.assertEqual(self._row(small).revenue, 800)
        self.assertEqual(self._row(small).rank, 1)
        self.assertEqual(contact.with_company(self.company).commercial_partner_id.kam_tier, "a")
        self.assertTrue(contact.with_company(self.company).is_key_account)

    def test_only_posted_customer_invoices_inside_the_window_count(self):
        customer, other = self._customers(2)
        window_start = self.today - relativedelta(months=12) + relativedelta(days=1)
        self._post_invoices(
            [
                (customer, 100, window_start),  # first day of the window: counted
                (customer, 1000, window_start - relativedelta(days=1)),  # the day before: not counted
                (customer, 10, self.today),  # the run date itself: counted
                (customer, 5000, self.today + relativedelta(days=1)),  # after the run date: not counted
                (other, 1000, self.months_ago(1)),
            ]
        )
        draft = self._post_invoices([(customer, 7000, self.months_ago(1))])
        draft.button_draft()
        self._post_invoices([(customer, 9000, self.months_ago(1), "in_invoice")])
        self._run()
        self.assertEqual(self._row(customer).revenue, 110)

    def test_window_follows_the_company_setting(self):
        customer, other = self._customers(2)
        self._post_invoices([(customer, 1000, self.months_ago(18)), (other, 100, self.months_ago(1))])
        self._run()
        self.assertFalse(self._row(customer).tier)
        self.company.write({"kam_window_months": 24, "kam_kpi_retention_days": 800})
        self._run(run_date=self.today + relativedelta(days=1))
        self.assertEqual(self._row(customer).tier, "a")

    def test_sales_order_source(self):
        """With the sales-order source, confirmed orders count by order date; quotations don't."""
        self.company.kam_revenue_source = "sale_order"
        customer, other = self._customers(2)
        SaleOrder = self.env["sale.order"].with_company(self.company)

        def order(partner, amount, date):
            return SaleOrder.create(
                {
                    "partner_id": partner.id,
                    "date_order": date,
                    "order_line": [
                        Command.create({"product_id": self.product_a.id, "price_unit": amount, "tax_id": []})
                    ],
                }
            )

        confirmed = order(customer, 300, self.months_ago(1))
        confirmed.action_confirm()
        confirmed.date_order = self.months_ago(1)
        order(customer, 5000, self.months_ago(1))  # a quotation
        other_order = order(other, 50, self.months_ago(2))
        other_order.action_confirm()
        other_order.date_order = self.months_ago(2)
        self._run()
        self.assertEqual(self._row(customer).revenue, 300)
        self.assertEqual(self._row(customer).tier, "a")
        self.assertEqual(self._row(other).tier, "b")

    def test_two_companies_classify_a_shared_customer_separately(self):
        shared, local = self._customers(2)
        company_2 = self.setup_other_company(name="Second company")["company"]
        self._post_invoices([(shared, 1000, self.months_ago(1)), (local, 50, self.months_ago(1))])
        self._post_invoices([(shared, 50, self.months_ago(1)), (local, 1000, self.months_ago(1))], company=company_2)
        self._run()
        self._run(company=company_2)
        self.assertEqual(shared.with_company(self.company).kam_tier, "a")
        self.assertEqual(shared.with_company(company_2).kam_tier, "c")
        self.assertEqual(local.with_company(company_2).kam_tier, "a")
        self.assertEqual(self._row(shared, company_2).revenue, 50)

    def test_partner_lists_filter_group_and_sort_by_the_company_tier(self):
        """The tier is read from the current company's row: filters, group-by and sorting
        of the partner list follow the company the user works in."""
        big, mid, small, idle = self._customers(4)
        company_2 = self.setup_other_company(name="Second company")["company"]
        self._post_invoices(
            [(big, 800, self.months_ago(1)), (mid, 150, self.months_ago(1)), (small, 50, self.months_ago(1))]
        )
        self._post_invoices([(small, 1000, self.months_ago(1)), (big, 10, self.months_ago(1))], company=company_2)
        self._run()
        self._run(company=company_2)
        scope = [("id", "in", (big | mid | small | idle).ids)]
        partners = self.env["res.partner"].with_company(self.company)
        self.assertEqual(partners.search([*scope, ("kam_tier", "=", "a")]), big)
        self.assertEqual(partners.search([*scope, ("kam_tier", "=", False)]), idle)
        self.assertEqual(partners.search([*scope, ("kam_tier", "in", ["b", False])]), mid | idle)
        self.assertEqual(partners.search([*scope, ("kam_tier", "!=", "a")]), mid | small | idle)
        self.assertEqual(partners.search([*scope, ("kam_tier", "not in", ["a", False])]), mid | small)
        self.assertEqual(partners.search([*scope, ("is_key_account", "=", True)]), big)
        groups = dict(partners._read_group(scope, ["kam_tier"], ["__count"]))
        self.assertEqual(groups, {"a": 1, "b": 1, "c": 1, False: 1})
        self.assertEqual(partners.search(scope, order="kam_tier, id"), big | mid | small | idle)
        attributes = partners.fields_get(["kam_tier"], ["groupable", "sortable"])["kam_tier"]
        self.assertTrue(attributes["groupable"] and attributes["sortable"])

        partners_2 = partners.with_company(company_2)
        self.assertEqual(partners_2.search([*scope, ("kam_tier", "=", "a")]), small)
        self.assertEqual(dict(partners_2._read_group(scope, ["kam_tier"], ["__count"])), {"a": 1, "c": 1, False: 2})
        # Grouping reads the rows without a query per partner.
        with self.assertQueryCount(1):
            partners_2._read_group(scope, ["kam_tier"], ["__count"])

    def test_demotion_waits_for_the_grace_runs(self):
        self.company.kam_demotion_grace = 2
        star, rival = self._customers(2)
        self._post_invoices([(star, 1000, self.months_ago(11)), (rival, 100, self.months_ago(1))])
        self._run()
        self.assertEqual(self._row(star).tier, "a")
        self.assertEqual(self._row(rival).tier, "b")
        # The rival grows: the star now ranks second, past the 80 % line.
        self._post_invoices([(rival, 9000, self.months_ago(1))])
        day = self.today + relativedelta(days=1)
        self._run(run_date=day)
        self.assertEqual(self._row(rival).tier, "a", "promotion is immediate")
        self.assertEqual(self._row(star).tier, "a", "first run below: kept")
        self.assertEqual(self._row(star).computed_tier, "b")
        # The list, the form and the partner say why the tier is out of rank order.
        self.assertEqual(self._row(star).tier_reason, "Kept by grace, 1 of 2 runs below")
        self.assertEqual(star.with_company(self.company).kam_tier_reason, "Kept by grace, 1 of 2 runs below")
        self.assertFalse(self._row(rival).tier_reason, "a tier that follows the revenue needs no reason")
        self._run(run_date=day)
        self.assertEqual(self._row(star).runs_below, 1, "a rerun on the same day is the same run")
        self._run(run_date=day + relativedelta(days=1))
        self.assertEqual(self._row(star).tier, "a", "second run below: kept")
        self._run(run_date=day + relativedelta(days=2))
        self.assertEqual(self._row(star).tier, "b", "third run below: demoted")
        self.assertEqual(self._row(star).runs_below, 0)
        self.assertFalse(self._row(star).tier_reason)

    def test_back_at_tier_resets_the_grace(self):
        self.company.kam_demotion_grace = 1
        star, rival = self._customers(2)
        self._post_invoices([(star, 1000, self.months_ago(1)), (rival, 100, self.months_ago(1))])
        self._run()
        self._post_invoices([(rival, 9000, self.months_ago(1))])
        self._run(run_date=self.today + relativedelta(days=1))
        self.assertEqual(self._row(star).runs_below, 1)
        self._post_invoices([(star, 90000, self.months_ago(1))])
        self._run(run_date=self.today + relativedelta(days=2))
        self.assertEqual(self._row(star).runs_below, 0)
        self.assertEqual(self._row(star).tier, "a")

    def test_locked_tier_is_kept_and_the_engine_says_what_it_computed(self):
        big, small = self._customers(2)
        self._post_invoices([(big, 1000, self.months_ago(1)), (small, 10, self.months_ago(1))])
        self._run()
        wizard = (
            self.env["kam.tier.lock.wizard"]
            .with_user(self.director)
            .create({"partner_id": small.id, "tier": "a", "reason": "Strategic launch customer"})
        )
        wizard.action_apply()
        row = self._row(small)
        self.assertEqual(small.with_company(self.company).kam_tier, "a")
        manual = row.history_ids.filtered(lambda line: line.cause == "manual")
        self.assertEqual((manual.old_tier, manual.new_tier, manual.user_id), ("c", "a", self.director))
        # "By" is the director for the lock, the run's user for the engine's lines.
        lines = [("id", "in", row.history_ids.ids)]
        History = self.env["kam.tier.history"]
        self.assertEqual(History.search([*lines, ("user_id", "=", self.director.id)]), manual)
        engine_lines = row.history_ids - manual
        self.assertEqual(engine_lines.user_id, self.env.user)
        self.assertEqual(History.search([*lines, ("user_id", "=", self.env.uid)]), engine_lines)
        run = self._run(run_date=self.today + relativedelta(days=1))
        self.assertEqual(row.tier, "a", "the engine never changes a locked tier")
        self.assertEqual(row.computed_tier, "c")
        self.assertTrue(row.lock_differs)
        self.assertEqual(row.tier_reason, "Locked")
        self.assertEqual(run.changed_count, 0)

    def test_lock_expires_at_its_end_date(self):
        big, small = self._customers(2)
        self._post_invoices([(big, 1000, self.months_ago(1)), (small, 10, self.months_ago(1))])
        self._run()
        today = fields.Date.today()
        self._row(small).with_user(self.director)._set_locked_tier("a", "Trial", today + relativedelta(days=5))
        self._run(run_date=today + relativedelta(days=5))
        self.assertTrue(self._row(small).locked, "still locked on its last day")
        # Daily KPI snapshots must outlive the window: lengthen both.
        self.company.write({"kam_window_months": 36, "kam_kpi_retention_days": 1200})
        self._run(run_date=today + relativedelta(days=6))
        row = self._row(small)
        self.assertFalse(row.locked)
        self.assertEqual(row.tier, "c")

    def test_lock_needs_a_reason_and_a_future_end(self):
        (customer,) = self._customers(1)
        self._post_invoices([(customer, 10, self.months_ago(1))])
        self._run()
        row = self._row(customer).with_user(self.director)
        with self.assertRaises(UserError):
            row._set_locked_tier("b", "")
        with self.assertRaises(UserError):
            row._set_locked_tier("b", "Why not", self.today - relativedelta(years=5))
        self.assertFalse(row.locked)

    def test_second_run_on_the_same_data_changes_nothing(self):
        customers = self._customers(6)
        self._post_invoices([(p, 100 * (i + 1) ** 2, self.months_ago(1)) for i, p in enumerate(customers)])
        self._run()
        rows = self.Classification.search([("company_id", "=", self.company.id)])
        before = rows.read(["tier", "revenue", "rank", "share", "cumulative_share"])
        versions = self._row_versions(rows)
        history_count = self.env["kam.tier.history"].search_count([("company_id", "=", self.company.id)])
        message_count = self.env["mail.message"].search_count(
            [("model", "=", "res.partner"), ("res_id", "in", customers.ids)]
        )
        run = self._run()
        self.assertEqual(run.changed_count, 0)
        self.assertEqual(rows.read(["tier", "revenue", "rank", "share", "cumulative_share"]), before)
        self.assertEqual(self._row_versions(rows), versions, "a run on the same data rewrote rows")
        self.assertEqual(
            self.env["kam.tier.history"].search_count([("company_id", "=", self.company.id)]), history_count
        )
        self.assertEqual(
            self.env["mail.message"].search_count([("model", "=", "res.partner"), ("res_id", "in", customers.ids)]),
            message_count,
        )

    def test_every_change_is_kept_in_history_and_chatter(self):
        """Every tier change gets a history line; after the initial classification, a new key
        account and a changed tier also get a note on the customer."""
        first, second, newcomer = self._customers(3)
        self._post_invoices([(first, 900, self.months_ago(1)), (second, 100, self.months_ago(1))])
        run = self._run()
        history = self.env["kam.tier.history"].search([("partner_id", "=", first.id)])
        self.assertEqual(len(history), 1)
        self.assertEqual((history.old_tier, history.new_tier, history.cause), (False, "a", "engine"))
        self.assertEqual(history.run_id, run)
        self.assertEqual(history.revenue, 900)
        self.assertEqual(history.company_id, self.company)
        self.assertEqual(history.user_id, self.env.user)
        self.assertEqual(first.with_company(self.company).kam_tier_history_ids, history)
        self.assertFalse(self._notes(first), "the initial classification is noted on the run, not on each customer")
        # The second customer overtakes the first (A is lost and gained) and a newcomer is a
        # key account at once: all noted.
        self._post_invoices([(second, 4900, self.months_ago(1)), (newcomer, 1000, self.months_ago(1))])
        run = self._run(run_date=self.today + relativedelta(days=1))
        self.assertEqual(self._tiers([first, second, newcomer]), ["b", "a", "a"])
        lost = self.env["kam.tier.history"].search([("partner_id", "=", first.id), ("run_id", "=", run.id)])
        self.assertEqual((lost.old_tier, lost.new_tier), ("a", "b"))
        self.assertIn("A – Key account → B", self._notes(first).body)
        gained = self.env["kam.tier.history"].search([("partner_id", "=", second.id), ("run_id", "=", run.id)])
        self.assertEqual((gained.old_tier, gained.new_tier), ("b", "a"))
        self.assertIn("B → A – Key account", self._notes(second).body)
        message = self._notes(newcomer)
        self.assertEqual(len(message), 1)
        self.assertIn("not classified → A – Key account", message.body)
        self.assertIn("revenue 1,000.00", message.body)
        self.assertIn("share 14.5 %", message.body)
        self.assertEqual((run.changed_count, run.promoted_count, run.demoted_count), (3, 2, 1))

    def test_existing_tier_change_is_noted(self):
        """B to C and C to B (no key account involved) change existing tiers: both noted."""
        big, middle, small = self._customers(3)
        self._post_invoices(
            [(big, 9000, self.months_ago(1)), (middle, 600, self.months_ago(1)), (small, 400, self.months_ago(1))]
        )
        self._run()
        self.assertEqual(self._tiers([big, middle, small]), ["a", "b", "c"])
        self.assertFalse(self._notes(middle))
        self._post_invoices([(middle, -500, self.months_ago(1))])
        self._run(run_date=self.today + relativedelta(days=1))
        self.assertEqual(self._tiers([middle, small]), ["c", "b"])
        self.assertIn("B → C", self._notes(middle).body)
        self.assertIn("C → B", self._notes(small).body)

    def test_initial_classification_is_noted_once_on_the_run(self):
        """The company's first run: a history line per customer, one note on the run, none on
        the customers (installing on a large database must not write a note per customer)."""
        big, middle, small = self._customers(3)
        self._post_invoices(
            [(big, 9000, self.months_ago(1)), (middle, 600, self.months_ago(1)), (small, 400, self.months_ago(1))]
        )
        run = self._run()
        self.assertEqual(self._tiers([big, middle, small]), ["a", "b", "c"])
        for partner, tier in ((big, "a"), (middle, "b"), (small, "c")):
            history = self.env["kam.tier.history"].search([("partner_id", "=", partner.id)])
            self.assertEqual((history.old_tier, history.new_tier, history.run_id), (False, tier, run))
            self.assertFalse(self._notes(partner))
        summary = run.message_ids.filtered(lambda m: "Initial classification" in (m.body or ""))
        self.assertEqual(len(summary), 1)
        self.assertIn(
            "3 customers were classified, 1 as key accounts (tier A), 1 in tier B and 1 in tier C", summary.body
        )
        self.assertEqual(run.changed_count, 3)

    def test_first_classification_in_b_or_c_gets_history_but_no_note(self):
        """After the initial run, unclassified to B or C: a history line, no note on the
        customer, one summary on the run; unclassified to A is noted."""
        (veteran,) = self._customers(1, prefix="Veteran")
        self._post_invoices([(veteran, 100, self.months_ago(1))])
        self._run()
        big, middle, small = self._customers(3)
        self._post_invoices(
            [(big, 9000, self.months_ago(1)), (middle, 600, self.months_ago(1)), (small, 400, self.months_ago(1))]
        )
        run = self._run(run_date=self.today + relativedelta(days=1))
        self.assertEqual(self._tiers([big, middle, small]), ["a", "b", "c"])
        for partner, tier in ((middle, "b"), (small, "c")):
            history = self.env["kam.tier.history"].search([("partner_id", "=", partner.id)])
            self.assertEqual((history.old_tier, history.new_tier, history.run_id), (False, tier, run))
            self.assertFalse(self._notes(partner), "a first B or C classification posts no note")
        self.assertTrue(self._notes(big), "a new key account is noted")
        summary = run.message_ids.filtered(lambda m: "classified for the first time" in (m.body or ""))
        self.assertEqual(len(summary), 1)
        self.assertIn("2 customers", summary.body)
        self.assertIn("1 in tier B and 1 in", summary.body)
        self.assertFalse(run.message_ids.filtered(lambda m: "Initial classification" in (m.body or "")))
        self.assertEqual(self._tiers([veteran]), ["c"])
        self.assertIn("A – Key account → C", self._notes(veteran).body)
        self.assertEqual(run.changed_count, 4, "three first classifications and the veteran's lost A")

    def test_new_key_accounts_without_manager_get_one_todo(self):
        customers = self._customers(5)
        self._post_invoices([(p, 100, self.months_ago(1)) for p in customers])
        customers[0].with_company(self.company).with_user(self.director).kam_manager_id = self.kam
        run = self.Classification.with_user(self.director)._reclassify_company(self.company, self.today)
        self.assertEqual(run.unassigned_partner_ids, customers[1:4])
        activities = run.activity_ids
        self.assertEqual(len(activities), 1, "one to-do per run, not one per customer")
        self.assertEqual(activities.user_id, self.director)
        for partner in customers[1:4]:
            self.assertIn(partner.name, str(activities.note))
        self.assertFalse(
            self.env["mail.activity"].search([("res_model", "=", "res.partner"), ("res_id", "in", customers.ids)])
        )
        # The run's list is what is left to do: a customer given a manager leaves it.
        customers[2].with_company(self.company).with_user(self.director).kam_manager_id = self.kam
        self.assertEqual(run.with_user(self.director).unassigned_partner_ids, customers[1] | customers[3])

    def test_demoted_key_account_manager_is_notified(self):
        star, rival = self._customers(2)
        self._post_invoices([(star, 1000, self.months_ago(1)), (rival, 10, self.months_ago(1))])
        self._run()
        star.with_company(self.company).with_user(self.director).kam_manager_id = self.kam
        self._post_invoices([(rival, 100000, self.months_ago(1))])
        run = self._run(run_date=self.today + relativedelta(days=1))
        notification = self.env["mail.message"].search(
            [
                ("model", "=", "kam.classification.run"),
                ("res_id", "=", run.id),
                ("partner_ids", "in", self.kam.partner_id.ids),
            ]
        )
        self.assertEqual(len(notification), 1)
        self.assertIn(star.name, notification.body)

    def test_manager_change_is_kept_in_chatter(self):
        (customer,) = self._customers(1)
        customer.with_company(self.company).with_user(self.director).kam_manager_id = self.kam
        self.assertEqual(self._row(customer).manager_id, self.kam)
        self.assertEqual(
            self.env["res.partner"].with_company(self.company).search([("kam_manager_id", "=", self.kam.id)]), customer
        )
        self.assertIn(
            self.kam.name,
            self.env["mail.message"]
            .search([("model", "=", "res.partner"), ("res_id", "=", customer.id)], limit=1)
            .body,
        )

    def test_preview_lists_changes_without_applying_them(self):
        first, second = self._customers(2)
        self._post_invoices([(first, 900, self.months_ago(1)), (second, 100, self.months_ago(1))])
        wizard = self.env["kam.reclassify.wizard"].with_user(self.director).create({"run_date": self.today})
        wizard.action_preview()
        self.assertEqual(wizard.line_ids.mapped("partner_id"), first | second)
        self.assertEqual(wizard.line_ids.filtered(lambda line: line.partner_id == first).new_tier, "a")
        self.assertFalse(self._row(first), "a preview writes nothing")
        wizard.action_apply()
        self.assertEqual(self._row(first).tier, "a")

    def test_run_from_the_wizard_brings_the_analysis_to_its_window(self):
        """A run started by hand leaves the cost-to-serve analysis on the figures it ranked, as the
        monthly job does: the stored rows of the run's window add up to the ranked revenue."""
        first, second = self._customers(2)
        self._post_invoices([(first, 900, self.months_ago(1)), (second, 100, self.months_ago(2))])
        Fact = self.env["kam.account.fact"]
        self.assertFalse(Fact.search([("partner_id", "in", (first | second).ids)]))
        wizard = self.env["kam.reclassify.wizard"].with_user(self.director).create({"run_date": self.today})
        wizard.action_apply()
        rows = Fact.search([("company_id", "=", self.company.id), ("partner_id", "in", (first | second).ids)])
        in_window = rows.filtered("in_window")
        self.assertEqual(
            {
                partner: sum(in_window.filtered(lambda r, p=partner: r.partner_id == p).mapped("revenue"))
                for partner in first | second
            },
            {first: self._row(first).revenue, second: self._row(second).revenue},
        )
        self.assertEqual(sum(in_window.mapped("revenue")), 1000.0)

    def test_preview_with_nothing_to_change_says_so_and_offers_to_close(self):
        """After a run, a second preview of the same day changes nobody: the wizard says "Nothing would
        change", lists nothing and makes Close its primary button; with changes, Run now leads."""
        first, second = self._customers(2)
        self._post_invoices([(first, 900, self.months_ago(1)), (second, 100, self.months_ago(1))])
        Wizard = self.env["kam.reclassify.wizard"].with_user(self.director)
        busy = Wizard.create({"run_date": self.today})
        self.assertFalse(busy.previewed)
        busy.action_preview()
        self.assertTrue(busy.previewed)
        self.assertEqual(busy.change_count, 2)
        self._run()
        calm = Wizard.create({"run_date": self.today})
        calm.action_preview()
        self.assertTrue(calm.previewed)
        self.assertEqual((calm.change_count, calm.line_ids.ids), (0, []))
        # The form shows the alert and the buttons by the same expressions as the web client.
        arch = etree.fromstring(Wizard.get_view(view_type="form")["arch"])
        alert = arch.xpath("//div[@name='nothing_changes']")[0]
        self.assertIn("Nothing would change", "".join(alert.itertext()))
        footer = arch.xpath("//footer")[0]

        def shown(record, node):
            condition = node.get("invisible")
            return not (
                condition and safe_eval(condition, {"previewed": record.previewed, "change_count": record.change_count})
            )

        def primary(record):
            return [
                button.get("string")
                for button in footer.iter("button")
                if "btn-primary" in (button.get("class") or "") and shown(record, button)
            ]

        self.assertTrue(shown(calm, alert))
        self.assertFalse(shown(busy, alert))
        self.assertEqual(primary(calm), ["Close preview"])
        self.assertEqual(primary(busy), ["Run now"])
        with Form(Wizard.browse(busy.id)) as form:
            form.run_date = self.today - relativedelta(days=1)
            self.assertFalse(form.previewed, "another date needs another preview")

    def test_query_count_does_not_grow_with_customers(self):
        """First runs and steady-state reruns issue the same number of queries at 3 and 30 customers."""
        companies = {}
        for name, size in (("warm-up", 3), ("small", 3), ("large", 30)):
            company = self.setup_other_company(name=f"{name} company")["company"]
            company.kam_demotion_grace = 0
            self.director.company_ids |= company
            customers = self._customers(size, name)
            self._post_invoices(
                [(p, 100 * (i + 1), self.months_ago(1)) for i, p in enumerate(customers)], company=company
            )
            companies[name] = company
        Classification = self.Classification.with_user(self.director)
        self._warm_up(lambda: Classification._reclassify_company(companies["warm-up"], self.today))
        for label, expected in (("first", QUERIES_FIRST_RUN), ("steady", QUERIES_STEADY_RUN)):
            for name in ("large", "small"):
                self.env.invalidate_all()
                with self.subTest(run=label, size=name), self.assertQueryCount(expected):
                    Classification._reclassify_company(companies[name], self.today)

    def test_two_runs_at_once_cannot_both_apply(self):
        """While another transaction runs the company, a second run stops with a clear message."""
        (customer,) = self._customers(1)
        self._post_invoices([(customer, 100, self.months_ago(1))])
        other = db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_RUN_LOCK_KEY, self.company.id))
            with self.assertRaisesRegex(UserError, "already running"):
                self._run()
            # As users start it (stored figures refreshed first), it stops too, without waiting.
            with self.assertRaisesRegex(UserError, "already running"):
                self.Classification._run_company(self.company, self.today)
            other.rollback()
        finally:
            other.close()
        self._run()
        self.assertEqual(self._row(customer).tier, "a")

    def test_bad_settings_are_refused(self):
        for vals in (
            {"kam_threshold_a": -1},
            {"kam_threshold_b": 101},
            {"kam_threshold_a": 95, "kam_threshold_b": 95},
            {"kam_threshold_a": 96, "kam_threshold_b": 95},
            {"kam_window_months": 0},
            {"kam_demotion_grace": -1},
        ):
            with self.subTest(vals=vals), self.assertRaises(ValidationError):
                with self.env.cr.savepoint():
                    self.company.write(vals)
        self.assertEqual(
            (self.company.kam_threshold_a, self.company.kam_threshold_b, self.company.kam_window_months),
            (80.0, 95.0, 12),
        )

    def test_cron_runs_every_company(self):
        (customer,) = self._customers(1)
        self._post_invoices([(customer, 100, self.months_ago(0, days=1))])
        cron = self.env.ref("kam_management.ir_cron_kam_reclassify")
        self.assertTrue(cron.active)
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "months"))
        cron.method_direct_trigger()
        self.assertEqual(self._row(customer).tier, "a")


# Measured once and held: what matters is that both sizes issue the same number.
# The cost-to-serve refresh at the end of a run adds its statements (see the cost section of
# kam_classification.py).
# A first run changes tiers: one more query asks whether the company has service levels to apply.
QUERIES_FIRST_RUN = 39
QUERIES_STEADY_RUN = 9
