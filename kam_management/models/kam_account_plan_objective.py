from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

MEASURES = [
    ("revenue", "Revenue"),
    ("gross_margin", "Gross margin"),
    ("net_contribution", "Net contribution"),
    ("cost_to_serve", "Cost to serve"),
    ("won_count", "Won opportunities (count)"),
    ("won_value", "Won opportunities (value)"),
    ("pipeline", "Open pipeline"),
    ("visits", "Visits done"),
    ("satisfaction", "Satisfaction score"),
    ("manual", "Manual measure"),
]

# Figures of the account over the plan's period, read from the cost-to-serve facts.
FIGURE_MEASURES = ("revenue", "gross_margin", "net_contribution", "cost_to_serve", "visits")
# Figures of the account's opportunities in the plan's company.
OPPORTUNITY_MEASURES = ("won_count", "won_value", "pipeline")
# Measures that pile up over the period: the value expected today is the target times the
# elapsed fraction of the period.  The others (a level: pipeline, satisfaction) are compared
# with the whole target at any time.
CUMULATIVE_MEASURES = {
    "revenue",
    "gross_margin",
    "net_contribution",
    "cost_to_serve",
    "won_count",
    "won_value",
    "visits",
    "manual",
}
# Measures where less is better: the target is a ceiling, not a floor.
LOWER_IS_BETTER = {"cost_to_serve"}
# Measures whose target may be negative (a margin or a contribution may be a loss to reduce).
MAY_BE_NEGATIVE = {"gross_margin", "net_contribution", "manual"}
MONETARY_MEASURES = {"revenue", "gross_margin", "net_contribution", "cost_to_serve", "won_value", "pipeline"}
SATISFACTION_MAX = 10.0

# Status thresholds, as the shortfall against the value expected today that each status
# tolerates, in parts of that value: on track within 10 % (actual ≥ 90 % of expected),
# at risk within 30 % (≥ 70 %), off track beyond.
ON_TRACK_TOLERANCE = 0.10
AT_RISK_TOLERANCE = 0.30

STATUSES = [("on_track", "On track"), ("at_risk", "At risk"), ("off_track", "Off track")]


def elapsed_fraction(date_start, date_end, today):
    """Share of the period's days gone by on ``today`` (both ends count), between 0 and 1."""
    if not date_start or not date_end or today < date_start:
        return 0.0
    if today >= date_end:
        return 1.0
    return ((today - date_start).days + 1) / ((date_end - date_start).days + 1)


def judge(target, actual, fraction, cumulative=True, lower_is_better=False):
    """Return ``(expected, status)`` of an objective ``fraction`` of the way through its period.

    The shortfall is how far the actual is behind the value expected today, in the direction
    of the measure; it is compared with the expected value itself, so that a target of a loss
    (negative margin) is judged the same way as a target of a profit.
    """
    expected = target * fraction if cumulative else target
    if cumulative and fraction <= 0:
        return expected, "on_track"
    shortfall = (actual - expected) if lower_is_better else (expected - actual)
    scale = abs(expected)
    # Rounded so that 5.6 of a target of 8 is exactly at 70 %, as a person would count it.
    if round(shortfall - ON_TRACK_TOLERANCE * scale, 6) <= 0:
        return expected, "on_track"
    if round(shortfall - AT_RISK_TOLERANCE * scale, 6) <= 0:
        return expected, "at_risk"
    return expected, "off_track"


