import logging
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, format_amount, format_date
from odoo.tools.sql import create_index

from ..const import DIRECTOR_GROUP, TIERS
from ..tools import health_rules
from ..tools.health_rules import BANDS, SIGNAL_NAMES, SIGNALS
from ..tools.large_statement import large_statement
from .kam_account_plan import WEIGHTED_SCORE_HELP, on_track_summary

_logger = logging.getLogger(__name__)


# Key of the transaction-scoped advisory lock that serialises the snapshots of a company.
_SNAPSHOT_LOCK_KEY = 0x4B5049  # "KPI"
# Days counted as "recent" for opportunities won and lost and for visits (the run date included).
RECENT_DAYS = 90
# The health change that can raise an alert is measured against the snapshot this many days earlier.
HEALTH_CHANGE_DAYS = 30
# A daily run that finds missed days (the server was down) takes them too, up to this many.
MAX_CATCH_UP_DAYS = 7
# Months of revenue the weighted pipeline is compared with.
PIPELINE_COVER_MONTHS = 3
# A run that writes more than this share of the table's estimated rows (plus a floor) refreshes
# its statistics: autovacuum does it too, but later than the next run may need it.
ANALYZE_SHARE = 0.1
ANALYZE_MIN_ROWS = 1000

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


class KamKpiSnapshot(models.Model):
    """The KPIs of one key account in one company on one day, with its health score.

    Rows are written set-based by ``_take_snapshots`` (one statement per company and day,
    an upsert: a rerun replaces the day's rows) and thinned by ``_thin_snapshots``: daily rows
    are kept for the company's retention period, then only the last row of each month. The
    latest row of each account is its card on the Key Accounts dashboard.
    """

    _name = "kam.kpi.snapshot"
    _description = "Key account KPI snapshot"
    _order = "date desc, health_score, id"
    _rec_name = "partner_id"

    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    partner_id = fields.Many2one("res.partner", string="Key account", required=True, readonly=True, ondelete="cascade")
    date = fields.Date(required=True, readonly=True)
    manager_id = fields.Many2one(
        "res.users", string="Key Account Manager", readonly=True, help="The account's KAM on the day of the snapshot."
    )
    account_manager_id = fields.Many2one(
        "res.users",
        string="Account's KAM",
        compute="_compute_account_manager_id",
        search="_search_account_manager_id",
        help="The account's Key Account Manager today, in the snapshot's company.",
    )
    tier = fields.Selection(TIERS, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    # Value
    revenue = fields.Monetary(
        readonly=True,
        aggregator="sum",
        help="Untaxed invoiced revenue over the company's window (the months of the 80/20 "
        "classification) ending on the day of the snapshot.",
    )
    revenue_prev = fields.Monetary(
        string="Revenue a year earlier",
        readonly=True,
        aggregator="sum",
        help="Revenue over the same window a year earlier.",
    )
    revenue_trend = fields.Float(
        string="Revenue trend (%)",
        readonly=True,
        aggregator="avg",
        help="Revenue over the window against the same window a year earlier; empty without revenue a year earlier.",
    )
    revenue_mtd = fields.Monetary(string="Revenue month to date", readonly=True, aggregator="sum")
    gross_margin = fields.Monetary(string="Gross margin", readonly=True, aggregator="sum")
    margin_rate = fields.Float(string="Gross margin (%)", readonly=True, aggregator="avg")
    margin_trend = fields.Float(
        string="Margin trend (points)",
        readonly=True,
        aggregator="avg",
        help="Gross margin rate over the window minus the rate over the same window a year earlier.",
    )
    cost_to_serve = fields.Monetary(string="Cost to serve", readonly=True, aggregator="sum")
    net_contribution = fields.Monetary(string="Net contribution", readonly=True, aggregator="sum")
    # Pipeline
    pipeline = fields.Monetary(string="Open pipeline", readonly=True, aggregator="sum")
    pipeline_weighted = fields.Monetary(
        string="Weighted pipeline", readonly=True, aggregator="sum", help="Expected revenue times probability."
    )
    pipeline_cover = fields.Float(
        string="Pipeline cover (%)",
        readonly=True,
        aggregator="avg",
        help="Weighted pipeline as a share of three months of revenue.",
    )
    won_count = fields.Integer(string="Won (90 days)", readonly=True, aggregator="sum")
    won_amount = fields.Monetary(string="Won value (90 days)", readonly=True, aggregator="sum")
    lost_count = fields.Integer(string="Lost (90 days)", readonly=True, aggregator="sum")
    # Relationship
    visit_count = fields.Integer(
        string="Visits done (90 days)",
        readonly=True,
        aggregator="sum",
        help="Visits done in the 90 days ending on the day of the snapshot.",
    )
    last_contact_date = fields.Date(
        string="Last contact",
        readonly=True,
        help="The latest visit done, meeting with the account's contacts, logged call or email with the account.",
    )
    days_since_contact = fields.Integer(string="Days since contact", readonly=True, aggregator="avg")
    contact_interval = fields.Integer(
        string="Contact every (days)",
        readonly=True,
        aggregator="avg",
        help="The contact interval of the account's tier.",
    )
    contact_overdue = fields.Boolean(
        string="Contact overdue", readonly=True, help="Not contacted within the interval of its tier."
    )
    overdue_amount = fields.Monetary(string="Overdue receivables", readonly=True, aggregator="sum")
    overdue_share = fields.Float(string="Overdue (% of a month's revenue)", readonly=True, aggregator="avg")
    satisfaction = fields.Float(
        string="Satisfaction (0–10)",
        readonly=True,
        aggregator="avg",
        help="The customer's satisfaction from the survey answers of the last 12 months where there are "
        "any, else the score of the latest account review (the KAM's assessment).",
    )
    review_date = fields.Date(string="Latest review", readonly=True)
    # Customer surveys: the customer's own voice beside the KAM's assessment
    customer_nps = fields.Float(
        string="NPS (12 months)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="Net Promoter Score of the account's survey answers over the 12 months ending on the day.",
    )
    customer_satisfaction = fields.Float(
        string="Customer satisfaction (0–10)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="Mean of the answers to the satisfaction questions over the 12 months ending on the day, on 0–10.",
    )
    survey_answer_count = fields.Integer(string="Survey answers (12 months)", readonly=True, aggregator="sum")
    review_score = fields.Float(
        string="KAM's assessment (0–10)", readonly=True, aggregator="avg", help="Score of the latest account review."
    )
    satisfaction_source = fields.Selection(
        [("customer", "Customer survey"), ("kam", "KAM's assessment")],
        string="Satisfaction source",
        readonly=True,
        help="Where the satisfaction of the health score comes from: the customer's answers replace "
        "the KAM's own assessment where both exist.",
    )
    survey_open_detractor_count = fields.Integer(
        string="Detractors to call back",
        compute="_compute_survey_open_detractor_count",
        help="Survey answers of 0 to 6 whose follow-up is still open, now.",
    )
    plan_id = fields.Many2one(
        "kam.account.plan", string="Account plan", readonly=True, index="btree_not_null", ondelete="set null"
    )
    plan_progress = fields.Float(
        string="Weighted plan score (%)",
        readonly=True,
        aggregator="avg",
        help=WEIGHTED_SCORE_HELP,
    )
    plan_on_track_count = fields.Integer(
        string="Objectives on track (number)",
        readonly=True,
        help="Objectives of the active account plan on track on the day.",
    )
    plan_objective_count = fields.Integer(
        string="Objectives (number)", readonly=True, help="Objectives of the active account plan on the day."
    )
    plan_on_track_summary = fields.Char(
        string="Plan objectives",
        compute="_compute_plan_on_track_summary",
        help="How many of the active account plan's objectives were on track on the day, out of all of them.",
    )
    # Health
    health_score = fields.Integer(string="Health score", readonly=True, aggregator="avg")
    health_band = fields.Selection(BANDS, string="Health band", readonly=True)
    health_change = fields.Integer(
        string="Health change (30 days)",
        readonly=True,
        aggregator="avg",
        help="Score now minus the score 30 days earlier.",
    )
    health_alert = fields.Boolean(
        string="Health alert",
        readonly=True,
        help="At risk, or the score fell by more than the company's alert threshold in 30 days.",
    )
    health_loss_revenue_trend = fields.Float(string="Points lost: revenue trend", readonly=True, aggregator="avg")
    health_loss_margin_trend = fields.Float(string="Points lost: margin trend", readonly=True, aggregator="avg")
    health_loss_contact = fields.Float(string="Points lost: contact", readonly=True, aggregator="avg")
    health_loss_pipeline_cover = fields.Float(string="Points lost: pipeline cover", readonly=True, aggregator="avg")
    health_loss_overdue = fields.Float(string="Points lost: overdue receivables", readonly=True, aggregator="avg")
    health_loss_satisfaction = fields.Float(string="Points lost: satisfaction", readonly=True, aggregator="avg")
    health_loss_plan_progress = fields.Float(string="Points lost: plan progress", readonly=True, aggregator="avg")
    health_color = fields.Integer(compute="_compute_health_color")
    health_pulled_down_by = fields.Char(string="Pulled down by", compute="_compute_health_explanation")
    health_explanation = fields.Html(string="Why this score", compute="_compute_health_explanation", sanitize=False)
    # Bookkeeping
    is_latest = fields.Boolean(
        string="Latest", readonly=True, help="The account's row of the company's latest snapshot: its dashboard card."
    )
    is_month_end = fields.Boolean(
        string="Month-end",
        readonly=True,
        help="The account's last snapshot of its month. Amounts add up across accounts, not across "
        "days: to compare months, keep this filter on.",
    )

    _sql_constraints = [
        (
            "partner_company_date_uniq",
            "unique(partner_id, company_id, date)",
            "A key account has one snapshot per company and day.",
        ),
    ]

    def init(self):
        # The dashboard reads the latest rows, monthly evolutions the month-end rows, thinning
        # and the daily statement a company's rows by date.
        cr = self.env.cr
        create_index(cr, "kam_kpi_snapshot_latest_idx", self._table, ["company_id", "health_score"], where="is_latest")
        create_index(cr, "kam_kpi_snapshot_month_end_idx", self._table, ["date"], where="is_month_end")
        create_index(cr, "kam_kpi_snapshot_company_date_idx", self._table, ["company_id", "date"])

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    def _compute_account_manager_id(self):
        rows = (
            self.env["kam.classification"]
            .sudo()
            .search([("company_id", "in", self.company_id.ids), ("partner_id", "in", self.partner_id.ids)])
        )
        managers = {(row.company_id.id, row.partner_id.id): row.manager_id for row in rows}
        for snapshot in self:
            snapshot.account_manager_id = managers.get((snapshot.company_id.id, snapshot.partner_id.id), False)

    def _search_account_manager_id(self, operator, value):
        if operator not in ("=", "in"):
            return NotImplemented
        user_ids = [value] if operator == "=" else list(value)
        user_ids = [uid for uid in user_ids if uid]
        if not user_ids:
            return NotImplemented
        self.env["kam.classification"].flush_model(["manager_id", "partner_id", "company_id"])
        return [
            (
                "id",
                "in",
                SQL(
                    """
                    (SELECT s.id
                       FROM kam_classification k
                       JOIN kam_kpi_snapshot s ON s.partner_id = k.partner_id AND s.company_id = k.company_id
                      WHERE k.manager_id = ANY(%s))
                    """,
                    user_ids,
                ),
            )
        ]

    @api.depends("plan_id", "plan_on_track_count", "plan_objective_count")
    def _compute_plan_on_track_summary(self):
        for snapshot in self:
            snapshot.plan_on_track_summary = bool(snapshot.plan_id) and on_track_summary(
                snapshot.env, snapshot.plan_on_track_count, snapshot.plan_objective_count
            )

    def _compute_survey_open_detractor_count(self):
        groups = (
            self.env["survey.user_input"]
            .sudo()
            ._read_group(
                [
                    ("kam_loop_state", "=", "open"),
                    ("kam_nps_category", "=", "detractor"),
                    ("kam_company_id", "in", self.company_id.ids),
                    ("kam_account_id", "in", self.partner_id.ids),
                ],
                ["kam_company_id", "kam_account_id"],
                ["__count"],
                order="kam_company_id, kam_account_id",
            )
        )
        counts = {(company.id, account.id): count for company, account, count in groups}
        for snapshot in self:
            snapshot.survey_open_detractor_count = counts.get((snapshot.company_id.id, snapshot.partner_id.id), 0)

    @api.depends("health_band")
    def _compute_health_color(self):
        colors = {"healthy": 10, "watch": 2, "at_risk": 1}
        for snapshot in self:
            snapshot.health_color = colors.get(snapshot.health_band, 0)

    @api.depends("health_score", *(f"health_loss_{name}" for name in SIGNAL_NAMES))
    def _compute_health_explanation(self):
        labels = self._signal_labels()
        for snapshot in self:
            losses = snapshot._health_losses()
            snapshot.health_pulled_down_by = ", ".join(labels[name] for name in health_rules.pulled_down_by(losses)[:2])
            snapshot.health_explanation = snapshot._render_explanation(losses, labels)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    @api.model
    def action_open_dashboard(self):
        """The Key Accounts dashboard: a KAM sees their accounts, a director everyone's by KAM."""
        action = self.env["ir.actions.act_window"]._for_xml_id("kam_management.kam_kpi_snapshot_action_dashboard")
        action["context"] = {"search_default_group_manager": 1} if self.env.user.has_group(DIRECTOR_GROUP) else {}
        return action

    def action_invite_survey(self):
        self.ensure_one()
        return self.env["kam.survey.invite.wizard"].action_open(self.partner_id, self.company_id)

    def action_open_evolution(self):
        self.ensure_one()
        return self._evolution_action(self.partner_id, self.company_id)

    def action_open_partner(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": self.partner_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "context": {"allowed_company_ids": [self.company_id.id]},
        }

    def action_open_plan(self):
        self.ensure_one()
        return self.plan_id._get_form_action()

    def action_schedule_contact(self):
        """Open the activity dialog with the suggested contact: the account's KAM calls it."""
        self.ensure_one()
        contact_type = self.env.ref("kam_management.mail_activity_type_kam_contact")
        return {
            "type": "ir.actions.act_window",
            "name": _("Schedule a contact with %(account)s", account=self.partner_id.display_name),
            "res_model": "mail.activity.schedule",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "active_model": "res.partner",
                "active_id": self.partner_id.id,
                "active_ids": self.partner_id.ids,
                "default_res_model": "res.partner",
                "default_res_ids": str(self.partner_id.ids),
                "default_activity_type_id": contact_type.id,
                "default_activity_user_id": (self.account_manager_id or self.manager_id or self.env.user).id,
                "default_summary": contact_type.summary,
                "default_date_deadline": fields.Date.to_string(fields.Date.context_today(self)),
            },
        }

    @api.model
    def action_take_snapshots_now(self):
        """Take today's snapshot of the selected companies again (directors)."""
        if not self.env.user.has_group(DIRECTOR_GROUP):
            raise AccessError(_("Only a Key Account Director can take the KPI snapshots by hand."))
        today = fields.Date.context_today(self)
        written = sum(self.sudo()._take_snapshots(company, today) for company in self.env.companies)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("KPI snapshot taken"),
                "message": _("%(count)s key accounts have new figures for today.", count=written),
                "next": self.action_open_dashboard(),
            },
        }

    @api.model
    def _evolution_action(self, partner, company=None):
        """The evolution of one account: its health and KPIs day by day."""
        action = self.env["ir.actions.act_window"]._for_xml_id("kam_management.kam_kpi_snapshot_action_evolution")
        action["name"] = action["display_name"] = _("Evolution of %(account)s", account=partner.display_name)
        action["domain"] = [("partner_id", "=", partner.commercial_partner_id.id)] + (
            [("company_id", "=", company.id)] if company else []
        )
        action["context"] = {
            "graph_measure": "health_score",
            "graph_mode": "line",
            "graph_groupbys": ["date:day"],
            "pivot_measures": ["health_score", "revenue", "pipeline", "days_since_contact"],
            "pivot_row_groupby": ["date:month"],
            "pivot_column_groupby": [],
        }
        return action

    # ------------------------------------------------------------------
    # The daily snapshot
    # ------------------------------------------------------------------
    @api.model
    def _cron_snapshot(self):
        companies = self.env["res.company"].search([])
        today = fields.Date.context_today(self)
        for done, company in enumerate(companies):
            self._catch_up(company, today)
            self.env["kam.account.fact"]._refresh(company)
            self._take_snapshots(company, today)
            self._thin_snapshots(company, today)
            self.env["ir.cron"]._notify_progress(done=done + 1, remaining=len(companies) - done - 1)

    @api.model
    def _catch_up(self, company, today):
        """Take the days missed since the company's latest snapshot (a few at most), without alerts."""
        self.flush_model(["company_id", "date"])
        self.env.cr.execute(
            SQL("SELECT max(date) FROM kam_kpi_snapshot WHERE company_id = %s AND date < %s", company.id, today)
        )
        latest = self.env.cr.fetchone()[0]
        if latest and latest < today - timedelta(days=1):
            first = max(latest + timedelta(days=1), today - timedelta(days=MAX_CATCH_UP_DAYS))
            self._backfill_snapshots(company, first, today - timedelta(days=1))

    @api.model
    def _backfill_snapshots(self, company, date_from, date_to):
        """Take the snapshots of each day from ``date_from`` to ``date_to`` (a past period).

        The figures are those of each day (invoices, visits, reviews and contacts dated up to
        it); the accounts and their tiers are today's, and the pipeline is rebuilt from the
        opportunities' creation and closing dates. No alert is raised for a past day.
        """
        day, written = date_from, 0
        while day <= date_to:
            written += self._take_snapshots(company, day, alerts=False)
            day += timedelta(days=1)
        return written

    @api.model
    def _demo_backfill(self, company, days=90):
        """Demo history: a snapshot for each of the last ``days`` days, then today's with its alerts."""
        today = fields.Date.context_today(self)
        self._backfill_snapshots(company, today - timedelta(days=days), today - timedelta(days=1))
        self._take_snapshots(company, today)

    @api.model
    def _take_snapshots(self, company, date, alerts=True):
        """Store the KPIs of ``company``'s key accounts on ``date``; return the rows written.

        One statement computes every figure and upserts the day's rows (a rerun replaces
        them, writing only those that changed, and drops the rows of accounts no longer
        in scope). With ``alerts``, the accounts past their contact interval and those whose
        health fell get an activity for their KAM, unless one is still open.
        """
        self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", _SNAPSHOT_LOCK_KEY, company.id))
        plans = self._plan_progress(company, date)
        self._flush_kpi_sources()
        month_start = date.replace(day=1)
        month_end = month_start + relativedelta(months=1, days=-1)
        now = fields.Datetime.now()
        update_columns = [name for name in KPI_COLUMNS if name != "partner_id"]
        with large_statement(self.env.cr):
            self.env.cr.execute(
                SQL(
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
                           (SELECT json_agg(json_build_object(
                                       'partner_id', r.partner_id, 'manager_id', r.manager_id, 'tier', r.tier,
                                       'notify_contact', r.notify_contact, 'notify_health', r.notify_health,
                                       'health_score', r.health_score, 'health_band', r.health_band,
                                       'health_change', r.health_change, 'days_since_contact', r.days_since_contact,
                                       'contact_interval', r.contact_interval, %(losses_json)s))
                              FROM rows r WHERE r.notify_contact OR r.notify_health) AS alerts
                    """,
                    ctes=self._kpi_ctes(company, date, plans, alerts),
                    company=company.id,
                    date=date,
                    month_start=month_start,
                    month_end=month_end,
                    uid=self.env.uid,
                    now=now,
                    columns=SQL(", ").join(SQL.identifier(name) for name in KPI_COLUMNS),
                    row_columns=SQL(", ").join(SQL("r.%s", SQL.identifier(name)) for name in KPI_COLUMNS),
                    assignments=SQL(", ").join(
                        SQL("%s = EXCLUDED.%s", SQL.identifier(name), SQL.identifier(name)) for name in update_columns
                    ),
                    current=SQL(", ").join(SQL("kam_kpi_snapshot.%s", SQL.identifier(name)) for name in update_columns),
                    excluded=SQL(", ").join(SQL("EXCLUDED.%s", SQL.identifier(name)) for name in update_columns),
                    losses_json=SQL(", ").join(
                        SQL("%s, r.%s", f"health_loss_{name}", SQL.identifier(f"health_loss_{name}"))
                        for name in SIGNAL_NAMES
                    ),
                )
            )
            written, alert_rows = self.env.cr.fetchone()
        self._analyze_if_grown(written)
        self.invalidate_model()
        if alert_rows:
            self._raise_alerts(company, date, alert_rows)
        return written

    @api.model
    def _analyze_if_grown(self, written):
        """Refresh the table's statistics when a run wrote a large share of it.

        The daily statement looks up each account's earlier rows; planned with the statistics
        of a table ten times smaller (the first days, a backfill), it scans instead of seeking.
        """
        self.env.cr.execute(SQL("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", self._table))
        estimate = self.env.cr.fetchone()[0]
        if written > ANALYZE_SHARE * max(estimate, 0) + ANALYZE_MIN_ROWS:
            self.env.cr.execute(SQL("ANALYZE %s", SQL.identifier(self._table)))

    @api.model
    def _kpi_select_sql(self, company, date, plans=None, alerts=False):
        """The rows the day's snapshot would store, without storing them (the benchmark's floor)."""
        if plans is None:
            plans = self._plan_progress(company, date)
        return SQL("%s SELECT * FROM final", self._kpi_ctes(company, date, plans, alerts))

    @api.model
    def _kpi_ctes(self, company, date, plans, alerts):
        """``WITH ...`` up to ``final``: one row per account in scope with its KPIs, health and alerts.

        Revenue, margin, cost to serve and visits are ``kam.account.fact._figures_sql`` over
        the window, the same window a year earlier, the month to date and the recent days.
        """
        Classification = self.env["kam.classification"]
        Fact = self.env["kam.account.fact"]
        window_from, window_to = Classification._window(company, date)
        prev_from, prev_to = Classification._window(company, date - relativedelta(years=1))
        recent_from = date - timedelta(days=RECENT_DAYS - 1)
        weights = company._kam_health_weights()
        digits = company.currency_id.decimal_places
        tiers = ["a", "b"] if company.kam_kpi_include_b else ["a"]
        contact_type = self.env.ref("kam_management.mail_activity_type_kam_contact")
        health_type = self.env.ref("kam_management.mail_activity_type_kam_health")
        Figures = self.env["kam.figures"]

        def money(expression):
            return SQL("ROUND(COALESCE(%s, 0), %s)", expression, digits)

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
            WITH scope AS MATERIALIZED (
                SELECT k.partner_id, k.tier, k.manager_id
                  FROM kam_classification k
                 WHERE k.company_id = %(company)s AND k.tier = ANY(%(tiers)s)
            ),
            win AS MATERIALIZED (%(window)s),
            prev AS MATERIALIZED (%(previous)s),
            mtd AS MATERIALIZED (%(month)s),
            recent AS MATERIALIZED (%(recent)s),
            opp AS (%(opportunities)s),
            pipe AS (
                SELECT o.partner_id,
                       SUM(o.expected_revenue) FILTER (WHERE x.open) AS pipeline,
                       SUM(o.expected_revenue * o.probability::numeric / 100) FILTER (WHERE x.open)
                           AS pipeline_weighted,
                       COUNT(*) FILTER (WHERE o.won AND o.closed BETWEEN %(recent_from)s AND %(date)s) AS won_count,
                       SUM(o.expected_revenue) FILTER (WHERE o.won AND o.closed BETWEEN %(recent_from)s AND %(date)s)
                           AS won_amount,
                       COUNT(*) FILTER (WHERE o.lost AND o.closed BETWEEN %(recent_from)s AND %(date)s) AS lost_count
                  FROM opp o
                 CROSS JOIN LATERAL (SELECT %(open)s AS open) x
                 WHERE o.partner_id IN (SELECT partner_id FROM scope)
                 GROUP BY o.partner_id
            ),
            last_touch AS (%(last_contact)s),
            overdue AS (%(overdue)s),
            review AS (%(satisfaction)s),
            survey AS MATERIALIZED (%(survey)s),
            plan AS (
                SELECT * FROM unnest(%(plan_partners)s::int[], %(plan_ids)s::int[], %(plan_progress)s::float8[],
                                     %(plan_on_track)s::int[], %(plan_objectives)s::int[])
                    AS p(partner_id, plan_id, progress, on_track, objectives)
            ),
            base AS (
                SELECT s.partner_id, s.manager_id, s.tier,
                       %(revenue)s AS revenue, %(revenue_prev)s AS revenue_prev, %(revenue_mtd)s AS revenue_mtd,
                       %(gross_margin)s AS gross_margin, %(gross_margin_prev)s AS gross_margin_prev,
                       %(cost_to_serve)s AS cost_to_serve, %(net_contribution)s AS net_contribution,
                       %(pipeline)s AS pipeline, %(pipeline_weighted)s AS pipeline_weighted,
                       COALESCE(pipe.won_count, 0)::int AS won_count, %(won_amount)s AS won_amount,
                       COALESCE(pipe.lost_count, 0)::int AS lost_count,
                       COALESCE(recent.visit_count, 0)::int AS visit_count,
                       lt.day AS last_contact_date,
                       (%(date)s::date - lt.day)::int AS days_since_contact,
                       sl.contact_interval,
                       %(overdue_amount)s AS overdue_amount,
                       COALESCE(sv.satisfaction, rv.score) AS satisfaction, rv.date AS review_date,
                       sv.nps AS customer_nps, sv.satisfaction AS customer_satisfaction,
                       COALESCE(sv.answer_count, 0) AS survey_answer_count, rv.score AS review_score,
                       CASE WHEN sv.satisfaction IS NOT NULL THEN 'customer'
                            WHEN rv.score IS NOT NULL THEN 'kam' END AS satisfaction_source,
                       pl.plan_id, pl.progress AS plan_progress,
                       pl.on_track AS plan_on_track_count, pl.objectives AS plan_objective_count
                  FROM scope s
                  LEFT JOIN win ON win.partner_id = s.partner_id
                  LEFT JOIN prev ON prev.partner_id = s.partner_id
                  LEFT JOIN mtd ON mtd.partner_id = s.partner_id
                  LEFT JOIN recent ON recent.partner_id = s.partner_id
                  LEFT JOIN pipe ON pipe.partner_id = s.partner_id
                  LEFT JOIN last_touch lt ON lt.partner_id = s.partner_id
                  LEFT JOIN overdue od ON od.partner_id = s.partner_id
                  LEFT JOIN review rv ON rv.partner_id = s.partner_id
                  LEFT JOIN survey sv ON sv.partner_id = s.partner_id
                  LEFT JOIN plan pl ON pl.partner_id = s.partner_id
                  LEFT JOIN (%(tier_rules)s) sl ON sl.tier = s.tier
            ),
            inputs AS (
                SELECT b.*,
                       CASE WHEN b.revenue_prev > 0
                            THEN ((b.revenue - b.revenue_prev) * 100 / b.revenue_prev)::float8 END AS revenue_trend,
                       CASE WHEN b.revenue > 0 THEN (b.gross_margin * 100 / b.revenue)::float8 END AS margin_rate,
                       CASE WHEN b.revenue > 0 AND b.revenue_prev > 0
                            THEN (b.gross_margin * 100 / b.revenue
                                  - b.gross_margin_prev * 100 / b.revenue_prev)::float8 END AS margin_trend,
                       CASE WHEN b.revenue > 0
                            THEN (b.pipeline_weighted * 100 * %(months)s / (%(cover_months)s * b.revenue))::float8
                            WHEN b.pipeline_weighted > 0 THEN 100.0::float8 END AS pipeline_cover,
                       CASE WHEN b.revenue > 0 THEN (b.overdue_amount * 100 * %(months)s / b.revenue)::float8
                            WHEN b.overdue_amount > 0 THEN 100.0::float8
                            ELSE 0.0::float8 END AS overdue_share,
                       CASE WHEN b.contact_interval IS NOT NULL
                            THEN b.days_since_contact::float8 / b.contact_interval::float8
                            WHEN b.days_since_contact IS NOT NULL THEN 0.0::float8 END AS contact_ratio,
                       (b.contact_interval IS NOT NULL
                        AND (b.days_since_contact IS NULL OR b.days_since_contact > b.contact_interval))
                           AS contact_overdue
                  FROM base b
            ),
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
            ),
            final AS (
                SELECT a.*,
                       (%(alerts)s AND a.contact_overdue AND a.manager_id IS NOT NULL
                        AND NOT EXISTS (SELECT 1 FROM mail_activity act
                                         WHERE act.res_model = 'res.partner' AND act.res_id = a.partner_id
                                           AND act.activity_type_id = %(contact_type)s AND act.active))
                           AS notify_contact,
                       (%(alerts)s AND a.health_alert AND NOT COALESCE(a.previous_alert, false)
                        AND NOT EXISTS (SELECT 1 FROM mail_activity act
                                         WHERE act.res_model = 'res.partner' AND act.res_id = a.partner_id
                                           AND act.activity_type_id = %(health_type)s AND act.active))
                           AS notify_health
                  FROM alerted a
            )
            """,
            company=company.id,
            tiers=tiers,
            date=date,
            recent_from=recent_from,
            window=Fact._figures_sql(company, window_from, window_to),
            previous=Fact._figures_sql(company, prev_from, prev_to),
            month=Fact._figures_sql(company, date.replace(day=1), date),
            recent=Fact._figures_sql(company, recent_from, date),
            opportunities=Figures._opportunities_sql(company.id),
            open=Figures._open_at_sql("o", date),
            last_contact=Figures._last_contact_sql(company.id, date, SQL("SELECT partner_id FROM scope")),
            overdue=Figures._overdue_sql(company.id, date, SQL("SELECT partner_id FROM scope")),
            satisfaction=Figures._satisfaction_sql(company.id, date, SQL("SELECT partner_id FROM scope")),
            survey=self.env["survey.user_input"]._kam_survey_figures_sql(company, date),
            plan_partners=list(plans),
            plan_ids=[plan[0] for plan in plans.values()],
            plan_progress=[plan[1] for plan in plans.values()],
            plan_on_track=[plan[2] for plan in plans.values()],
            plan_objectives=[plan[3] for plan in plans.values()],
            revenue=money(SQL("win.revenue")),
            revenue_prev=money(SQL("prev.revenue")),
            revenue_mtd=money(SQL("mtd.revenue")),
            gross_margin=money(SQL("win.gross_margin")),
            gross_margin_prev=money(SQL("prev.gross_margin")),
            cost_to_serve=money(SQL("win.cost_to_serve")),
            net_contribution=money(SQL("win.net_contribution")),
            pipeline=money(SQL("pipe.pipeline")),
            pipeline_weighted=money(SQL("pipe.pipeline_weighted")),
            won_amount=money(SQL("pipe.won_amount")),
            overdue_amount=money(SQL("od.amount")),
            tier_rules=self.env["kam.service.level"]._tier_rules_sql([company.id]),
            months=company.kam_window_months,
            cover_months=PIPELINE_COVER_MONTHS,
            subscores=subscores,
            weight_sum=health_rules.weight_sql("s", weights),
            point_sum=health_rules.points_sql("s", weights),
            score=health_rules.score_sql(weight, points),
            losses=losses,
            band=health_rules.band_sql(
                SQL("sc.health_score"), company.kam_health_healthy_from, company.kam_health_risk_below
            ),
            change_from=date - timedelta(days=HEALTH_CHANGE_DAYS),
            drop=company.kam_health_drop_points,
            alerts=bool(alerts),
            contact_type=contact_type.id,
            health_type=health_type.id,
        )

    @api.model
    def _flush_kpi_sources(self):
        """Flush everything the daily statement reads."""
        self.env["kam.account.fact"]._flush_sources()
        self.env["survey.user_input"]._kam_flush_survey_sources()
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
            self._name,
        ):
            self.env[model].flush_model()

    @api.model
    def _plan_progress(self, company, date):
        """``{account id: (plan id, weighted score, objectives on track, objectives)}`` of the plans active
        on ``date``, objectives judged on that day."""
        plans = (
            self.env["kam.account.plan"]
            .sudo()
            .with_context(kam_today=date)
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

    @api.model
    def _thin_snapshots(self, company, date):
        """Keep daily rows for the company's retention period, then the last row of each month."""
        self.flush_model()
        cutoff = date - timedelta(days=company.kam_kpi_retention_days)
        self.env.cr.execute(
            SQL(
                "DELETE FROM kam_kpi_snapshot WHERE company_id = %s AND date < %s AND NOT is_month_end",
                company.id,
                cutoff,
            )
        )
        deleted = self.env.cr.rowcount
        self.invalidate_model()
        return deleted

    # ------------------------------------------------------------------
    # Alerts
    # ------------------------------------------------------------------
    @api.model
    def _raise_alerts(self, company, date, rows):
        """One activity per account for its KAM, and a note to the followers of a falling account."""
        contact_type = self.env.ref("kam_management.mail_activity_type_kam_contact")
        health_type = self.env.ref("kam_management.mail_activity_type_kam_health")
        partners = self.env["res.partner"].browse([row["partner_id"] for row in rows])
        users = self.env["res.users"].sudo().browse({row["manager_id"] for row in rows if row["manager_id"]})
        partner_model = self.env["ir.model"]._get_id("res.partner")
        labels = self._signal_labels()
        band_labels = dict(self._fields["health_band"]._description_selection(self.env))
        # Activities of both kinds go in separate batches: a batch with two activities of the
        # same user on the same record subscribes them twice (mail.activity.create).
        activities = {contact_type: [], health_type: []}
        notes = {}
        for row in rows:
            partner = partners.browse(row["partner_id"])
            user = users.browse(row["manager_id"]) if row["manager_id"] else users.browse()
            lang = user.lang or self.env.lang
            if row["notify_contact"]:
                activities[contact_type].append(
                    {
                        "res_model_id": partner_model,
                        "res_id": partner.id,
                        "activity_type_id": contact_type.id,
                        "user_id": user.id,
                        "date_deadline": date,
                        "summary": contact_type.with_context(lang=lang).summary,
                        "note": self.with_context(lang=lang)._contact_note(row),
                    }
                )
            if row["notify_health"]:
                losses = {name: row[f"health_loss_{name}"] for name in SIGNAL_NAMES}
                causes = ", ".join(labels[name] for name in health_rules.pulled_down_by(losses)[:3])
                body = self._health_note(row, band_labels, causes)
                notes[partner.id] = body
                if user:
                    activities[health_type].append(
                        {
                            "res_model_id": partner_model,
                            "res_id": partner.id,
                            "activity_type_id": health_type.id,
                            "user_id": user.id,
                            "date_deadline": date,
                            "summary": health_type.with_context(lang=lang).summary,
                            "note": body,
                        }
                    )
        Activity = self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True)
        for vals_list in activities.values():
            if vals_list:
                Activity.create(vals_list)
        if notes:
            for partner in partners.filtered(lambda p: p.id in notes):
                row = next(r for r in rows if r["partner_id"] == partner.id)
                recipients = partner.message_partner_ids.filtered(lambda p: not p.partner_share)
                if row["manager_id"]:
                    recipients |= users.browse(row["manager_id"]).partner_id
                partner.sudo().message_post(
                    body=notes[partner.id],
                    subtype_xmlid="mail.mt_note",
                    partner_ids=recipients.ids,
                )
        _logger.info(
            "KPI snapshot of %s on %s: %s contact and %s health alerts",
            company.name,
            date,
            sum(1 for row in rows if row["notify_contact"]),
            len(notes),
        )

    @api.model
    def _contact_note(self, row):
        if row["days_since_contact"] is None:
            return escape(_("No contact with this key account is on record yet."))
        return escape(
            _(
                "%(days)s days since the last contact; a tier %(tier)s account is contacted every %(interval)s days.",
                days=row["days_since_contact"],
                tier=(row["tier"] or "").upper(),
                interval=row["contact_interval"],
            )
        )

    @api.model
    def _health_note(self, row, band_labels, causes):
        if row["health_change"] is not None and row["health_change"] < 0:
            text = _(
                "Key account health is %(score)s (%(band)s), %(change)s points in 30 days.",
                score=row["health_score"],
                band=band_labels.get(row["health_band"], ""),
                change=row["health_change"],
            )
        else:
            text = _(
                "Key account health is %(score)s (%(band)s).",
                score=row["health_score"],
                band=band_labels.get(row["health_band"], ""),
            )
        if causes:
            text = _("%(text)s Pulled down by: %(causes)s.", text=text, causes=causes)
        return escape(text)

    # ------------------------------------------------------------------
    # Explanation
    # ------------------------------------------------------------------
    @api.model
    def _signal_labels(self):
        return {
            "revenue_trend": _("Revenue trend"),
            "margin_trend": _("Margin trend"),
            "contact": _("Contact"),
            "pipeline_cover": _("Pipeline cover"),
            "overdue": _("Overdue receivables"),
            "satisfaction": _("Satisfaction"),
            "plan_progress": _("Weighted plan score"),
        }

    def _health_losses(self):
        self.ensure_one()
        return {name: self[f"health_loss_{name}"] for name in SIGNAL_NAMES}

    def _contact_detail(self):
        if not self.last_contact_date:
            return _("No contact on record.")
        if not self.contact_interval:
            return _(
                "%(days)s days since the last contact (%(date)s); the service level of its tier sets no "
                "contact interval.",
                days=self.days_since_contact,
                date=format_date(self.env, self.last_contact_date),
            )
        return _(
            "%(days)s days since the last contact (%(date)s); expected every %(interval)s days.",
            days=self.days_since_contact,
            date=format_date(self.env, self.last_contact_date),
            interval=self.contact_interval,
        )

    def _signal_detail(self, name):
        """What the figures behind a signal say, in words."""
        self.ensure_one()
        currency = self.currency_id
        if name == "revenue_trend":
            if not self.revenue_prev > 0:
                return _("No revenue a year earlier: not counted.")
            trend = format(self.revenue_trend, "+.0f")
            return _("%(trend)s %% against the same months a year earlier.", trend=trend)
        if name == "margin_trend":
            if not (self.revenue > 0 and self.revenue_prev > 0):
                return _("No revenue to compare margins with: not counted.")
            return _(
                "Gross margin %(rate)s %%, %(change)s points against a year earlier.",
                rate=format(self.margin_rate, ".1f"),
                change=format(self.margin_trend, "+.1f"),
            )
        if name == "contact":
            return self._contact_detail()
        if name == "pipeline_cover":
            if not (self.revenue > 0 or self.pipeline_weighted > 0):
                return _("No revenue and no pipeline: not counted.")
            return _(
                "Weighted pipeline %(amount)s covers %(cover)s %% of three months of revenue.",
                amount=format_amount(self.env, self.pipeline_weighted, currency),
                cover=format(self.pipeline_cover, ".0f"),
            )
        if name == "overdue":
            if not self.overdue_amount:
                return _("Nothing overdue.")
            return _(
                "%(amount)s overdue, %(share)s %% of a month's revenue.",
                amount=format_amount(self.env, self.overdue_amount, currency),
                share=format(self.overdue_share, ".0f"),
            )
        if name == "satisfaction":
            if self.satisfaction_source == "customer":
                return _(
                    "%(score)s/10 from the customer's %(count)s survey answers of the last 12 months "
                    "(it replaces the KAM's assessment).",
                    score=format(self.satisfaction, ".1f"),
                    count=self.survey_answer_count,
                )
            if not self.review_date:
                return _("No account review yet: not counted.")
            return _(
                "%(score)s/10 at the review of %(date)s.",
                score=format(self.satisfaction, ".1f"),
                date=format_date(self.env, self.review_date),
            )
        if not self.plan_id:
            return _("No active account plan: not counted.")
        if not self.plan_objective_count:
            return _("The active account plan has no objective: not counted.")
        return _(
            "%(on_track)s of %(total)s objectives on track; at risk counts half: %(score)s %%.",
            on_track=self.plan_on_track_count,
            total=self.plan_objective_count,
            score=format(self.plan_progress, ".0f"),
        )

    def _render_explanation(self, losses, labels):
        if not self.health_band:
            return False
        rows = [
            Markup("<tr><td>%s</td><td class='text-end %s'>%s</td><td class='text-muted'>%s</td></tr>")
            % (
                labels[name],
                "text-danger fw-bold" if losses[name] >= 5 else "",
                f"−{losses[name]:.1f}" if losses[name] >= 0.05 else "0",
                self._signal_detail(name),
            )
            for name in sorted(SIGNAL_NAMES, key=lambda n: -losses[n])
        ]
        return Markup(
            "<table class='table table-sm o_kam_health_explanation'><thead><tr><th>%s</th>"
            "<th class='text-end'>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
        ) % (_("Signal"), _("Points lost"), _("Why"), Markup("").join(rows))
