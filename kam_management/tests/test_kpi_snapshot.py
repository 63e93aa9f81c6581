import json
from datetime import timedelta
from unittest.mock import patch

from dateutil.relativedelta import relativedelta

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged
from odoo.tools import SQL, file_open

from ..tools import health_rules
from .kpi_common import KpiCommon


@tagged("post_install", "-at_install")
class TestKpiSnapshot(KpiCommon):
    """The daily snapshot on known data: each KPI as a KAM reads it on the dashboard."""

    def test_each_kpi_of_a_key_account(self):
        self._take(alerts=False)
        row = self._snapshot(self.anchor)
        day = self.day
        self.assertEqual((row.tier, row.manager_id, row.is_latest, row.is_month_end), ("a", self.kam, True, True))
        # Value: the cost-to-serve figures over the window, a year earlier and this month.
        self.assertEqual(row.revenue, 6500)
        self.assertEqual(row.revenue_prev, 8000)
        self.assertAlmostEqual(row.revenue_trend, -18.75)
        self.assertEqual(row.revenue_mtd, 500)
        self.assertEqual(row.gross_margin, 6500, "invoice lines without product cost nothing")
        self.assertAlmostEqual(row.margin_rate, 100.0)
        self.assertAlmostEqual(row.margin_trend, 0.0)
        self.assertEqual(row.cost_to_serve, 50, "the visit's expenses")
        self.assertEqual(row.net_contribution, 6450)
        # Pipeline: open deals and those closed in the last 90 days.
        self.assertEqual((row.pipeline, row.pipeline_weighted), (1000, 500))
        self.assertAlmostEqual(row.pipeline_cover, 500 * 100 * 12 / (3 * 6500))
        self.assertEqual((row.won_count, row.won_amount, row.lost_count), (1, 700, 1))
        # Relationship
        self.assertEqual(row.visit_count, 1)
        self.assertEqual(row.last_contact_date, day - timedelta(days=10))
        # Tier A without a service level of its own: the default interval of a new one, 30 days.
        self.assertEqual((row.days_since_contact, row.contact_interval, row.contact_overdue), (10, 30, False))
        self.assertEqual(row.overdue_amount, 0, "paid invoices are not overdue")
        self.assertEqual((row.satisfaction, row.review_date), (8.0, day - timedelta(days=3)))
        self.assertEqual(row.plan_id, self.plan)
        self.assertAlmostEqual(row.plan_progress, 50.0, msg="one objective on track, one off track")
        self.assertEqual((row.plan_on_track_count, row.plan_objective_count), (1, 2))
        self.assertEqual(row.plan_on_track_summary, "1 of 2 on track")
        plan = self.plan.with_context(kam_today=day)
        self.assertEqual(
            (row.plan_on_track_summary, row.plan_progress),
            (plan.on_track_summary, plan.weighted_score),
            "the dashboard card and the plan form say the same",
        )
        self.assertEqual(row.visit_count, 1)
        self.assertEqual(row._fields["visit_count"].string, "Visits done (90 days)")
        # Health: 30 × 0.625 + 10 + 20 + 10 × 0.3077 + 10 + 10 × 0.8 + 10 × 0.5 = 74.8, to watch (below 80).
        self.assertEqual((row.health_score, row.health_band, row.health_alert), (75, "watch", False))
        self.assertAlmostEqual(row.health_loss_revenue_trend, 11.25)
        self.assertEqual(row.health_pulled_down_by, "Revenue trend, Pipeline cover")

    def test_an_account_losing_touch(self):
        """Second: a message 40 days ago is its last contact (a later internal note is not), its invoice is overdue."""
        self._take(alerts=False)
        row = self._snapshot(self.second)
        self.assertEqual(row.last_contact_date, self.day - timedelta(days=40))
        self.assertTrue(row.contact_overdue)
        self.assertEqual(row.overdue_amount, 2000)
        self.assertAlmostEqual(row.overdue_share, 1200.0, msg="twelve months of revenue in one month overdue")
        self.assertFalse(row.revenue_prev)
        self.assertFalse(row.review_date)
        self.assertFalse(row.plan_id)
        self.assertFalse(row.plan_on_track_summary, "no plan, nothing to read")
        # Only contact (20 × 2/3), pipeline (0) and overdue (0) apply: 13.33 / 40.
        self.assertEqual((row.health_score, row.health_band, row.health_alert), (33, "at_risk", True))
        self.assertEqual(row.health_loss_revenue_trend, 0.0, "a signal that does not apply takes nothing off")
        third = self._snapshot(self.third)
        self.assertEqual(third.last_contact_date, self.day - timedelta(days=5), "a meeting with its buyer")
        self.assertFalse(third.manager_id)

    def test_a_logged_call_is_a_contact(self):
        activity = self.second.activity_schedule(
            "mail.mail_activity_data_call", user_id=self.kam.id, date_deadline=self.day
        )
        activity.action_feedback(feedback="Called the buyer")
        self._take(alerts=False)
        self.assertEqual(self._snapshot(self.second).days_since_contact, 0)

    def test_sql_and_python_health_agree(self):
        """The stored score and losses are those of ``health_rules.health`` on the stored inputs."""
        self._take(alerts=False)
        weights = self.company._kam_health_weights()
        self.env.cr.execute(
            SQL(
                """
                SELECT partner_id, revenue_trend, margin_trend, pipeline_cover, overdue_share, satisfaction,
                       plan_progress, days_since_contact::float8 / contact_interval AS contact_ratio,
                       health_score, health_loss_revenue_trend, health_loss_contact, health_loss_overdue
                  FROM kam_kpi_snapshot WHERE company_id = %s
                """,
                self.company.id,
            )
        )
        rows = self.env.cr.dictfetchall()
        self.assertEqual(len(rows), 3)
        for row in rows:
            score, losses = health_rules.health(row, weights)
            self.assertEqual(row["health_score"], score)
            for name in ("revenue_trend", "contact", "overdue"):
                self.assertEqual(row[f"health_loss_{name}"], losses[name])

    def test_tier_b_accounts_follow_the_company_setting(self):
        self._take(alerts=False)
        self.assertFalse(self._snapshot(self.small))
        self.company.kam_kpi_include_b = True
        self._take(alerts=False)
        row = self._snapshot(self.small)
        self.assertEqual((row.tier, row.contact_interval), ("b", 90))

    # ------------------------------------------------------------------
    # Reruns, backfill, retention
    # ------------------------------------------------------------------
    def test_rerun_replaces_the_days_rows(self):
        self.assertEqual(self._take(alerts=False), 3)
        first = self._snapshot(self.anchor)
        self.assertEqual(self._take(alerts=False), 0, "nothing changed: nothing written")
        self._post_invoices([(self.anchor, 1000, self.day)])
        self.assertEqual(self._take(alerts=False), 1, "only the account whose figures changed")
        rows = self.Snapshot.search([("company_id", "=", self.company.id), ("date", "=", self.day)])
        self.assertEqual(len(rows), 3, "a rerun never duplicates a day")
        self.assertEqual(self._snapshot(self.anchor), first, "the row is updated in place")
        self.assertEqual(first.revenue, 7500)

    def test_an_account_leaving_the_scope_leaves_the_dashboard(self):
        self._take(alerts=False)
        self.Classification.search([("partner_id", "=", self.third.id)]).tier = "b"
        self._take(alerts=False)
        self.assertFalse(self._snapshot(self.third), "today's row of an account out of scope is dropped")
        self._take(self.day - timedelta(days=1), alerts=False)
        self.Classification.search([("partner_id", "=", self.third.id)]).tier = "a"
        self._take(self.day - timedelta(days=1), alerts=False)
        self._take(alerts=False)
        latest = self.Snapshot.search([("company_id", "=", self.company.id), ("is_latest", "=", True)])
        self.assertEqual(latest.mapped("date"), [self.day] * 3)

    def test_backfill_a_missed_day(self):
        """A past day gets the figures of that day; today's rows stay the dashboard's."""
        self._take(alerts=False)
        past = self.day - relativedelta(months=3)
        self.Snapshot._backfill_snapshots(self.company, past, past)
        row = self._snapshot(self.anchor, past)
        self.assertEqual(row.revenue, 8000, "only the invoice of fourteen months ago is in that day's window")
        self.assertEqual(row.revenue_mtd, 0)
        self.assertFalse(row.last_contact_date, "the visit came later")
        self.assertFalse(row.pipeline, "the open deal was created later")
        self.assertFalse(row.is_latest)
        self.assertTrue(row.is_month_end)
        self.assertTrue(self._snapshot(self.anchor).is_latest)
        self.assertFalse(self._activities(self.second, self.contact_type), "no alert is raised for a past day")

    def test_the_cron_catches_up_missed_days(self):
        self._take(self.day - timedelta(days=4), alerts=False)
        self.Snapshot._catch_up(self.company, self.day)
        dates = self.Snapshot.search([("partner_id", "=", self.anchor.id)]).mapped("date")
        self.assertEqual(sorted(dates), [self.day - timedelta(days=n) for n in (4, 3, 2, 1)])

    def test_retention_thins_old_days_to_one_per_month(self):
        """Daily rows older than the retention period keep only each month's last one."""
        self.company.kam_kpi_retention_days = 400
        month = (self.day - timedelta(days=500)).replace(day=1)
        days = [month + timedelta(days=2), month + timedelta(days=9), month + relativedelta(months=1, days=3)]
        for day in days:
            self._take(day, alerts=False)
        recent = self.day - timedelta(days=20)
        self._take(recent, alerts=False)
        self._take(alerts=False)
        self.assertEqual(self._snapshot(self.anchor, days[0]).is_month_end, False, "a later row of the month exists")
        deleted = self.Snapshot._thin_snapshots(self.company, self.day)
        self.assertEqual(deleted, 3, "the first day of the old month, for each of the three accounts")
        kept = self.Snapshot.search([("partner_id", "=", self.anchor.id)]).mapped("date")
        self.assertEqual(sorted(kept), [days[1], days[2], recent, self.day])

    # ------------------------------------------------------------------
    # Alerts
    # ------------------------------------------------------------------
    def test_contact_alert_once_per_account(self):
        self._take()
        activities = self._activities(self.second, self.contact_type)
        self.assertEqual(len(activities), 1)
        self.assertEqual((activities.user_id, activities.date_deadline), (self.kam, self.day))
        self.assertFalse(self._activities(self.anchor, self.contact_type), "contacted 10 days ago")
        self.assertFalse(self._activities(self.third, self.contact_type), "recently met, and no KAM anyway")
        self._take()
        self._take(self.day + timedelta(days=1))
        self.assertEqual(len(self._activities(self.second, self.contact_type)), 1, "not one a day")
        # Done, it logs the call: the account is contacted today and no longer overdue.
        activities.action_feedback(feedback="Called")
        self._take(self.day + timedelta(days=2))
        self.assertFalse(self._snapshot(self.second, self.day + timedelta(days=2)).contact_overdue)
        self.assertFalse(self._activities(self.second, self.contact_type))

    def test_falling_into_at_risk_warns_the_kam_and_the_followers(self):
        self.second.message_subscribe(partner_ids=self.director.partner_id.ids)
        self._take()
        activity = self._activities(self.second, self.health_type)
        self.assertEqual((len(activity), activity.user_id), (1, self.kam))
        note = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", self.second.id), ("body", "ilike", "health is 33")]
        )
        self.assertEqual(len(note), 1)
        self.assertIn(self.kam.partner_id, note.partner_ids)
        self.assertIn(self.director.partner_id, note.partner_ids, "an internal follower is told")
        self.assertIn("Overdue receivables", note.body)
        activity.action_feedback(feedback="Reviewed")
        self._take(self.day + timedelta(days=1))
        self.assertFalse(self._activities(self.second, self.health_type), "still at risk: no new alert")

    def test_health_drop_raises_one_alert(self):
        """Anchor scores 75; 30 days earlier it scored 100: a 25-point drop, above the 15 of the setting."""
        earlier = self.day - timedelta(days=30)
        self._take(earlier, alerts=False)
        self.env.cr.execute(
            SQL(
                "UPDATE kam_kpi_snapshot SET health_score = 100, health_band = 'healthy', health_alert = false "
                "WHERE partner_id = %s",
                self.anchor.id,
            )
        )
        self.Snapshot.invalidate_model()
        self._take()
        row = self._snapshot(self.anchor)
        self.assertEqual((row.health_change, row.health_band, row.health_alert), (-25, "watch", True))
        self.assertEqual(len(self._activities(self.anchor, self.health_type)), 1)
        self.company.kam_health_drop_points = 30
        self._take(self.day + timedelta(days=1))
        self.assertEqual(len(self._activities(self.anchor, self.health_type)), 1)

    # ------------------------------------------------------------------
    # Screens
    # ------------------------------------------------------------------
    def test_explanation_says_what_pulled_the_score_down(self):
        self._take(alerts=False)
        row = self._snapshot(self.anchor)
        text = str(row.health_explanation)
        for label in ("Revenue trend", "Pipeline cover", "Weighted plan score", "Satisfaction", "Contact"):
            self.assertIn(label, text)
        self.assertIn("-19 %", text)
        self.assertIn("1 of 2 objectives on track; at risk counts half: 50 %", text)
        self.assertLess(text.index("Revenue trend"), text.index("Pipeline cover"), "the heaviest first")
        self.assertIn("No revenue a year earlier", str(self._snapshot(self.second).health_explanation))

    def test_dashboard_and_evolution_actions(self):
        self._take(alerts=False)
        kam_action = self.Snapshot.with_user(self.kam).action_open_dashboard()
        self.assertEqual(kam_action["domain"], "[('is_latest', '=', True)]")
        # The menu opens the window action itself, so that a reload keeps the app's menu.
        self.assertEqual(
            self.env.ref("kam_management.menu_kam_dashboard").action,
            self.env.ref("kam_management.kam_kpi_snapshot_action_dashboard"),
        )
        # It opens grouped by KAM for a director; a KAM's search view has no such grouping.
        self.assertIn("search_default_group_manager", kam_action["context"])
        for user, grouped in ((self.director, True), (self.kam, False)):
            views = self.Snapshot.with_user(user).get_views([(False, "search")])
            arch = views["views"]["search"]["arch"]
            self.assertEqual('name="group_manager"' in arch, grouped, user.login)
        evolution = self._snapshot(self.anchor).action_open_evolution()
        self.assertEqual(
            self.Snapshot.search(evolution["domain"]), self.Snapshot.search([("partner_id", "=", self.anchor.id)])
        )
        self.assertEqual(evolution["context"]["graph_groupbys"], ["date:day"])
        self.assertEqual(self.anchor.with_company(self.company).kam_health_score, 75)
        self.assertEqual(
            self.anchor.with_company(self.company).action_kam_open_evolution()["domain"], evolution["domain"]
        )

    def test_schedule_contact_opens_the_activity_dialog(self):
        self._take(alerts=False)
        action = self._snapshot(self.second).with_user(self.kam).action_schedule_contact()
        scheduler = Form(self.env["mail.activity.schedule"].with_user(self.kam).with_context(**action["context"]))
        self.assertEqual(scheduler.activity_type_id, self.contact_type)
        self.assertEqual(scheduler.activity_user_id, self.kam)
        scheduler.save().action_schedule_activities()
        self.assertEqual(self._activities(self.second, self.contact_type).user_id, self.kam)

    def test_new_kam_takes_the_card_at_once(self):
        self._take(alerts=False)
        self.third.with_company(self.company).kam_manager_id = self.kam
        self.assertEqual(self._snapshot(self.third).manager_id, self.kam)

    def test_pivot_by_month_and_tier(self):
        self._take(self.day - relativedelta(months=1), alerts=False)
        self._take(alerts=False)
        groups = self.Snapshot._read_group(
            [("is_month_end", "=", True), ("company_id", "=", self.company.id)],
            ["date:month", "tier"],
            ["revenue:sum", "health_score:avg"],
        )
        self.assertEqual(len(groups), 2)
        self.assertEqual(groups[-1][2], 6500 + 2000 + 1000)

    def test_key_accounts_dashboard_in_the_dashboards_app(self):
        dashboard = self.env.ref("kam_management.spreadsheet_dashboard_key_accounts")
        data = json.loads(dashboard.spreadsheet_data)
        with file_open("kam_management/data/files/key_accounts_dashboard.json") as f:
            self.assertEqual(json.load(f), data)
        self.assertIn("kam.kpi.snapshot", dashboard.main_data_model_ids.mapped("model"))
        fields = self.Snapshot._fields
        for pivot in data["pivots"].values():
            self.assertEqual(pivot["model"], "kam.kpi.snapshot")
            for measure in pivot["measures"]:
                self.assertTrue(measure["fieldName"] == "__count" or fields[measure["fieldName"]].store)
        for listing in data["lists"].values():
            self.assertTrue(all(name in fields for name in listing["columns"]))
        self.assertIn(self.env.ref("kam_management.group_kam_manager"), dashboard.group_ids)

    # ------------------------------------------------------------------
    # Settings, cron, queries
    # ------------------------------------------------------------------
    def test_bad_settings_are_refused(self):
        for vals in (
            {"kam_health_weight_contact": -1},
            {f"kam_health_weight_{name}": 0 for name in health_rules.SIGNAL_NAMES},
            {"kam_health_healthy_from": 40, "kam_health_risk_below": 40},
            {"kam_health_healthy_from": 30, "kam_health_risk_below": 50},
            {"kam_health_healthy_from": 120},
            {"kam_health_risk_below": 0},
            {"kam_kpi_retention_days": 300},
            {"kam_window_months": 24},
            {"kam_health_drop_points": 0},
        ):
            with self.subTest(vals=vals), self.assertRaises(ValidationError), self.env.cr.savepoint():
                self.company.write(vals)
        self.assertEqual(
            (
                self.company.kam_health_weight_contact,
                self.company.kam_health_healthy_from,
                self.company.kam_kpi_retention_days,
            ),
            (20.0, 80.0, 400),
        )

    def test_settings_screen_saves_nothing_on_bad_input(self):
        with self.assertRaisesRegex(ValidationError, "out of order"), self.env.cr.savepoint():
            self.env["res.config.settings"].create(
                {"kam_health_healthy_from": 30, "kam_health_risk_below": 60, "kam_kpi_retention_days": 500}
            ).execute()
        self.assertEqual((self.company.kam_health_healthy_from, self.company.kam_kpi_retention_days), (80.0, 400))

    def test_cron_takes_todays_snapshot_and_thins(self):
        cron = self.env.ref("kam_management.ir_cron_kam_kpi_snapshot")
        self.assertEqual((cron.interval_number, cron.interval_type, cron.active), (1, "days", True))
        with patch.object(type(self.Snapshot), "_thin_snapshots", autospec=True, return_value=0) as thin:
            cron.method_direct_trigger()
        self.assertTrue(self._snapshot(self.anchor))
        self.assertIn(self.company, [call.args[1] for call in thin.call_args_list])

    def test_query_count_does_not_grow_with_accounts(self):
        """A first snapshot and a rerun issue the same number of queries for 3 and 30 accounts,
        the refresh of the stored figures they read included."""
        companies = {}
        for name, size in (("warm-up", 3), ("small", 3), ("large", 30)):
            company = self.setup_other_company(name=f"KPI {name} company")["company"]
            customers = self._customers(size, f"KPI {name}")
            self._post_invoices(
                [(p, 100 * (i + 1), self.day - timedelta(days=5)) for i, p in enumerate(customers)], company=company
            )
            company.write({"kam_threshold_a": 99.9, "kam_threshold_b": 100.0})
            self.Classification._reclassify_company(company, self.day)
            companies[name] = company
        self._warm_up(lambda: self.Snapshot._take_snapshots(companies["warm-up"], self.day, alerts=False))
        for label in ("first", "rerun"):
            for name in ("large", "small"):
                self.env.invalidate_all()
                expected = QUERIES_REFRESH[label] + QUERIES_SNAPSHOT
                with self.subTest(run=label, size=name), self.assertQueryCount(expected):
                    self.Snapshot._take_snapshots(companies[name], self.day, alerts=False)
        counts = self.Snapshot._read_group(
            [("company_id", "in", [companies["small"].id, companies["large"].id])], ["company_id"], ["__count"]
        )
        self.assertEqual(sorted(count for _company, count in counts), [3, 30])


# Measured once and held: what matters is that both sizes issue the same number. (12 before the
# figure definitions: the contact rule now reads its message subtype from the xml id cache.)
QUERIES_SNAPSHOT = 11
# The refresh of the stored figures that comes first: it builds the company's rows on the first
# run (its last run's window looked up, every row written) and finds nothing to do on the rerun.
QUERIES_REFRESH = {"first": 9, "rerun": 5}
