from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..const import DIRECTOR_GROUP, TIERS
from ..tools import health_rules, kpi_alerts, kpi_explanation, kpi_statement
from ..tools.health_rules import BANDS, SIGNAL_NAMES
from ..tools.large_statement import large_statement
from .kam_account_plan import WEIGHTED_SCORE_HELP, on_track_summary

# Key of the transaction-scoped advisory lock that serialises the snapshots of a company.
_SNAPSHOT_LOCK_KEY = 0x4B5049  # "KPI"
# A daily run that finds missed days (the server was down) takes them too, up to this many.
MAX_CATCH_UP_DAYS = 7
# A run that writes more than this share of the table's estimated rows (plus a floor) refreshes
# its statistics: autovacuum does it too, but later than the next run may need it.
ANALYZE_SHARE = 0.1
ANALYZE_MIN_ROWS = 1000


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
        labels = kpi_explanation.signal_labels(self.env)
        for snapshot in self:
            losses = kpi_explanation.health_losses(snapshot)
            snapshot.health_pulled_down_by = ", ".join(labels[name] for name in health_rules.pulled_down_by(losses)[:2])
            snapshot.health_explanation = kpi_explanation.render_explanation(snapshot, losses, labels)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    @api.model
    def action_open_dashboard(self):
        """The Key Accounts dashboard: a KAM sees their accounts, a director everyone's by KAM
        (the grouping is a directors' filter of the search view, on by default)."""
        return self.env["ir.actions.act_window"]._for_xml_id("kam_management.kam_kpi_snapshot_action_dashboard")

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
        Classification = self.env["kam.classification"].sudo()
        for company in self.env.companies:
            # The refresh of the stored figures would wait for a reclassification or the daily
            # job in progress: say so now instead, and take nothing.
            if not Classification._try_run_lock(company):
                raise UserError(
                    _(
                        "The figures of %(company)s are being updated by a reclassification or the "
                        "daily KPI job. Wait for it to finish, then take the snapshot again.",
                        company=company.name,
                    )
                )
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
            # The snapshots read the stored figures: brought up to date once, for every day taken.
            self.env["kam.account.fact"]._refresh(company)
            self._catch_up(company, today)
            self._store_snapshots(company, today)
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
            self._store_days(company, first, today - timedelta(days=1))

    @api.model
    def _backfill_snapshots(self, company, date_from, date_to):
        """Take the snapshots of each day from ``date_from`` to ``date_to`` (a past period).

        The figures are those of each day (invoices, visits, reviews and contacts dated up to
        it); the accounts and their tiers are today's, and the pipeline is rebuilt from the
        opportunities' creation and closing dates. No alert is raised for a past day.
        """
        self.env["kam.account.fact"]._refresh(company)
        return self._store_days(company, date_from, date_to)

    @api.model
    def _store_days(self, company, date_from, date_to):
        """``_store_snapshots`` of each day from ``date_from`` to ``date_to``, without alerts."""
        day, written = date_from, 0
        while day <= date_to:
            written += self._store_snapshots(company, day, alerts=False)
            day += timedelta(days=1)
        return written

    @api.model
    def _demo_backfill(self, company, days=90):
        """Demo history: a snapshot for each of the last ``days`` days, then today's with its alerts."""
        today = fields.Date.context_today(self)
        self._backfill_snapshots(company, today - timedelta(days=days), today - timedelta(days=1))
        self._store_snapshots(company, today)

    @api.model
    def _take_snapshots(self, company, date, alerts=True):
        """Bring ``company``'s stored figures up to date (``kam.account.fact._refresh``), then
        store the KPIs of its key accounts on ``date`` (``_store_snapshots``); return the rows
        written."""
        self.env["kam.account.fact"]._refresh(company)
        return self._store_snapshots(company, date, alerts)

    @api.model
    def _store_snapshots(self, company, date, alerts=True):
        """Store the KPIs of ``company``'s key accounts on ``date``; return the rows written.

        The figures over periods are sums of the stored monthly rows, which the caller has
        brought up to date in its transaction (``_take_snapshots``, the daily run).
        One statement computes every figure and upserts the day's rows (a rerun replaces
        them, writing only those that changed, and drops the rows of accounts no longer
        in scope): ``tools/kpi_statement.py``. With ``alerts``, the accounts past their
        contact interval and those whose health fell get an activity for their KAM, unless
        one is still open: ``tools/kpi_alerts.py``.
        """
        self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", _SNAPSHOT_LOCK_KEY, company.id))
        plans = kpi_statement.active_plans(self.env, company, date)
        kpi_statement.flush_sources(self.env)
        with large_statement(self.env.cr):
            self.env.cr.execute(kpi_statement.store_sql(self.env, company, date, plans, alerts))
            written, alert_rows = self.env.cr.fetchone()
        self._analyze_if_grown(written)
        self.invalidate_model()
        if alert_rows:
            kpi_alerts.raise_alerts(self.env, company, date, alert_rows)
        return written

    @api.model
    def _kpi_select_sql(self, company, date, plans=None, alerts=False):
        """The rows the day's snapshot would store, without storing them (the benchmark's floor);
        the stored figures must be current, as for ``_store_snapshots``."""
        if plans is None:
            plans = kpi_statement.active_plans(self.env, company, date)
        return kpi_statement.select_sql(self.env, company, date, plans, alerts)

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
