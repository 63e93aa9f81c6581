from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged, users
from odoo.tools import SQL

from .common import KamCommon

# Applying the levels: decide (temporary table and its statistics), one UPDATE per term, what was
# applied, the history, the counts; whatever the number of customers.
QUERIES_TO_APPLY = 7


class ServiceLevelCommon(KamCommon):
    """Two tiers with their terms: A gets the key-accounts pricelist and 60 days, with a kick-off
    plan; B gets the standard pricelist and immediate payment, and losing A
    launches a hand-over plan."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Pricelist = cls.env["product.pricelist"]
        cls.pl_standard = Pricelist.create({"name": "Standard", "company_id": cls.company.id})
        cls.pl_key = Pricelist.create(
            {
                "name": "Key accounts",
                "company_id": cls.company.id,
                "item_ids": [Command.create({"compute_price": "percentage", "percent_price": 10})],
            }
        )
        cls.pl_negotiated = Pricelist.create({"name": "Negotiated", "company_id": cls.company.id})
        Term = cls.env["account.payment.term"]
        cls.term_60 = Term.create(
            {
                "name": "60 days",
                "company_id": cls.company.id,
                "line_ids": [Command.create({"value": "percent", "value_amount": 100, "nb_days": 60})],
            }
        )
        cls.term_now = Term.create(
            {
                "name": "Immediate",
                "company_id": cls.company.id,
                "line_ids": [Command.create({"value": "percent", "value_amount": 100, "nb_days": 0})],
            }
        )
        todo = cls.env.ref("mail.mail_activity_data_todo")
        Plan = cls.env["mail.activity.plan"]
        cls.kickoff = Plan.create(
            {
                "name": "Key account kick-off",
                "res_model": "res.partner",
                "company_id": cls.company.id,
                "template_ids": [
                    Command.create({"activity_type_id": todo.id, "summary": "Kick-off meeting"}),
                    Command.create({"activity_type_id": todo.id, "summary": "Create the account plan"}),
                ],
            }
        )
        cls.handover = Plan.create(
            {
                "name": "Hand-over",
                "res_model": "res.partner",
                "company_id": cls.company.id,
                "template_ids": [Command.create({"activity_type_id": todo.id, "summary": "Hand over the account"})],
            }
        )
        Level = cls.env["kam.service.level"]
        cls.level_a = Level.create(
            {
                "company_id": cls.company.id,
                "tier": "a",
                "pricelist_id": cls.pl_key.id,
                "payment_term_id": cls.term_60.id,
                "activity_plan_id": cls.kickoff.id,
                "demotion_plan_id": cls.handover.id,
            }
        )
        cls.level_b = Level.create(
            {
                "company_id": cls.company.id,
                "tier": "b",
                "pricelist_id": cls.pl_standard.id,
                "payment_term_id": cls.term_now.id,
            }
        )

    def _terms(self, partner, company=None):
        partner = partner.with_company(company or self.company)
        partner.invalidate_recordset()
        return (partner.property_product_pricelist, partner.property_payment_term_id)

    def _plan_activities(self, partner):
        return self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", partner.id)], order="id"
        )


@tagged("post_install", "-at_install")
class TestServiceLevel(ServiceLevelCommon):
    """A tier change brings the tier's terms, in the run, unless the customer has its own."""

    def _three(self):
        big, mid, small = self._customers(3)
        self._post_invoices(
            [(big, 8000, self.months_ago(1)), (mid, 1500, self.months_ago(1)), (small, 500, self.months_ago(1))]
        )
        return big, mid, small

    def test_promotion_applies_the_terms_and_says_so(self):
        """A new key account gets the A pricelist and 60 days, its contacts too; the
        history line names each change; B gets its own terms, C (no level) nothing."""
        big, mid, small = self._three()
        contact = self.env["res.partner"].create({"name": "Buyer", "parent_id": big.id})
        self._run()
        self.assertEqual(self._terms(big), (self.pl_key, self.term_60))
        self.assertEqual(self._terms(contact), (self.pl_key, self.term_60))
        self.assertEqual(self._terms(mid)[:2], (self.pl_standard, self.term_now))
        self.assertFalse(self._terms(small)[1], "tier C has no service level: its terms are left alone")
        line = self._row(big).history_ids
        self.assertIn("pricelist: ", line.service_terms)
        self.assertIn("→ Key accounts", line.service_terms)
        self.assertIn("payment terms: none → 60 days", line.service_terms)

    def test_demotion_applies_the_lower_tier_and_the_hand_over_plan(self):
        """A key account that drops to B gets the B terms and the hand-over plan, once."""
        big, mid, small = self._three()
        self._run()
        self.assertEqual(len(self._plan_activities(big)), 2, "the kick-off plan has two steps")
        self._post_invoices([(mid, 30000, self.months_ago(0)), (small, 10000, self.months_ago(0))])
        self._run(run_date=self.today)
        self.assertEqual(self._row(big).tier, "b")
        self.assertEqual(self._terms(big)[:2], (self.pl_standard, self.term_now))
        self.assertIn("→ Standard", self._row(big).history_ids[0].service_terms)
        summaries = self._plan_activities(big).mapped("summary")
        self.assertEqual(summaries.count("Hand over the account"), 1)
        self.assertEqual(summaries.count("Kick-off meeting"), 1, "the kick-off was launched once, on the gain")

    def test_plans_are_launched_once_per_gain(self):
        """Running again without a tier change launches nothing and writes no term."""
        big, _mid, _small = self._three()
        self._run()
        activities = self._plan_activities(big)
        self.assertEqual(set(activities.mapped("summary")), {"Kick-off meeting", "Create the account plan"})
        # A run that moves nobody applies nothing, even if a level changed meanwhile.
        self.level_a.pricelist_id = self.pl_negotiated
        self._run(run_date=self.today)
        self.assertEqual(self._plan_activities(big), activities)
        self.assertEqual(self._terms(big)[0], self.pl_key)
        self.assertTrue(self.level_a.to_apply, "the changed level waits to be applied")

    def test_customer_keeps_its_own_terms(self):
        """A pricelist negotiated before the first application, and payment terms changed by hand
        after it, are the customer's own: never overwritten, and the history says they were kept."""
        big, mid, small = self._three()
        big.with_company(self.company).property_product_pricelist = self.pl_negotiated
        self._run()
        self.assertEqual(self._terms(big), (self.pl_negotiated, self.term_60))
        self.assertIn("pricelist: kept, own terms", self._row(big).history_ids.service_terms)
        big.with_company(self.company).property_payment_term_id = self.term_now.copy({"name": "30 days"})
        own_term = self._terms(big)[1]
        self._post_invoices([(mid, 30000, self.months_ago(0)), (small, 10000, self.months_ago(0))])
        self._run(run_date=self.today)
        self.assertEqual(self._row(big).tier, "b")
        self.assertEqual(self._terms(big)[:2], (self.pl_negotiated, own_term))
        self.assertIn("payment terms: kept, own terms", self._row(big).history_ids[0].service_terms)

    def test_keep_my_terms_flag(self):
        """A director's "keep my terms" keeps everything, and the history says why."""
        big, _mid, _small = self._three()
        big.with_user(self.director).with_company(self.company).kam_keep_terms = True
        self._run()
        self.assertNotEqual(self._terms(big)[0], self.pl_key)
        self.assertFalse(self._terms(big)[1])
        self.assertEqual(
            self._row(big).history_ids.service_terms,
            "payment terms: kept, keep my terms; pricelist: kept, keep my terms",
        )
        self.assertEqual(big.with_company(self.company).kam_service_level_id, self.level_a)

    def test_reapply_replaces_own_terms_but_not_a_kept_customer(self):
        """Re-applying on demand puts the tier's terms back on the selection, own terms
        included; a customer that keeps its terms stays as it is."""
        big, mid, _small = self._three()
        big.with_company(self.company).property_product_pricelist = self.pl_negotiated
        mid.with_company(self.company).property_product_pricelist = self.pl_negotiated
        self._run()
        self._row(mid).keep_terms = True
        action = (big | mid).with_user(self.director).with_company(self.company).action_kam_reapply_service_level()
        wizard = self.env["kam.service.level.apply.wizard"].browse(action["res_id"])
        self.assertEqual(
            [(line.partner_id, line.term, line.old_name, line.new_name, line.action) for line in wizard.line_ids],
            [
                (big, "pricelist", "Negotiated", "Key accounts", "apply"),
                (mid, "pricelist", "Negotiated", "Standard", "kept_flag"),
            ],
        )
        wizard.with_user(self.director).action_apply()
        self.assertEqual(self._terms(big)[0], self.pl_key)
        self.assertEqual(self._terms(mid)[0], self.pl_negotiated)

    def test_reclassification_preview_lists_terms_and_writes_nothing(self):
        """The preview shows, per customer, each term that would change (old → new); nothing changes."""
        big, mid, small = self._three()
        big.with_company(self.company).property_product_pricelist = self.pl_negotiated
        wizard = (
            self.env["kam.reclassify.wizard"]
            .with_user(self.director)
            .create({"company_id": self.company.id, "run_date": self.today})
        )
        wizard.action_preview()
        lines = {(line.partner_id, line.term): line for line in wizard.term_line_ids}
        self.assertEqual((lines[big, "payment_term"].old_name, lines[big, "payment_term"].new_name), (False, "60 days"))
        self.assertEqual(lines[big, "pricelist"].action, "kept_own")
        self.assertEqual(lines[mid, "pricelist"].new_name, "Standard")
        self.assertNotIn(small, wizard.term_line_ids.partner_id)
        self.assertFalse(self._terms(big)[1], "the preview wrote nothing")
        self.assertFalse(self._row(big))
        self.assertFalse(self._plan_activities(big))

    def test_first_adoption_and_changed_level(self):
        """Levels created after the classification are applied to it on demand, with a preview; a
        changed level asks to be applied, and applying it reaches its tier only."""
        self.level_a.unlink()
        self.level_b.unlink()
        big, mid, _small = self._three()
        self._run()
        level_a = self.env["kam.service.level"].create(
            {"company_id": self.company.id, "tier": "a", "payment_term_id": self.term_60.id}
        )
        action = self.env["kam.service.level"].with_user(self.director).action_open_adoption_wizard()
        wizard = self.env["kam.service.level.apply.wizard"].browse(action["res_id"])
        self.assertEqual(wizard.line_ids.partner_id, big)
        self.assertFalse(self._terms(big)[1], "the preview wrote nothing")
        wizard.action_apply()
        self.assertEqual(self._terms(big)[1], self.term_60)
        # The level changes: it asks to be applied to the customers already in A.
        level_a.payment_term_id = self.term_now
        self.assertTrue(level_a.to_apply)
        action = level_a.with_user(self.director).action_open_apply_wizard()
        wizard = self.env["kam.service.level.apply.wizard"].browse(action["res_id"])
        self.assertEqual([(line.old_name, line.new_name) for line in wizard.line_ids], [("60 days", "Immediate")])
        wizard.action_apply()
        self.assertEqual(self._terms(big)[1], self.term_now)
        self.assertFalse(level_a.to_apply)
        self.assertFalse(self._terms(mid)[1], "B has no level: untouched")

    def test_confirmed_orders_keep_their_terms(self):
        """An order confirmed before the promotion keeps its pricelist, payment terms and prices;
        the next order takes the key-account terms."""
        big, _mid, _small = self._three()
        product = self.env["product.product"].create({"name": "Widget", "list_price": 100})
        order = self.env["sale.order"].create(
            {"partner_id": big.id, "order_line": [Command.create({"product_id": product.id})]}
        )
        order.action_confirm()
        before = (order.pricelist_id, order.payment_term_id, order.order_line.price_unit)
        self._run()
        self.assertEqual(self._terms(big)[:2], (self.pl_key, self.term_60))
        order.invalidate_recordset()
        order.order_line.invalidate_recordset()
        self.assertEqual((order.pricelist_id, order.payment_term_id, order.order_line.price_unit), before)
        self.assertEqual(before[2], 100)
        new_order = self.env["sale.order"].create(
            {"partner_id": big.id, "order_line": [Command.create({"product_id": product.id})]}
        )
        self.assertEqual((new_order.pricelist_id, new_order.payment_term_id), (self.pl_key, self.term_60))
        self.assertEqual(new_order.order_line.price_unit, 90, "the key-accounts pricelist gives 10 %")

    def test_a_level_of_one_company_never_touches_another(self):
        """Applying company A's levels leaves the customer's terms in company B alone."""
        company_2 = self.setup_other_company(name="Service second company")["company"]
        term_2 = self.env["account.payment.term"].create(
            {
                "name": "B terms",
                "company_id": company_2.id,
                "line_ids": [Command.create({"value": "percent", "value_amount": 100, "nb_days": 15})],
            }
        )
        big, _mid, _small = self._three()
        big.with_company(company_2).property_payment_term_id = term_2
        self._run()
        self.assertEqual(self._terms(big)[1], self.term_60)
        self.assertEqual(self._terms(big, company_2)[1], term_2)
        with self.assertRaises(ValidationError):
            self.env["kam.service.level"].create(
                {"company_id": company_2.id, "tier": "a", "payment_term_id": self.term_60.id}
            )

    def test_applying_is_atomic(self):
        """A failure while applying leaves every customer as it was."""
        big, mid, _small = self._three()
        self.level_a.unlink()
        self.level_b.unlink()
        self._run()
        self.env["kam.service.level"].create(
            {
                "company_id": self.company.id,
                "tier": "a",
                "pricelist_id": self.pl_key.id,
                "payment_term_id": self.term_60.id,
            }
        )
        self.env["kam.service.level"].create(
            {"company_id": self.company.id, "tier": "b", "pricelist_id": self.pl_key.id}
        )
        action = self.env["kam.service.level"].with_user(self.director).action_open_adoption_wizard()
        wizard = self.env["kam.service.level.apply.wizard"].browse(action["res_id"])
        Level = type(self.env["kam.service.level"])
        with patch.object(Level, "_record_terms", side_effect=UserError("boom")), self.assertRaises(UserError):
            wizard.action_apply()
        self.assertNotEqual(self._terms(big)[0], self.pl_key)
        self.assertNotEqual(self._terms(mid)[0], self.pl_key)
        self.assertFalse(self._terms(big)[1])
        self.assertFalse(self._row(big).sl_payment_term_id)

    def test_bad_input(self):
        """Another company's pricelist, an archived pricelist, a plan for another model: a clear
        error, nothing saved."""
        company_2 = self.setup_other_company(name="Service bad input company")["company"]
        pl_other = self.env["product.pricelist"].create({"name": "Other", "company_id": company_2.id})
        archived = self.env["product.pricelist"].create({"name": "Old", "company_id": self.company.id, "active": False})
        plan_lead = self.env["mail.activity.plan"].create({"name": "Leads", "res_model": "crm.lead"})
        Level = self.env["kam.service.level"]
        for vals, message in (
            ({"pricelist_id": pl_other.id}, "belongs to"),
            ({"pricelist_id": archived.id}, "archived"),
            ({"activity_plan_id": plan_lead.id}, "not made for contacts"),
        ):
            with self.subTest(vals=vals), self.assertRaises(ValidationError) as catcher:
                Level.create({"company_id": self.company.id, "tier": "c", **vals})
            self.assertIn(message, str(catcher.exception))
        self.assertFalse(Level.search([("company_id", "=", self.company.id), ("tier", "=", "c")]))
        with self.assertRaises(ValidationError):
            self.level_b.pricelist_id = pl_other
        self.assertEqual(self.level_b.pricelist_id, self.pl_standard)


