"""The daily KPI statement of ``kam.kpi.snapshot``: one builder per KPI family, one assembly.

``kpi_ctes`` writes one statement, ``WITH scope, <sources>, base, inputs, scored, banded,
alerted, final``:

- ``scope``: the company's key accounts (tier A, and B where the company includes them);
- each KPI family (``FAMILIES``: revenue and margin, pipeline and won/lost, contact and
  visits, receivables, satisfaction, plan progress) reads its sources in its own CTEs, joined
  to ``scope`` on the account, and gives its columns of ``base`` and the columns of ``inputs``
  derived from them (ratios to the revenue);
- ``health`` turns the inputs into the health score, band, change and alert flag
  (``tools/health_rules.py``);
- ``final`` adds who gets an alert today (``tools/kpi_alerts.py``).

A builder chooses a figure's window and rounds it; the figure itself is defined once, in
``kam.figures`` (``models/kam_figures.py``), or stored by month from it in
``kam.account.fact``. ``store_sql`` upserts the rows of ``final`` as the day's snapshot.
"""

from datetime import timedelta
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.tools import SQL

from . import health_rules, kpi_alerts
from .health_rules import SIGNAL_NAMES, SIGNALS

# Days counted as "recent" for opportunities won and lost and for visits (the run date included).
RECENT_DAYS = 90
# The health change that can raise an alert is measured against the snapshot this many days earlier.
HEALTH_CHANGE_DAYS = 30
# Months of revenue the weighted pipeline is compared with.
PIPELINE_COVER_MONTHS = 3

# Columns written by the daily statement, in the order of the final SELECT.
KPI_COLUMNS = (
    "partner_id",
    "manager_id",
    "tier",
    "revenue",
    "revenue_prev",
    "revenue_trend",
    "revenue_mtd",
    "gross_margin",
    "margin_rate",
    "margin_trend",
    "cost_to_serve",
    "net_contribution",
    "pipeline",
    "pipeline_weighted",
    "pipeline_cover",
    "won_count",
    "won_amount",
    "lost_count",
    "visit_count",
    "last_contact_date",
    "days_since_contact",
    "contact_interval",
    "contact_overdue",
    "overdue_amount",
    "overdue_share",
    "satisfaction",
    "review_date",
    # Customer surveys
    "customer_nps",
    "customer_satisfaction",
    "survey_answer_count",
    "review_score",
    "satisfaction_source",
    "plan_id",
    "plan_progress",
    "plan_on_track_count",
    "plan_objective_count",
    "health_score",
    "health_band",
    "health_change",
    "health_alert",
    *(f"health_loss_{name}" for name in SIGNAL_NAMES),
    "is_latest",
    "is_month_end",
)

# The accounts in scope, for the figures that take a set of accounts.
SCOPE_PARTNERS = SQL("SELECT partner_id FROM scope")


class KpiDay(NamedTuple):
    """The company and day of a statement, and the account plans judged on that day
    (``active_plans``)."""

    env: object
    company: object
    date: object
    plans: dict

    @property
    def recent_from(self):
        return self.date - timedelta(days=RECENT_DAYS - 1)

    def money(self, expression):
        """An amount rounded to the company's currency, 0 when empty."""
        return SQL("ROUND(COALESCE(%s, 0), %s)", expression, self.company.currency_id.decimal_places)


class Family(NamedTuple):
    """What one KPI family adds to the statement.

    ``ctes``: its sources, entries ``name AS (...)`` of the ``WITH`` list; ``joins``: how they
    join ``scope s`` (one row per account at most); ``columns``: its columns of ``base``;
    ``derived``: its columns of ``inputs``, computed from the row ``b`` of ``base``.
    """

    ctes: tuple = ()
    joins: tuple = ()
    columns: tuple = ()
    derived: tuple = ()


# ----------------------------------------------------------------------------------------
# The KPI families
# ----------------------------------------------------------------------------------------
def stored_figures(day, date_from, date_to):
    """The figures of the accounts in scope over a range, summed from the stored monthly rows
    (``kam.account.fact._figures_sql``), which the snapshot's run refreshes before it reads them."""
    return day.env["kam.account.fact"]._figures_sql(
        day.company, date_from, date_to, partners=SCOPE_PARTNERS, stored=True
    )