class KamAccountPlanObjective(models.Model):
    """A measurable objective of an account plan: a target and the actual of the period.

    Actuals are not stored: they are read from Odoo's data whenever objectives are shown,
    with one query per family of measures for all the objectives being computed.
    """

    _name = "kam.account.plan.objective"
    _description = "Account plan objective"
    _order = "plan_id, sequence, id"

    plan_id = fields.Many2one("kam.account.plan", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="plan_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="plan_id.currency_id")
    sequence = fields.Integer(default=10)
    measure = fields.Selection(MEASURES, required=True, default="revenue")
    name = fields.Char(string="Description")
    target = fields.Float(digits=(16, 2))
    manual_actual = fields.Float(
        string="Actual (manual)", digits=(16, 2), help="The actual value, entered by the KAM, of a manual measure."
    )
    previous_actual = fields.Float(
        string="Last period's actual",
        digits=(16, 2),
        readonly=True,
        copy=False,
        help="The actual of the same objective in the previous plan, at renewal.",
    )
    is_monetary = fields.Boolean(compute="_compute_measure_properties")
    lower_is_better = fields.Boolean(compute="_compute_measure_properties")
    actual = fields.Float(compute="_compute_actual", digits=(16, 2))
    expected = fields.Float(
        string="Expected today",
        compute="_compute_actual",
        digits=(16, 2),
        help="The value the objective should have reached by today: the target times the elapsed share "
        "of the period for measures that add up over time, the whole target for levels "
        "(open pipeline, satisfaction).",
    )
    progress = fields.Float(
        string="Progress (%)", compute="_compute_actual", help="The actual as a percentage of the target."
    )
    status = fields.Selection(
        STATUSES,
        compute="_compute_actual",
        help="Judged against the value expected today: on track at 90 % of it or more, at risk from 70 %, "
        "off track below. For cost to serve, where less is better, the limits are 110 % and 130 %.",
    )

    @api.depends("measure")
    def _compute_measure_properties(self):
        for objective in self:
            objective.is_monetary = objective.measure in MONETARY_MEASURES
            objective.lower_is_better = objective.measure in LOWER_IS_BETTER

    @api.depends(
        "measure",
        "target",
        "manual_actual",
        "plan_id.partner_id",
        "plan_id.company_id",
        "plan_id.date_start",
        "plan_id.date_end",
        "plan_id.review_ids.date",
        "plan_id.review_ids.satisfaction_score",
    )
    @api.depends_context("kam_today")
    def _compute_actual(self):
        actuals = self._fetch_actuals()
        today = self._today()
        for objective in self:
            plan = objective.plan_id
            actual = actuals.get(objective.id, 0.0)
            fraction = elapsed_fraction(plan.date_start, plan.date_end, today)
            expected, status = judge(
                objective.target,
                actual,
                fraction,
                cumulative=objective.measure in CUMULATIVE_MEASURES,
                lower_is_better=objective.measure in LOWER_IS_BETTER,
            )
            objective.actual = actual
            objective.expected = expected
            objective.progress = actual * 100.0 / objective.target if objective.target else 0.0
            objective.status = status if plan.state != "cancelled" else False

    @api.constrains("measure", "target")
    def _check_target(self):
        labels = dict(self._fields["measure"]._description_selection(self.env))
        for objective in self:
            if objective.target < 0 and objective.measure not in MAY_BE_NEGATIVE:
                raise ValidationError(
                    _(
                        "The target of “%(measure)s” cannot be negative: enter zero or more.",
                        measure=labels[objective.measure],
                    )
                )
            if objective.measure == "satisfaction" and objective.target > SATISFACTION_MAX:
                raise ValidationError(_("A satisfaction target is a score from 0 to 10."))

    def _compute_display_name(self):
        labels = dict(self._fields["measure"]._description_selection(self.env))
        for objective in self:
            objective.display_name = objective.name or labels.get(objective.measure, "")

    # ------------------------------------------------------------------
    # Actual values
    # ------------------------------------------------------------------
    def _today(self):
        return self.env.context.get("kam_today") or fields.Date.context_today(self)

    def _customer_satisfaction(self):
        """Customer surveys: ``{objective id: satisfaction}`` of the "Satisfaction score" objectives
        whose account has answers in the 12 months up to the plan's end (or today): the customer's
        voice replaces the KAM's own review score where it exists."""
        by_key = defaultdict(list)
        today = self._today()
        for objective in self.filtered(lambda o: o.measure == "satisfaction"):
            plan = objective.plan_id
            if plan.partner_id and plan.company_id:
                day = min(plan.date_end, today) if plan.date_end else today
                by_key[(plan.company_id, day)].append(objective)
        result = {}
        if not by_key:
            return result
        # Every period in one statement: the survey figures as of each period's day.
        Answer = self.env["survey.user_input"]
        Answer._kam_flush_survey_sources()
        keys = list(by_key)
        self.env.cr.execute(
            SQL(" UNION ALL ").join(
                SQL(
                    "SELECT %s AS key, f.partner_id, f.satisfaction FROM (%s) f",
                    index,
                    Answer._kam_survey_figures_sql(
                        company, day, [o.plan_id.partner_id.commercial_partner_id.id for o in by_key[(company, day)]]
                    ),
                )
                for index, (company, day) in enumerate(keys)
            )
        )
        satisfaction = {(index, partner): value for index, partner, value in self.env.cr.fetchall()}
        for index, key in enumerate(keys):
            for objective in by_key[key]:
                value = satisfaction.get((index, objective.plan_id.partner_id.commercial_partner_id.id))
                if value is not None:
                    result[objective.id] = round(value, 2)
        return result

    def _fetch_actuals(self):
        """Actual value of each objective of ``self``, as ``{objective id: value}``.

        Objectives are reduced to keys (company, account, period) so that plans sharing a
        period share the work, and each family of measures is read with one query for all keys.
        """
        by_key = defaultdict(list)
        actuals = {}
        customer = self._customer_satisfaction()
        for objective in self:
            plan = objective.plan_id
            if objective.measure == "manual":
                actuals[objective.id] = objective.manual_actual
                continue
            if objective.measure == "satisfaction" and customer.get(objective.id) is not None:
                actuals[objective.id] = customer[objective.id]
                continue
            if objective.measure == "satisfaction":
                reviews = plan.review_ids.filtered("date").sorted(lambda r: (r.date, r._origin.id or 0))
                actuals[objective.id] = reviews[-1:].satisfaction_score if reviews else 0.0
                continue
            if not (plan.partner_id and plan.company_id and plan.date_start and plan.date_end):
                continue
            key = (plan.company_id.id, plan.partner_id.commercial_partner_id.id, plan.date_start, plan.date_end)
            by_key[key].append(objective)

        def keys_of(measures):
            return [key for key, objectives in by_key.items() if any(o.measure in measures for o in objectives)]

        figures = {}
        if figure_keys := keys_of(FIGURE_MEASURES):
            figures.update(self._fetch_figures(figure_keys))
        if opportunity_keys := keys_of(OPPORTUNITY_MEASURES):
            figures.update(
                {
                    key: {**figures.get(key, {}), **values}
                    for key, values in self._fetch_opportunity_figures(opportunity_keys).items()
                }
            )
        for key, objectives in by_key.items():
            values = figures.get(key, {})
            for objective in objectives:
                actuals[objective.id] = float(values.get(objective.measure) or 0.0)
        return actuals

    @api.model
    def _keys_sql(self, keys):
        """The keys ``(company, account, date from, date to)`` as a relation ``keys(k, ...)``."""
        return SQL(
            "SELECT * FROM unnest(%s::int[], %s::int[], %s::int[], %s::date[], %s::date[]) "
            "AS keys(k, company_id, partner_id, date_from, date_to)",
            list(range(len(keys))),
            [key[0] for key in keys],
            [key[1] for key in keys],
            [key[2] for key in keys],
            [key[3] for key in keys],
        )

    @api.model
    def _fetch_figures(self, keys):
        """Revenue, margins, cost to serve and visits of each key, in one query.

        The figures are the cost-to-serve ones (``kam.account.fact._figures_sql``), one
        sub-select per distinct (company, period) reading only the accounts of its plans, so
        that a plan's actual and the cost-to-serve screens agree by construction. On a screen
        they are computed from the documents, current to the last write; the daily KPI run,
        which has just refreshed the stored rows, reads those (context ``kam_stored_figures``).
        """
        Fact = self.env["kam.account.fact"]
        Fact._flush_sources()
        stored = bool(self.env.context.get("kam_stored_figures"))
        periods = {}
        for company_id, partner_id, date_from, date_to in keys:
            periods.setdefault((company_id, date_from, date_to), set()).add(partner_id)
        figures = SQL(" UNION ALL ").join(
            SQL(
                "SELECT %s AS period, f.* FROM (%s) f",
                index,
                Fact._figures_sql(
                    self.env["res.company"].browse(company_id), date_from, date_to, partners=partners, stored=stored
                ),
            )
            for index, ((company_id, date_from, date_to), partners) in enumerate(periods.items())
        )
        period_index = {period: index for index, period in enumerate(periods)}
        self.env.cr.execute(
            SQL(
                """
                WITH keys AS (%(keys)s),
                key_period AS (SELECT * FROM unnest(%(ks)s::int[], %(periods)s::int[]) AS kp(k, period)),
                figures AS (%(figures)s)
                SELECT keys.k,
                       f.revenue, f.gross_margin, f.net_contribution, f.cost_to_serve, f.visit_count AS visits
                  FROM keys
                  JOIN key_period kp ON kp.k = keys.k
                  JOIN figures f ON f.period = kp.period AND f.partner_id = keys.partner_id
                """,
                keys=self._keys_sql(keys),
                ks=list(range(len(keys))),
                periods=[period_index[(key[0], key[2], key[3])] for key in keys],
                figures=figures,
            )
        )
        return {keys[row["k"]]: row for row in self.env.cr.dictfetchall()}

    @api.model
    def _fetch_opportunity_figures(self, keys):
        """Opportunities won in the period (count and expected revenue) and open pipeline, per key.

        An opportunity counts for the account of its customer's commercial entity, in its own
        company; won means in a won stage, closed inside the period.  The open pipeline is the
        pipeline at the end of the period (``kam.figures._open_at_sql``: created by then and
        neither won nor lost by then), the same figure as the KPI snapshot's.
        """
        Figures = self.env["kam.figures"]
        Figures._flush_opportunities()
        selects = [
            SQL(
                """
                SELECT keys.k,
                       COUNT(*) FILTER (WHERE o.won AND o.closed BETWEEN keys.date_from AND keys.date_to) AS won_count,
                       SUM(o.expected_revenue) FILTER (WHERE o.won AND o.closed BETWEEN keys.date_from AND keys.date_to)
                           AS won_value,
                       SUM(o.expected_revenue) FILTER (WHERE %(open)s) AS pipeline
                  FROM (%(keys)s) keys
                  JOIN (%(opportunities)s) o ON o.partner_id = keys.partner_id
                 WHERE keys.company_id = %(company)s
                 GROUP BY keys.k
                """,
                keys=self._keys_sql(keys),
                opportunities=Figures._opportunities_sql(company_id),
                open=Figures._open_at_sql("o", SQL("keys.date_to")),
                company=company_id,
            )
            for company_id in sorted({key[0] for key in keys})
        ]
        self.env.cr.execute(SQL(" UNION ALL ").join(selects))
        return {keys[row["k"]]: row for row in self.env.cr.dictfetchall()}