@tagged("post_install", "-at_install")
class TestServiceLevelAccess(ServiceLevelCommon):
    """Directors manage and apply the levels; KAMs only see their accounts' level."""

    def test_kam_sees_the_level_but_cannot_change_or_apply_it(self):
        (big,) = self._customers(1)
        self._post_invoices([(big, 100, self.months_ago(1))])
        self._run()
        partner = big.with_user(self.kam).with_company(self.company)
        self.assertEqual(partner.kam_service_level_id, self.level_a)
        self.assertEqual(self.level_a.with_user(self.kam).pricelist_id, self.pl_key)
        with self.assertRaises(AccessError):
            self.level_a.with_user(self.kam).write({"pricelist_id": self.pl_standard.id})
        with self.assertRaises(AccessError):
            self.env["kam.service.level"].with_user(self.kam).create({"company_id": self.company.id, "tier": "c"})
        with self.assertRaises(UserError):
            partner.action_kam_reapply_service_level()
        with self.assertRaises(AccessError):
            partner.kam_keep_terms = True
        with self.assertRaises(AccessError):
            self.env["kam.service.level"].with_user(self.salesman).search([])

    @users("kam_director")
    def test_director_sees_only_the_levels_of_their_companies(self):
        company_2 = self.setup_other_company(name="Service hidden company")["company"]
        self.env["kam.service.level"].sudo().create({"company_id": company_2.id, "tier": "a"})
        self.assertEqual(self.env["kam.service.level"].search([]), self.level_a | self.level_b)