def revenue_margin(day):
    """Revenue, gross margin, cost to serve and net contribution over the company's window
    (``stored_figures``), the same window a year earlier and the month to date;
    the revenue and margin trends against a year earlier."""
    Classification = day.env["kam.classification"]
    company, date, money = day.company, day.date, day.money
    window_from, window_to = Classification._window(company, date)
    prev_from, prev_to = Classification._window(company, date - relativedelta(years=1))
    return Family(
        ctes=(
            SQL("win AS MATERIALIZED (%s)", stored_figures(day, window_from, window_to)),
            SQL("prev AS MATERIALIZED (%s)", stored_figures(day, prev_from, prev_to)),
            SQL("mtd AS MATERIALIZED (%s)", stored_figures(day, date.replace(day=1), date)),
        ),
        joins=(
            SQL("LEFT JOIN win ON win.partner_id = s.partner_id"),
            SQL("LEFT JOIN prev ON prev.partner_id = s.partner_id"),
            SQL("LEFT JOIN mtd ON mtd.partner_id = s.partner_id"),
        ),
        columns=(
            SQL("%s AS revenue", money(SQL("win.revenue"))),
            SQL("%s AS revenue_prev", money(SQL("prev.revenue"))),
            SQL("%s AS revenue_mtd", money(SQL("mtd.revenue"))),
            SQL("%s AS gross_margin", money(SQL("win.gross_margin"))),
            SQL("%s AS gross_margin_prev", money(SQL("prev.gross_margin"))),
            SQL("%s AS cost_to_serve", money(SQL("win.cost_to_serve"))),
            SQL("%s AS net_contribution", money(SQL("win.net_contribution"))),
        ),
        derived=(
            SQL(
                "CASE WHEN b.revenue_prev > 0 "
                "THEN ((b.revenue - b.revenue_prev) * 100 / b.revenue_prev)::float8 END AS revenue_trend"
            ),
            SQL("CASE WHEN b.revenue > 0 THEN (b.gross_margin * 100 / b.revenue)::float8 END AS margin_rate"),
            SQL(
                "CASE WHEN b.revenue > 0 AND b.revenue_prev > 0 "
                "THEN (b.gross_margin * 100 / b.revenue - b.gross_margin_prev * 100 / b.revenue_prev)::float8 "
                "END AS margin_trend"
            ),
        ),
    )


def pipeline(day):
    """Open and weighted pipeline on the day, opportunities won and lost over the recent days
    (``kam.figures._opportunities_sql`` and ``_open_at_sql``); the pipeline's cover of
    ``PIPELINE_COVER_MONTHS`` months of revenue."""
    Figures = day.env["kam.figures"]
    money = day.money
    recent = SQL("o.closed BETWEEN %s AND %s", day.recent_from, day.date)
    return Family(
        ctes=(
            SQL("opp AS (%s)", Figures._opportunities_sql(day.company.id)),
            SQL(
                """
                pipe AS (
                    SELECT o.partner_id,
                           SUM(o.expected_revenue) FILTER (WHERE x.open) AS pipeline,
                           SUM(o.expected_revenue * o.probability::numeric / 100) FILTER (WHERE x.open)
                               AS pipeline_weighted,
                           COUNT(*) FILTER (WHERE o.won AND %(recent)s) AS won_count,
                           SUM(o.expected_revenue) FILTER (WHERE o.won AND %(recent)s) AS won_amount,
                           COUNT(*) FILTER (WHERE o.lost AND %(recent)s) AS lost_count
                      FROM opp o
                     CROSS JOIN LATERAL (SELECT %(open)s AS open) x
                     WHERE o.partner_id IN (%(scope)s)
                     GROUP BY o.partner_id
                )
                """,
                recent=recent,
                open=Figures._open_at_sql("o", day.date),
                scope=SCOPE_PARTNERS,
            ),
        ),
        joins=(SQL("LEFT JOIN pipe ON pipe.partner_id = s.partner_id"),),
        columns=(
            SQL("%s AS pipeline", money(SQL("pipe.pipeline"))),
            SQL("%s AS pipeline_weighted", money(SQL("pipe.pipeline_weighted"))),
            SQL("COALESCE(pipe.won_count, 0)::int AS won_count"),
            SQL("%s AS won_amount", money(SQL("pipe.won_amount"))),
            SQL("COALESCE(pipe.lost_count, 0)::int AS lost_count"),
        ),
        derived=(
            SQL(
                """
                CASE WHEN b.revenue > 0
                     THEN (b.pipeline_weighted * 100 * %(months)s / (%(cover_months)s * b.revenue))::float8
                     WHEN b.pipeline_weighted > 0 THEN 100.0::float8 END AS pipeline_cover
                """,
                months=day.company.kam_window_months,
                cover_months=PIPELINE_COVER_MONTHS,
            ),
        ),
    )


