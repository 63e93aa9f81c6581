from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import KamCommon


class TestParetoChart(KamCommon):
    """The Pareto screen charts ranked customers, never a drop of the cumulative line."""

    def _chart(self, **kwargs):
        return self.Classification.with_user(self.kam).get_pareto_chart(**kwargs)

    def test_each_customer_is_a_point_while_they_are_few(self):
        big, mid, small, tiny, idle = self._customers(5)
        self._post_invoices([(big, 7000, self.months_ago(1)), (mid, 2000, self.months_ago(2))])
        self._post_invoices([(small, 600, self.months_ago(3)), (tiny, 400, self.months_ago(4))])
        self._post_invoices([(idle, 500, self.months_ago(30))])
        self._run()
        chart = self._chart()
        self.assertEqual([p["label"] for p in chart["points"]], [big.name, mid.name, small.name, tiny.name])
        self.assertEqual([p["revenue"] for p in chart["points"]], [7000.0, 2000.0, 600.0, 400.0])
        self.assertEqual([p["cumulative_share"] for p in chart["points"]], [70.0, 90.0, 96.0, 100.0])
        # The customer that crosses the 80 % line is still A, as in the classification.
        self.assertEqual([p["tier"] for p in chart["points"]], ["a", "a", "b", "c"])
        self.assertEqual((chart["customers"], chart["bucket_size"]), (4, 1))
        self.assertEqual((chart["threshold_a"], chart["threshold_b"]), (80.0, 95.0))
        # The window of the figures, as the other screens state it.
        self.assertEqual((chart["date_from"], chart["date_to"]), ("2025-06-16", "2026-06-15"))

    def test_many_customers_become_equal_buckets_ending_at_100(self):
        customers = self._customers(25)
        self._post_invoices([(c, 100 * (i + 1), self.months_ago(1)) for i, c in enumerate(customers)])
        self._run()
        chart = self._chart(max_points=10)
        points = chart["points"]
        self.assertEqual(chart["bucket_size"], 3, "25 customers in at most 10 points: 3 per point")
        self.assertEqual(len(points), 9)
        self.assertEqual([(p["first_rank"], p["last_rank"]) for p in points[:2]], [(1, 3), (4, 6)])
        self.assertEqual(points[-1]["label"], "25–25")
        shares = [p["cumulative_share"] for p in points]
        self.assertEqual(shares, sorted(shares), "the cumulative share never decreases")
        self.assertEqual(shares[-1], 100.0)
        self.assertEqual(sum(p["revenue"] for p in points), sum(100 * (i + 1) for i in range(25)))

    def test_customers_without_revenue_are_counted_not_charted(self):
        self.company.kam_demotion_grace = 2
        big, lapsed = self._customers(2)
        self._post_invoices([(big, 1000, self.months_ago(1)), (lapsed, 500, self.months_ago(2))])
        self._run()
        # The lapsed customer's invoice is reversed: grace keeps its tier, without revenue.
        self._post_invoices([(lapsed, -500, self.months_ago(1))])
        self._run(run_date=self.today)
        chart = self._chart()
        self.assertEqual([p["label"] for p in chart["points"]], [big.name])
        self.assertEqual(chart["points"][-1]["cumulative_share"], 100.0)
        self.assertEqual(chart["without_revenue"], 1)

    def _queries_of_chart(self, count):
        customers = self._customers(count, prefix=f"Size {count}")
        self._post_invoices([(c, 10 * (i + 1), self.months_ago(1)) for i, c in enumerate(customers)])
        self._run()
        self._warm_up(lambda: self.Classification.get_pareto_chart(max_points=10))
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        self.Classification.get_pareto_chart(max_points=10)
        return self.env.cr.sql_log_count - before

    def test_the_chart_costs_the_same_queries_for_any_number_of_customers(self):
        small = self._queries_of_chart(20)
        large = self._queries_of_chart(80)
        self.assertEqual(small, large, "one aggregate statement, never a query per customer")
        self.assertLessEqual(large, 10)

    def test_a_salesperson_cannot_read_the_chart(self):
        with self.assertRaises(AccessError):
            self.Classification.with_user(self.salesman).get_pareto_chart()


@tagged("post_install", "-at_install")
class TestParetoTour(KamCommon, HttpCase):
    """A KAM opens the Pareto screen in a real browser and finds the chart."""

    def test_pareto_screen_shows_the_chart(self):
        today = self.env.cr.now().date()
        big, mid, small = self._customers(3, prefix="Pareto")
        self._post_invoices([(big, 9000, today), (mid, 800, today), (small, 200, today)])
        self._run(run_date=today)
        self.start_tour(
            "/odoo/action-kam_management.kam_classification_action_pareto_chart", "kam_pareto_tour", login="kam_manager"
        )

    def test_pareto_screen_speaks_of_one_customer_in_the_singular(self):
        today = self.env.cr.now().date()
        self.company.kam_demotion_grace = 2
        big, lapsed = self._customers(2, prefix="Singular")
        self._post_invoices([(big, 900, today), (lapsed, 100, today)])
        self._run(run_date=today)
        # The lapsed customer's invoice is credited back: grace keeps its tier, without revenue.
        self._post_invoices([(lapsed, -100, today)])
        self._run(run_date=today)
        chart = self.Classification.with_user(self.kam).get_pareto_chart()
        self.assertEqual((chart["customers"], chart["without_revenue"]), (1, 1))
        self.start_tour(
            "/odoo/action-kam_management.kam_classification_action_pareto_chart",
            "kam_pareto_singular_tour",
            login="kam_manager",
        )