@tagged("post_install", "-at_install")
class TestServiceLevelQueries(ServiceLevelCommon):
    """Applying is set-based: the same number of queries for 5 customers as for 50."""

    def _apply_to_all(self, customers):
        """Forget what was applied, then apply the levels to every classified customer."""
        self.env.flush_all()
        self.env.cr.execute("UPDATE kam_classification SET sl_pricelist_id = NULL, sl_payment_term_id = NULL")
        self.env.cr.execute(
            "UPDATE res_partner SET specific_property_product_pricelist = NULL, property_payment_term_id = NULL "
            "WHERE id = ANY(%s)",
            [customers.ids],
        )
        self.env.invalidate_all()
        source = SQL(
            "SELECT partner_id, tier, NULL::int AS history_id FROM kam_classification WHERE company_id = %s",
            self.company.id,
        )
        with self.assertQueryCount(QUERIES_TO_APPLY):
            applied, _kept = self.env["kam.service.level"]._apply(self.company, source)
        return applied

    def test_query_count_is_constant_in_customers(self):
        small = self._customers(5, prefix="Small")
        self._post_invoices([(partner, 1000 + i, self.months_ago(1)) for i, partner in enumerate(small)])
        self._run()
        applied_small = self._apply_to_all(small)
        large = self._customers(50, prefix="Large")
        self._post_invoices([(partner, 1000 + i, self.months_ago(1)) for i, partner in enumerate(large)])
        self._run()
        applied_large = self._apply_to_all(small | large)
        self.assertGreater(applied_large, applied_small * 5)