def contact_visits(day):
    """Visits done over the recent days (``stored_figures``), the last contact
    (``kam.figures._last_contact_sql``) and the days since, against the contact interval of the
    tier's service level (``kam.service.level._tier_rules_sql``; none: never overdue)."""
    company, date = day.company, day.date
    return Family(
        ctes=(
            SQL(
                "recent AS MATERIALIZED (%s)",
                stored_figures(day, day.recent_from, date),
            ),
            SQL(
                "last_touch AS (%s)",
                day.env["kam.figures"]._last_contact_sql(company.id, date, SCOPE_PARTNERS),
            ),
        ),
        joins=(
            SQL("LEFT JOIN recent ON recent.partner_id = s.partner_id"),
            SQL("LEFT JOIN last_touch lt ON lt.partner_id = s.partner_id"),
            SQL(
                "LEFT JOIN (%s) sl ON sl.tier = s.tier",
                day.env["kam.service.level"]._tier_rules_sql([company.id]),
            ),
        ),
        columns=(
            SQL("COALESCE(recent.visit_count, 0)::int AS visit_count"),
            SQL("lt.day AS last_contact_date"),
            SQL("(%s::date - lt.day)::int AS days_since_contact", date),
            SQL("sl.contact_interval"),
        ),
        derived=(
            SQL(
                """
                CASE WHEN b.contact_interval IS NOT NULL
                     THEN b.days_since_contact::float8 / b.contact_interval::float8
                     WHEN b.days_since_contact IS NOT NULL THEN 0.0::float8 END AS contact_ratio
                """
            ),
            SQL(
                """
                (b.contact_interval IS NOT NULL
                 AND (b.days_since_contact IS NULL OR b.days_since_contact > b.contact_interval))
                    AS contact_overdue
                """
            ),
        ),
    )


def receivables(day):
    """Receivables overdue on the day (``kam.figures._overdue_sql``), as a share of a month of
    revenue."""
    return Family(
        ctes=(SQL("overdue AS (%s)", day.env["kam.figures"]._overdue_sql(day.company.id, day.date, SCOPE_PARTNERS)),),
        joins=(SQL("LEFT JOIN overdue od ON od.partner_id = s.partner_id"),),
        columns=(SQL("%s AS overdue_amount", day.money(SQL("od.amount"))),),
        derived=(
            SQL(
                """
                CASE WHEN b.revenue > 0 THEN (b.overdue_amount * 100 * %(months)s / b.revenue)::float8
                     WHEN b.overdue_amount > 0 THEN 100.0::float8
                     ELSE 0.0::float8 END AS overdue_share
                """,
                months=day.company.kam_window_months,
            ),
        ),
    )


def satisfaction(day):
    """The customer's voice over the last 12 months (``survey.user_input._kam_survey_figures_sql``:
    NPS, satisfaction, answers) and the KAM's latest review (``kam.figures._satisfaction_sql``);
    the satisfaction of the health score is the customer's where there is one, else the KAM's."""
    company, date = day.company, day.date
    return Family(
        ctes=(
            SQL("review AS (%s)", day.env["kam.figures"]._satisfaction_sql(company.id, date, SCOPE_PARTNERS)),
            SQL("survey AS MATERIALIZED (%s)", day.env["survey.user_input"]._kam_survey_figures_sql(company, date)),
        ),
        joins=(
            SQL("LEFT JOIN review rv ON rv.partner_id = s.partner_id"),
            SQL("LEFT JOIN survey sv ON sv.partner_id = s.partner_id"),
        ),
        columns=(
            SQL("COALESCE(sv.satisfaction, rv.score) AS satisfaction"),
            SQL("rv.date AS review_date"),
            SQL("sv.nps AS customer_nps"),
            SQL("sv.satisfaction AS customer_satisfaction"),
            SQL("COALESCE(sv.answer_count, 0) AS survey_answer_count"),
            SQL("rv.score AS review_score"),
            SQL(
                "CASE WHEN sv.satisfaction IS NOT NULL THEN 'customer' "
                "WHEN rv.score IS NOT NULL THEN 'kam' END AS satisfaction_source"
            ),
        ),
    )


