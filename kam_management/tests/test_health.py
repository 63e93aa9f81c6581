import random

from odoo.tests import BaseCase, TransactionCase, tagged
from odoo.tools import SQL

from ..tools import health_rules
from ..tools.health_rules import DEFAULT_WEIGHTS, SIGNALS, band, health, plan_progress, pulled_down_by, subscore

SIGNAL = {signal.name: signal for signal in SIGNALS}
ALL_GOOD = {
    "revenue_trend": 5.0,
    "margin_trend": 1.0,
    "contact_ratio": 0.5,
    "pipeline_cover": 150.0,
    "overdue_share": 0.0,
    "satisfaction": 9.5,
    "plan_progress": 100.0,
}


@tagged("post_install", "-at_install")
class TestHealthRules(BaseCase):
    """The health formula alone: ramps, weights, bands and what pulls a score down."""

    def test_ramps_are_flat_outside_their_ends(self):
        trend = SIGNAL["revenue_trend"]
        self.assertEqual(subscore(trend, -80), 0.0)
        self.assertEqual(subscore(trend, -50), 0.0)
        self.assertEqual(subscore(trend, -25), 0.5)
        self.assertEqual(subscore(trend, 0), 1.0)
        self.assertEqual(subscore(trend, 40), 1.0)

    def test_less_is_better_ramps(self):
        contact, overdue = SIGNAL["contact"], SIGNAL["overdue"]
        self.assertEqual(subscore(contact, 0.9), 1.0, "contacted within the interval")
        self.assertEqual(subscore(contact, 1.5), 0.5, "half an interval late")
        self.assertEqual(subscore(contact, 2.0), 0.0)
        self.assertEqual(subscore(overdue, 25.0), 0.75)

    def test_missing_inputs(self):
        self.assertEqual(subscore(SIGNAL["contact"], None), 0.0, "never contacted scores 0")
        self.assertEqual(subscore(SIGNAL["overdue"], None), 1.0, "nothing to be overdue on")
        self.assertIsNone(subscore(SIGNAL["satisfaction"], None), "no review: the signal does not apply")

    def test_all_good_scores_100_and_loses_nothing(self):
        score, losses = health(ALL_GOOD, DEFAULT_WEIGHTS)
        self.assertEqual(score, 100)
        self.assertEqual(set(losses.values()), {0.0})
        self.assertEqual(pulled_down_by(losses), [])

    def test_weighted_mean_and_losses(self):
        """Contact at twice the interval (weight 20 of 100) costs 20 points, and says so."""
        score, losses = health({**ALL_GOOD, "contact_ratio": 2.0}, DEFAULT_WEIGHTS)
        self.assertEqual(score, 80)
        self.assertEqual(losses["contact"], 20.0)
        self.assertEqual(pulled_down_by(losses), ["contact"])

    def test_weights_of_signals_without_data_go_to_the_others(self):
        inputs = {**ALL_GOOD, "satisfaction": None, "plan_progress": None, "contact_ratio": 2.0}
        score, losses = health(inputs, DEFAULT_WEIGHTS)
        self.assertEqual(score, 75, "contact weighs 20 of the 80 that apply")
        self.assertEqual(losses["satisfaction"], 0.0)
        self.assertAlmostEqual(sum(losses.values()), 25.0)

    def test_rounding_half_up(self):
        weights = dict.fromkeys(DEFAULT_WEIGHTS, 0.0) | {"revenue_trend": 1.0}
        self.assertEqual(health({"revenue_trend": -43.75}, weights)[0], 13, "12.5 rounds to 13")
        self.assertEqual(health({"revenue_trend": -43.8}, weights)[0], 12)

    def test_nothing_to_score(self):
        weights = dict.fromkeys(DEFAULT_WEIGHTS, 0.0) | {"satisfaction": 1.0}
        self.assertEqual(health({}, weights), (None, dict.fromkeys(DEFAULT_WEIGHTS, 0.0)))

    def test_bands_at_their_limits(self):
        self.assertEqual(band(70, 70, 40), "healthy")
        self.assertEqual(band(69, 70, 40), "watch")
        self.assertEqual(band(40, 70, 40), "watch")
        self.assertEqual(band(39, 70, 40), "at_risk")
        self.assertIsNone(band(None, 70, 40))

    def test_plan_progress_counts_at_risk_half(self):
        self.assertEqual(plan_progress(["on_track", "at_risk", "off_track", "on_track"]), 62.5)
        self.assertIsNone(plan_progress([]))

    def test_weights_checks(self):
        self.assertIsNone(health_rules.check_weights(DEFAULT_WEIGHTS))
        self.assertEqual(health_rules.check_weights(DEFAULT_WEIGHTS | {"contact": -1}), "negative")
        self.assertEqual(health_rules.check_weights(dict.fromkeys(DEFAULT_WEIGHTS, 0)), "zero")