def plan_progress(day):
    """The account plan active on the day and how its objectives stand (``active_plans``)."""
    plans = day.plans
    return Family(
        ctes=(
            SQL(
                """
                plan AS (
                    SELECT * FROM unnest(%s::int[], %s::int[], %s::float8[], %s::int[], %s::int[])
                        AS p(partner_id, plan_id, progress, on_track, objectives)
                )
                """,
                list(plans),
                [plan[0] for plan in plans.values()],
                [plan[1] for plan in plans.values()],
                [plan[2] for plan in plans.values()],
                [plan[3] for plan in plans.values()],
            ),
        ),
        joins=(SQL("LEFT JOIN plan pl ON pl.partner_id = s.partner_id"),),
        columns=(
            SQL("pl.plan_id"),
            SQL("pl.progress AS plan_progress"),
            SQL("pl.on_track AS plan_on_track_count"),
            SQL("pl.objectives AS plan_objective_count"),
        ),
    )


# The families, in the order of their columns.
FAMILIES = (revenue_margin, pipeline, contact_visits, receivables, satisfaction, plan_progress)


def health(day):
    """``scored``, ``banded`` and ``alerted``: the health score of the inputs with the points
    each signal took off, its band, its change over ``HEALTH_CHANGE_DAYS`` days (from the
    earlier snapshots) and the health alert flag."""
    company, date = day.company, day.date
    weights = company._kam_health_weights()
    subscores = SQL(", ").join(
        SQL(
            "%s AS %s",
            health_rules.subscore_sql(signal, SQL("i.%s", SQL.identifier(signal.field))),
            SQL.identifier(f"s_{signal.name}"),
        )
        for signal in SIGNALS
    )
    weight, points = SQL("w.health_weight"), SQL("w.health_points")
    losses = SQL(", ").join(
        SQL("%s AS %s", health_rules.loss_sql("s", name, weights, weight), SQL.identifier(f"health_loss_{name}"))
        for name in SIGNAL_NAMES
    )
    return SQL(
        """
        scored AS (
            -- OFFSET 0 keeps each step a fence: the sub-scores, their sums and the score are
            -- computed once per account, not copied into every expression that uses them.
            SELECT i.*, s.*, w.health_weight, w.health_points, hs.health_score, %(losses)s
              FROM inputs i
             CROSS JOIN LATERAL (SELECT %(subscores)s OFFSET 0) s
             CROSS JOIN LATERAL (
                 SELECT %(weight_sum)s AS health_weight, %(point_sum)s AS health_points OFFSET 0
             ) w
             CROSS JOIN LATERAL (SELECT %(score)s AS health_score OFFSET 0) hs
        ),
        banded AS (
            SELECT sc.*, %(band)s AS health_band,
                   sc.health_score - p30.health_score AS health_change,
                   prev_row.health_alert AS previous_alert
              FROM scored sc
              LEFT JOIN LATERAL (
                  SELECT x.health_score FROM kam_kpi_snapshot x
                   WHERE x.partner_id = sc.partner_id AND x.company_id = %(company)s
                     AND x.date >= %(change_from)s AND x.date < %(date)s
                   ORDER BY x.date LIMIT 1
              ) p30 ON true
              LEFT JOIN LATERAL (
                  SELECT x.health_alert FROM kam_kpi_snapshot x
                   WHERE x.partner_id = sc.partner_id AND x.company_id = %(company)s AND x.date < %(date)s
                   ORDER BY x.date DESC LIMIT 1
              ) prev_row ON true
        ),
        alerted AS (
            SELECT b.*,
                   COALESCE(b.health_band = 'at_risk' OR b.health_change < -%(drop)s, false) AS health_alert
              FROM banded b
        )
        """,
        losses=losses,
        subscores=subscores,
        weight_sum=health_rules.weight_sql("s", weights),
        point_sum=health_rules.points_sql("s", weights),
        score=health_rules.score_sql(weight, points),
        band=health_rules.band_sql(
            SQL("sc.health_score"), company.kam_health_healthy_from, company.kam_health_risk_below
        ),
        company=company.id,
        date=date,
        change_from=date - timedelta(days=HEALTH_CHANGE_DAYS),
        drop=company.kam_health_drop_points,
    )