@tagged("post_install", "-at_install")
class TestHealthSql(TransactionCase):
    """The SQL the daily snapshot runs gives the very numbers of the Python rules."""

    def test_sql_matches_python_on_random_inputs(self):
        rng = random.Random(5)
        weights = {name: float(rng.choice([0, 3, 7.5, 10, 12.3, 25])) for name in DEFAULT_WEIGHTS}
        weights["contact"] = 20.0
        fields = [signal.field for signal in SIGNALS]
        cases = []
        for _i in range(300):
            cases.append(
                {
                    "revenue_trend": rng.choice([None, rng.uniform(-90, 60)]),
                    "margin_trend": rng.choice([None, rng.uniform(-20, 10)]),
                    "contact_ratio": rng.choice([None, rng.uniform(0, 3)]),
                    "pipeline_cover": rng.choice([None, rng.uniform(0, 200)]),
                    "overdue_share": rng.choice([None, 0.0, rng.uniform(0, 300)]),
                    "satisfaction": rng.choice([None, round(rng.uniform(0, 10), 1)]),
                    "plan_progress": rng.choice([None, 0.0, 50.0, 62.5, 100.0]),
                }
            )
        values = SQL(", ").join(
            SQL("(%s, %s)", index, SQL(", ").join(SQL("%s::float8", case[field]) for field in fields))
            for index, case in enumerate(cases)
        )
        subscores = SQL(", ").join(
            SQL(
                "%s AS %s",
                health_rules.subscore_sql(signal, SQL.identifier("i", signal.field)),
                SQL.identifier(f"s_{signal.name}"),
            )
            for signal in SIGNALS
        )
        self.env.cr.execute(
            SQL(
                """
                WITH i(k, %(columns)s) AS (VALUES %(values)s),
                sub AS (SELECT i.k, %(subscores)s FROM i),
                w AS (SELECT sub.*, %(weight)s AS health_weight, %(points)s AS health_points FROM sub)
                SELECT w.k, %(score)s AS score, %(losses)s FROM w ORDER BY w.k
                """,
                columns=SQL(", ").join(SQL.identifier(field) for field in fields),
                values=values,
                subscores=subscores,
                weight=health_rules.weight_sql("sub", weights),
                points=health_rules.points_sql("sub", weights),
                score=health_rules.score_sql(SQL("w.health_weight"), SQL("w.health_points")),
                losses=SQL(", ").join(
                    SQL(
                        "%s AS %s",
                        health_rules.loss_sql("w", name, weights, SQL("w.health_weight")),
                        SQL.identifier(name),
                    )
                    for name in DEFAULT_WEIGHTS
                ),
            )
        )
        for row in self.env.cr.dictfetchall():
            score, losses = health(cases[row["k"]], weights)
            self.assertEqual(row["score"], score, cases[row["k"]])
            for name in DEFAULT_WEIGHTS:
                self.assertEqual(row[name], losses[name], (name, cases[row["k"]]))