# ----------------------------------------------------------------------------------------
# The assembly
# ----------------------------------------------------------------------------------------
def kpi_ctes(env, company, date, plans, alerts):
    """``WITH ...`` up to ``final``: one row per account in scope with its KPIs, health and
    alerts to raise (none without ``alerts``). ``plans``: ``active_plans(env, company, date)``."""
    day = KpiDay(env, company, date, plans)
    families = [family(day) for family in FAMILIES]
    tiers = ["a", "b"] if company.kam_kpi_include_b else ["a"]
    return SQL(
        """
        WITH scope AS MATERIALIZED (
            SELECT k.partner_id, k.tier, k.manager_id
              FROM kam_classification k
             WHERE k.company_id = %(company)s AND k.tier = ANY(%(tiers)s)
        ),
        %(sources)s,
        base AS (
            SELECT s.partner_id, s.manager_id, s.tier, %(columns)s
              FROM scope s
              %(joins)s
        ),
        inputs AS (
            SELECT b.*, %(derived)s
              FROM base b
        ),
        %(health)s,
        %(final)s
        """,
        company=company.id,
        tiers=tiers,
        sources=SQL(",\n").join(cte for family in families for cte in family.ctes),
        columns=SQL(",\n").join(column for family in families for column in family.columns),
        joins=SQL("\n").join(join for family in families for join in family.joins),
        derived=SQL(",\n").join(column for family in families for column in family.derived),
        health=health(day),
        final=kpi_alerts.notify_sql(env, alerts),
    )


def select_sql(env, company, date, plans, alerts=False):
    """The rows the day's snapshot would store, without storing them."""
    return SQL("%s SELECT * FROM final", kpi_ctes(env, company, date, plans, alerts))


def store_sql(env, company, date, plans, alerts):
    """Upsert the day's rows of ``company`` (writing only those that changed), drop the rows of
    accounts no longer in scope, and move the latest and month-end flags off earlier rows.

    Returns one row: the number of rows written and, as JSON, those with an alert to raise.
    """
    month_start = date.replace(day=1)
    month_end = month_start + relativedelta(months=1, days=-1)
    now = fields.Datetime.now()
    update_columns = [name for name in KPI_COLUMNS if name != "partner_id"]
    return SQL(
        """
        %(ctes)s,
        latest AS (
            SELECT NOT EXISTS (SELECT 1 FROM kam_kpi_snapshot x
                                WHERE x.company_id = %(company)s AND x.date > %(date)s) AS flag
        ),
        later AS (
            SELECT DISTINCT x.partner_id FROM kam_kpi_snapshot x
             WHERE x.company_id = %(company)s AND x.date > %(date)s AND x.date <= %(month_end)s
        ),
        rows AS (
            SELECT f.*, latest.flag AS is_latest, later.partner_id IS NULL AS is_month_end
              FROM final f
             CROSS JOIN latest
              LEFT JOIN later ON later.partner_id = f.partner_id
        ),
        upsert AS (
            INSERT INTO kam_kpi_snapshot (company_id, date, %(columns)s,
                                          create_uid, create_date, write_uid, write_date)
            SELECT %(company)s, %(date)s, %(row_columns)s, %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM rows r
            ON CONFLICT (partner_id, company_id, date) DO UPDATE
               SET %(assignments)s, write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
             WHERE (%(current)s) IS DISTINCT FROM (%(excluded)s)
            RETURNING 1
        ),
        stale AS (
            DELETE FROM kam_kpi_snapshot x
             WHERE x.company_id = %(company)s AND x.date = %(date)s
               AND NOT EXISTS (SELECT 1 FROM rows r WHERE r.partner_id = x.partner_id)
            RETURNING 1
        ),
        demote AS (
            -- Earlier rows stop being the latest (when this day is the latest) and the
            -- month-end (when this day ends their month): one UPDATE, each row once.
            UPDATE kam_kpi_snapshot x
               SET is_latest = x.is_latest AND NOT d.lose_latest,
                   is_month_end = x.is_month_end AND NOT d.lose_month_end
              FROM (
                  -- A join, not ``IN (SELECT ... FROM rows)``: that subquery on a CTE
                  -- is not hashed, and would scan the day's rows once per earlier row.
                  SELECT y.id, latest.flag AS lose_latest,
                         (y.date >= %(month_start)s AND month_end.partner_id IS NOT NULL) AS lose_month_end
                    FROM kam_kpi_snapshot y
                   CROSS JOIN latest
                    LEFT JOIN (SELECT DISTINCT r.partner_id FROM rows r WHERE r.is_month_end) month_end
                           ON month_end.partner_id = y.partner_id
                   WHERE y.company_id = %(company)s AND y.date < %(date)s
                     AND (y.is_latest OR (y.is_month_end AND y.date >= %(month_start)s))
              ) d
             WHERE x.id = d.id
               AND ((x.is_latest AND d.lose_latest) OR (x.is_month_end AND d.lose_month_end))
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM upsert) + (SELECT count(*) FROM stale) AS written,
               (SELECT json_agg(json_build_object(%(alert_fields)s))
                  FROM rows r WHERE r.notify_contact OR r.notify_health) AS alerts
        """,
        ctes=kpi_ctes(env, company, date, plans, alerts),
        company=company.id,
        date=date,
        month_start=month_start,
        month_end=month_end,
        uid=env.uid,
        now=now,
        columns=SQL(", ").join(SQL.identifier(name) for name in KPI_COLUMNS),
        row_columns=SQL(", ").join(SQL("r.%s", SQL.identifier(name)) for name in KPI_COLUMNS),
        assignments=SQL(", ").join(
            SQL("%s = EXCLUDED.%s", SQL.identifier(name), SQL.identifier(name)) for name in update_columns
        ),
        current=SQL(", ").join(SQL("kam_kpi_snapshot.%s", SQL.identifier(name)) for name in update_columns),
        excluded=SQL(", ").join(SQL("EXCLUDED.%s", SQL.identifier(name)) for name in update_columns),
        alert_fields=SQL(", ").join(SQL("%s, r.%s", name, SQL.identifier(name)) for name in kpi_alerts.ALERT_FIELDS),
    )


# ----------------------------------------------------------------------------------------
# What the statement reads
# ----------------------------------------------------------------------------------------
def active_plans(env, company, date):
    """``{account id: (plan id, weighted score, objectives on track, objectives)}`` of the plans
    active on ``date``, objectives judged on that day (their status is computed in Python)."""
    plans = (
        env["kam.account.plan"]
        .sudo()
        # The objectives' figures from the stored rows, which the snapshot's run has refreshed.
        .with_context(kam_today=date, kam_stored_figures=True)
        .search(
            [
                ("company_id", "=", company.id),
                ("state", "=", "active"),
                ("date_start", "<=", date),
                ("date_end", ">=", date),
            ],
            order="date_start desc, id desc",
        )
    )
    if not plans:
        return {}
    statuses = {}
    for objective in plans.objective_ids:
        statuses.setdefault(objective.plan_id.id, []).append(objective.status)
    progress = {}
    for plan in plans:
        # One active plan per account and day; keep the latest if data says otherwise.
        plan_statuses = statuses.get(plan.id, [])
        progress.setdefault(
            plan.partner_id.id,
            (
                plan.id,
                health_rules.plan_progress(plan_statuses),
                plan_statuses.count("on_track"),
                len(plan_statuses),
            ),
        )
    return progress


def flush_sources(env):
    """Flush everything the statement reads."""
    env["kam.account.fact"]._flush_sources()
    env["survey.user_input"]._kam_flush_survey_sources()
    for model in (
        "res.partner",
        "kam.classification",
        "crm.lead",
        "crm.stage",
        "calendar.event",
        "mail.message",
        "mail.activity",
        "account.move",
        "kam.account.review",
        "kam.service.level",
        "kam.kpi.snapshot",
    ):
        env[model].flush_model()
