import logging
from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_date

from ..const import DIRECTOR_GROUP, KAM_GROUP, MARGIN_SOURCES, QUADRANTS, RANKING_FLAGS, TIERS
from ..tools.large_statement import large_statement
from ..tools.tier_rules import decide_sql, tier_rank_sql

_logger = logging.getLogger(__name__)

# The columns of kam_classification a run computes, before the cost figures.
ENGINE_COLUMNS = (
    "tier",
    "computed_tier",
    "tier_since",
    "is_key_account",
    "revenue",
    "rank",
    "share",
    "cumulative_share",
    "runs_below",
    "runs_below_date",
    "locked",
    "lock_reason",
    "lock_until",
    "lock_differs",
)

# The Pareto screen charts each customer up to this many, then equal buckets of them.
PARETO_MAX_POINTS = 100

# Key of the transaction-scoped advisory lock that serialises runs per company.
_RUN_LOCK_KEY = 0x4B414D  # "KAM"

# The figures of ``_figures_sql`` kept on each row; the names are those of its columns.
COST_FIGURES = (
    "invoiced_revenue",
    "cost_of_goods",
    "gross_margin",
    "visit_cost",
    "other_cost",
    "cost_to_serve",
    "net_contribution",
    "visit_count",
    "visit_hours",
    "cost_share",
    "revenue_per_visit",
    "margin_source",
)

COST_RANKING = ("quadrant", "contribution_rank", "ranking_flag")

# The figures that stay empty for a customer without any (no revenue, no visit, no cost source).
NULLABLE_FIGURES = ("cost_share", "revenue_per_visit", "margin_source")


def group_id(env, xmlid):
    """The id of a group, from the xml id cache: unlike ``env.ref`` it costs no query."""
    return env["ir.model.data"]._xmlid_to_res_id(xmlid)


def kam_team_sql(env):
    """``SELECT company_id, user_id``: the Key Account Managers of each company, active internal
    users of the manager group who are not directors (the portfolio and the competency gaps)."""
    return SQL(
        """
        SELECT cu.cid AS company_id, u.id AS user_id
          FROM res_users u
          JOIN res_company_users_rel cu ON cu.user_id = u.id
         WHERE u.active AND NOT u.share
           AND EXISTS (SELECT 1 FROM res_groups_users_rel g WHERE g.uid = u.id AND g.gid = %(kam)s)
           AND NOT EXISTS (SELECT 1 FROM res_groups_users_rel g WHERE g.uid = u.id AND g.gid = %(director)s)
        """,
        kam=group_id(env, KAM_GROUP),
        director=group_id(env, DIRECTOR_GROUP),
    )


class KamClassification(models.Model):
    """Classification state of one customer (commercial entity) in one company.

    The engine writes these rows set-based; ``res.partner`` shows the row of the current
    company, so a partner shared by two companies can be A for one and C for the other.
    """

    _name = "kam.classification"
    _description = "Key account classification"
    _order = "company_id, rank, id"
    _rec_name = "partner_id"
    # Rows written by runs, a row per customer: the run records who ran it and when, the tier
    # history who changed what, kam.manager.history who assigned whom. The ORM's create and
    # write stamps would only repeat them, at two foreign-key checks per row a run inserts.
    _log_access = False

    # The unique (company_id, partner_id) index serves the company's rows; partner_id has its own
    # for the partner's rows across companies, manager_id one for the rows that have a manager.
    # A run inserts a row per customer: no index more.
    company_id = fields.Many2one("res.company", required=True, ondelete="cascade")
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True, ondelete="cascade")
    currency_id = fields.Many2one(related="company_id.currency_id")
    tier = fields.Selection(TIERS, readonly=True)
    computed_tier = fields.Selection(
        TIERS,
        readonly=True,
        help="The tier the last run computed from revenue, before grace and locks.",
        string="Computed tier",
    )
    tier_since = fields.Date(readonly=True, string="Tier since")
    is_key_account = fields.Boolean(compute="_compute_is_key_account", store=True, string="Key account")
    manager_id = fields.Many2one(
        "res.users",
        string="Key Account Manager",
        index="btree_not_null",
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    revenue = fields.Monetary(readonly=True, currency_field="currency_id", aggregator="sum")
    rank = fields.Integer(readonly=True, aggregator="min")
    share = fields.Float(string="Share (%)", readonly=True, aggregator="sum")
    cumulative_share = fields.Float(string="Cumulative share (%)", readonly=True, aggregator="max")
    runs_below = fields.Integer(
        readonly=True,
        default=0,
        help="Consecutive runs that placed the customer below its current tier.",
        string="Runs below the tier",
    )
    runs_below_date = fields.Date(readonly=True, string="Last run below the tier")
    locked = fields.Boolean(string="Tier locked", readonly=True, default=False)
    lock_reason = fields.Char(readonly=True, string="Lock reason")
    lock_until = fields.Date(string="Locked until", readonly=True)
    lock_differs = fields.Boolean(
        string="Engine disagrees",
        compute="_compute_lock_differs",
        store=True,
        help="The tier is locked and the engine computed another one.",
    )
    tier_reason = fields.Char(
        string="Why this tier",
        compute="_compute_tier_reason",
        help="Where the tier is not the one the last run computed from revenue: the lock or the "
        "demotion grace that keeps it.",
    )
    history_ids = fields.One2many("kam.tier.history", "classification_id")

    _sql_constraints = [
        (
            "company_partner_uniq",
            "unique(company_id, partner_id)",
            "A customer has one classification per company.",
        ),
    ]

    @api.depends("tier")
    def _compute_is_key_account(self):
        for rec in self:
            rec.is_key_account = rec.tier == "a"

    @api.depends("locked", "tier", "computed_tier")
    def _compute_lock_differs(self):
        for rec in self:
            rec.lock_differs = rec.locked and (rec.tier or False) != (rec.computed_tier or False)

    @api.depends("tier", "computed_tier", "locked", "lock_until", "runs_below", "company_id.kam_demotion_grace")
    @api.depends_context("lang")
    def _compute_tier_reason(self):
        for rec in self:
            if (rec.tier or False) == (rec.computed_tier or False):
                rec.tier_reason = False
            elif rec.locked and rec.lock_until:
                rec.tier_reason = _("Locked until %(date)s", date=format_date(self.env, rec.lock_until))
            elif rec.locked:
                rec.tier_reason = _("Locked")
            elif rec.runs_below:
                rec.tier_reason = _(
                    "Kept by grace, %(runs)s of %(grace)s runs below",
                    runs=rec.runs_below,
                    grace=rec.company_id.kam_demotion_grace,
                )
            else:
                rec.tier_reason = False

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        assigned = records.filtered("manager_id")
        if assigned:
            assigned._record_manager_history({})
        return records

    def write(self, vals):
        """A change of manager is noted on the customer, kept in the manager history and
        passed on at once to the account's latest KPI snapshot (its dashboard card)."""
        if "manager_id" not in vals:
            return super().write(vals)
        old_managers = {rec.id: rec.manager_id for rec in self}
        res = super().write(vals)
        self._post_manager_change()
        changed = self.filtered(lambda r: r.manager_id != old_managers[r.id])
        if changed:
            changed._record_manager_history(old_managers)
        self._sync_latest_snapshot_manager()
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_lock_wizard(self):
        return self.partner_id.with_company(self.company_id[:1]).action_kam_lock_tier()

    def action_unlock(self):
        self.check_access("write")
        for rec in self.filtered("locked"):
            rec.write({"locked": False, "lock_reason": False, "lock_until": False})
            rec.partner_id.message_post(
                body=_("Key account tier unlocked: the next reclassification decides it again."),
                subtype_xmlid="mail.mt_note",
            )

    def action_open_partner(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": self.partner_id.id,
            "view_mode": "form",
            "context": {"allowed_company_ids": [self.company_id.id]},
        }

    # ------------------------------------------------------------------
    # Manual changes
    # ------------------------------------------------------------------
    def _post_manager_change(self):
        for rec in self:
            manager = rec.manager_id
            body = (
                _("Key Account Manager for %(company)s: %(manager)s", company=rec.company_id.name, manager=manager.name)
                if manager
                else _("Key Account Manager for %(company)s removed.", company=rec.company_id.name)
            )
            rec.partner_id.message_post(body=body, subtype_xmlid="mail.mt_note")

    def _set_locked_tier(self, tier, reason, until=False):
        """Lock the tier of these rows (one company each) at ``tier``, keeping history."""
        self.check_access("write")
        today = fields.Date.context_today(self)
        if until and until < today:
            raise UserError(_("The lock end date cannot be in the past; leave it empty to lock with no end."))
        if not reason:
            raise UserError(_("Say why the tier is locked: the reason is kept with the account."))
        tier_label = dict(self._fields["tier"]._description_selection(self.env))
        for rec in self:
            old = rec.tier or False
            vals = {"locked": True, "lock_reason": reason, "lock_until": until, "runs_below": 0}
            if old != tier:
                vals.update(tier=tier, tier_since=today)
                self.env["kam.tier.history"].sudo().create(
                    {
                        "classification_id": rec.id,
                        "date": today,
                        "old_tier": old,
                        "new_tier": tier,
                        "revenue": rec.revenue,
                        "share": rec.share,
                        "cumulative_share": rec.cumulative_share,
                        "rank": rec.rank,
                        "cause": "manual",
                    }
                )
            rec.write(vals)
            rec.partner_id.message_post(
                body=_(
                    "Key account tier locked at %(tier)s for %(company)s: %(reason)s",
                    tier=tier_label.get(tier, _("not classified")),
                    company=rec.company_id.name,
                    reason=reason,
                ),
                subtype_xmlid="mail.mt_note",
            )

    # ------------------------------------------------------------------
    # The engine
    # ------------------------------------------------------------------
    @api.model
    def _cron_reclassify(self):
        companies = self.env["res.company"].search([])
        for done, company in enumerate(companies):
            self._run_company(company)
            self.env["ir.cron"]._notify_progress(done=done + 1, remaining=len(companies) - done - 1)

    @api.model
    def _run_company(self, company, run_date=None):
        """A reclassification as users start it (the monthly job, *Run reclassification*).

        The stored monthly figures are brought to the run's window first and the run ranks
        them (``_with_stored_figures``); a company's first run, which has none yet, computes
        its figures from the documents and stores them after. Either way the cost-to-serve
        analysis and the reports then open on the figures the run ranked."""
        run_date = run_date or fields.Date.context_today(self)
        engine = self._with_stored_figures(company, run_date)
        run = engine._reclassify_company(company, run_date)
        if engine is self:
            self.env["kam.account.fact"]._refresh(company, window=self._window(company, run_date))
        return run

    @api.model
    def _with_stored_figures(self, company, run_date):
        """``self`` reading the stored figures of the classification window ending on
        ``run_date`` (context ``kam_stored_figures``), after bringing them up to date, when
        ``company`` has stored figures; else ``self`` unchanged, which computes them from the
        documents: building every month of a company's history takes far longer than a run.
        A run of the company in progress elsewhere stops it with a message, as it stops a run,
        instead of waiting for it (``_acquire_run_lock``; the refresh's lock is the same)."""
        self._acquire_run_lock(company)
        refreshed = self.env["kam.account.fact"]._refresh(
            company, window=self._window(company, run_date), if_built=True
        )
        if refreshed is None:
            return self
        return self.with_context(kam_stored_figures=True)

    @api.model
    def _window(self, company, run_date):
        date_from = run_date - relativedelta(months=company.kam_window_months) + relativedelta(days=1)
        return date_from, run_date

    @api.model
    def _revenue_sql(self, company, date_from, date_to):
        """Revenue per commercial entity in the window, in company currency, untaxed, from the
        company's source: ``kam.figures._revenue_sql``, the one definition of revenue."""
        return self.env["kam.figures"]._revenue_sql(company, date_from, date_to)

    @api.model
    def _window_figures_sql(self, company, date_from, date_to):
        """The figures of the window per customer (``kam.account.fact._figures_sql``): the stored
        window rows when the context says they are current for this window
        (``_with_stored_figures``), else computed from the documents."""
        Fact = self.env["kam.account.fact"]
        if self.env.context.get("kam_stored_figures"):
            return Fact._window_rows_sql(company)
        return Fact._figures_sql(company, date_from, date_to)

    @api.model
    def _ranking_sql(self, company, run_date):
        """The aggregate-and-rank statement: one row per customer with positive revenue."""
        date_from, date_to = self._window(company, run_date)
        return self._rank_sql(company, self._revenue_sql(company, date_from, date_to))

    @api.model
    def _rank_sql(self, company, revenue):
        """Rank the customers of ``revenue`` (a SELECT of ``partner_id, revenue``) by revenue.

        One row per customer with positive revenue: ``partner_id, revenue, rank, share,
        cumulative_share, computed_tier``. The Pareto cut multiplies instead of dividing
        (``above * 100 < threshold * total``) so that no rounding can move a customer across a
        line; the customer that crosses a line keeps the tier of that line, because what
        ranks above it is still below it.
        """
        return SQL(
            """
            WITH revenue AS (%(revenue)s),
            positive AS (SELECT partner_id, revenue FROM revenue WHERE revenue > 0),
            ordered AS (
                SELECT partner_id, revenue,
                       ROW_NUMBER() OVER w AS rank,
                       COALESCE(SUM(revenue) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS above,
                       SUM(revenue) OVER () AS total
                  FROM positive
                WINDOW w AS (ORDER BY revenue DESC, partner_id)
            )
            SELECT partner_id, revenue, rank,
                   (revenue * 100 / total)::float8 AS share,
                   ((above + revenue) * 100 / total)::float8 AS cumulative_share,
                   CASE WHEN above * 100 < %(threshold_a)s * total THEN 'a'
                        WHEN above * 100 < %(threshold_b)s * total THEN 'b'
                        ELSE 'c' END AS computed_tier
              FROM ordered
            """,
            revenue=revenue,
            threshold_a=company.kam_threshold_a,
            threshold_b=company.kam_threshold_b,
        )

    # ------------------------------------------------------------------
    # The Pareto chart
    # ------------------------------------------------------------------
    @api.model
    def get_pareto_chart(self, max_points=PARETO_MAX_POINTS):
        """The data of the Pareto screen for the current company, as of its last run.

        The customers with revenue, ranked, as points: each customer while there are at most
        ``max_points`` of them, else equal buckets of consecutive ranks (the last one may be
        shorter). Each point has its ranks, revenue, the cumulative share at its last customer
        (never decreasing, 100 at the last point) and its tier (the tier of most of its
        customers). Customers without revenue in the window are counted, never charted.
        One statement, whatever the number of customers.
        """
        self.check_access("read")
        company = self.env.company
        max_points = max(int(max_points or PARETO_MAX_POINTS), 1)
        self.flush_model(["company_id", "revenue", "rank", "cumulative_share", "tier"])
        self.env.cr.execute(
            SQL(
                """
                WITH stats AS (
                    SELECT COUNT(*) FILTER (WHERE revenue > 0 AND rank IS NOT NULL) AS customers,
                           COUNT(*) FILTER (WHERE tier IS NOT NULL AND COALESCE(revenue, 0) <= 0)
                               AS without_revenue
                      FROM kam_classification
                     WHERE company_id = %(company)s
                ),
                sized AS (
                    SELECT GREATEST(CEIL(customers::numeric / %(points)s), 1)::int AS size, customers,
                           without_revenue
                      FROM stats
                ),
                buckets AS (
                    SELECT (k.rank - 1) / s.size AS bucket, MIN(k.rank) AS first_rank, MAX(k.rank) AS last_rank,
                           SUM(k.revenue) AS revenue, MAX(k.cumulative_share) AS cumulative_share,
                           MODE() WITHIN GROUP (ORDER BY k.tier) AS tier, MIN(k.partner_id) AS partner_id
                      FROM kam_classification k CROSS JOIN sized s
                     WHERE k.company_id = %(company)s AND k.revenue > 0 AND k.rank IS NOT NULL
                     GROUP BY 1
                )
                SELECT b.first_rank, b.last_rank, b.revenue, b.cumulative_share, b.tier, b.partner_id,
                       s.customers, s.without_revenue
                  FROM sized s LEFT JOIN buckets b ON true
                 ORDER BY b.bucket
                """,
                company=company.id,
                points=max_points,
            )
        )
        rows = self.env.cr.fetchall()
        customers, without_revenue = rows[0][6], rows[0][7]
        rows = [row for row in rows if row[0] is not None]
        # Single customers are named; buckets say which ranks they hold.
        names = {}
        if rows and len(rows) == customers:
            partners = self.env["res.partner"].browse([row[5] for row in rows])
            names = dict(zip(partners.ids, partners.mapped("display_name"), strict=True))
        points = [
            {
                "label": names.get(partner_id) or f"{first}–{last}",
                "first_rank": first,
                "last_rank": last,
                "revenue": float(revenue),
                "cumulative_share": round(cumulative, 2),
                "tier": tier,
            }
            for first, last, revenue, cumulative, tier, partner_id, _customers, _none in rows
        ]
        if points:
            # The last ranked customer closes the revenue of the window, whatever the rounding.
            points[-1]["cumulative_share"] = 100.0
        tiers = dict(self._fields["tier"]._description_selection(self.env))
        last_run = self.env["kam.classification.run"].search(
            [("company_id", "=", company.id)], order="date desc, id desc", limit=1
        )
        window = self._window(company, last_run.date) if last_run else (False, False)
        return {
            "points": points,
            "customers": customers,
            "without_revenue": without_revenue,
            "bucket_size": (rows[0][1] - rows[0][0] + 1) if rows else 1,
            "threshold_a": company.kam_threshold_a,
            "threshold_b": company.kam_threshold_b,
            "tiers": tiers,
            "currency": company.currency_id.name,
            "date_from": fields.Date.to_string(window[0]) if window[0] else False,
            "date_to": fields.Date.to_string(window[1]) if window[1] else False,
            "company": company.name,
        }

    # The set-based run: one statement computes every customer's new row (the stage), then
    # writes the rows that change, their history, and their notes. The cost figures are
    # computed in the same statement unless the context says ``kam_without_cost_figures``.
    @api.model
    def _stage_columns(self):
        """The columns of ``kam_classification`` that a run computes and writes."""
        if self._without_cost_figures():
            return ENGINE_COLUMNS
        return (*ENGINE_COLUMNS, *COST_FIGURES, *COST_RANKING)

    def _without_cost_figures(self):
        """Context ``kam_without_cost_figures``: a run that leaves the cost figures alone (the
        preview of a reclassification, which only lists tier changes)."""
        return bool(self.env.context.get("kam_without_cost_figures"))

    @api.model
    def _flush_stage_sources(self, company):
        """Flush what the stage reads: the revenue source, the rows, and the cost figures' sources."""
        if not self._without_cost_figures():
            self.env["kam.account.fact"]._flush_sources()
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["account.move"].flush_model(
            ["state", "move_type", "invoice_date", "company_id", "commercial_partner_id", "amount_untaxed_signed"]
        )
        if company.kam_revenue_source == "sale_order":
            self.env["sale.order"].flush_model(
                ["state", "date_order", "company_id", "partner_id", "amount_untaxed", "currency_rate"]
            )
        self.flush_model()
        self.env["kam.tier.history"].flush_model()

    @api.model
    def _stage_sql(self, company, run_date):
        """``WITH ... stage AS (...)``: the customers of ``company`` whose row a run changes.

        Every customer that is ranked, already has a row, or has cost figures is decided;
        ``stage`` keeps those whose row must be written (new, or any value of
        ``_stage_columns`` differs): ``partner_id``, ``row_id`` (NULL for a new row),
        ``manager_id``, ``old_tier``, ``moved`` (the tier changes) and each column of
        ``_stage_columns`` with its new value. The decision rule is ``tier_rules.decide_sql``;
        a rerun on the same day is the same run, so it does not count a run below the tier twice.
        """
        date_from, date_to = self._window(company, run_date)
        columns = self._stage_columns()
        revenue = self._revenue_sql(company, date_from, date_to)
        if self.env.context.get("kam_stored_figures") and company.kam_revenue_source != "sale_order":
            # The invoice revenue of the window's stored rows: the same figure, summed already.
            stored = self._window_figures_sql(company, date_from, date_to)
            revenue = SQL("SELECT partner_id, revenue FROM (%s) w", stored)
        classified = SQL("SELECT * FROM classified")
        ctes = after = joins = SQL("")
        keys = keep = extra_columns = SQL("")
        if not self._without_cost_figures():
            # Where the cost figures join the run. ``kam.account.fact._figures_sql`` is
            # aggregated once: its revenue is, by definition, what the invoice source of the
            # classification counts, so the invoices are summed once for both. The contribution
            # ranking sorts the narrow rows of the figures before they meet the classification
            # rows; customers with effort but no classification join the run, and every row
            # gets its figures before it is written. Last, the customers are placed and flagged
            # by contribution, against their new tier and rank.
            values = self._cost_figure_values(company)
            figures = self._window_figures_sql(company, date_from, date_to)
            ctes = SQL("f AS MATERIALIZED (%s), ", figures)
            if company.kam_revenue_source == "sale_order":
                ranked = SQL("f.partner_id IN (SELECT partner_id FROM ranked)")
            else:
                revenue = SQL("SELECT partner_id, revenue FROM f")
                ranked = SQL("f.revenue > 0")
            in_scope = SQL("(c.partner_id IS NOT NULL OR %s OR %s)", ranked, self._cost_effort_sql(values))
            after = SQL("fc AS (%s), ", self._cost_windows_sql(company, values, in_scope))
            joins = SQL("FULL JOIN fc ON fc.partner_id = COALESCE(k.partner_id, n.partner_id)")
            keys = SQL(", fc.partner_id")
            keep = SQL("WHERE k.id IS NOT NULL OR n.partner_id IS NOT NULL OR fc.in_scope")
            extra_columns = SQL("").join(SQL(", %s", column) for column in self._cost_columns_sql(values))
            classified = SQL(
                "SELECT x.*, %s FROM (%s) x",
                SQL(", ").join(
                    SQL("%s AS %s", value, SQL.identifier(name))
                    for name, value in self._cost_placement_sql(company).items()
                ),
                classified,
            )

        def ident(name, prefix=""):
            return SQL.identifier(prefix + name)

        new_tier, new_runs = decide_sql(
            SQL("u.old_tier"), SQL("u.computed_tier"), SQL("u.runs"), company.kam_demotion_grace, SQL("u.lock_kept")
        )
        return SQL(
            """
            WITH %(ctes)s
            ranked AS (%(ranking)s),
            %(after)s
            cur AS (
                SELECT id, partner_id, manager_id, %(columns)s
                  FROM kam_classification
                 WHERE company_id = %(company)s
            ),
            universe AS (
                SELECT COALESCE(%(keys)s) AS partner_id, k.id AS row_id, k.manager_id, %(old_columns)s,
                       COALESCE(n.revenue, 0) AS revenue, n.rank, COALESCE(n.share, 0) AS share,
                       n.cumulative_share, n.computed_tier,
                       COALESCE(k.locked AND (k.lock_until IS NULL OR k.lock_until >= %(run_date)s), false)
                           AS lock_kept,
                       COALESCE(k.locked AND k.lock_until < %(run_date)s, false) AS lock_expired,
                       CASE WHEN k.runs_below_date = %(run_date)s AND k.runs_below > 0 THEN k.runs_below - 1
                            ELSE COALESCE(k.runs_below, 0) END AS runs
                       %(extra_columns)s
                  FROM cur k
                  FULL JOIN ranked n ON n.partner_id = k.partner_id
                  %(joins)s
                %(keep)s
            ),
            decided AS (
                SELECT u.*, %(new_tier)s AS tier, %(new_runs)s AS runs_below
                  FROM universe u
            ),
            classified AS (
                SELECT d.*,
                       CASE WHEN d.old_tier IS NOT DISTINCT FROM d.tier THEN d.old_tier_since
                            WHEN d.tier IS NULL THEN NULL
                            ELSE %(run_date)s::date END AS tier_since,
                       COALESCE(d.tier = 'a', false) AS is_key_account,
                       CASE WHEN d.runs_below > 0 THEN %(run_date)s::date END AS runs_below_date,
                       d.lock_kept AS locked,
                       CASE WHEN d.lock_expired THEN NULL ELSE d.old_lock_reason END AS lock_reason,
                       CASE WHEN d.lock_expired THEN NULL ELSE d.old_lock_until END AS lock_until,
                       (d.lock_kept AND d.tier IS DISTINCT FROM d.computed_tier) AS lock_differs
                  FROM decided d
            ),
            stage AS (
                SELECT x.partner_id, x.row_id, x.manager_id, x.old_tier, x.old_tier IS DISTINCT FROM x.tier AS moved,
                       %(x_new)s
                  FROM (%(finish)s) x
                 WHERE x.row_id IS NULL OR (%(x_old)s) IS DISTINCT FROM (%(x_new)s)
            )
            """,
            ctes=ctes,
            after=after,
            ranking=self._rank_sql(company, revenue),
            columns=SQL(", ").join(ident(name) for name in columns),
            company=company.id,
            keys=SQL("k.partner_id, n.partner_id%s", keys),
            old_columns=SQL(", ").join(SQL("k.%s AS %s", ident(name), ident(name, "old_")) for name in columns),
            run_date=run_date,
            extra_columns=extra_columns,
            joins=joins,
            keep=keep,
            new_tier=new_tier,
            new_runs=new_runs,
            x_old=SQL(", ").join(SQL("x.%s", ident(name, "old_")) for name in columns),
            x_new=SQL(", ").join(SQL("x.%s", ident(name)) for name in columns),
            finish=classified,
        )

    @api.model
    def _compute_changes(self, company, run_date):
        """The rows a run on ``run_date`` would write, as dicts, without writing anything.

        The cost figures are left out (they change no tier), which halves the work.
        """
        engine = self.with_context(kam_without_cost_figures=True)
        engine._flush_stage_sources(company)
        cr = self.env.cr
        with large_statement(cr):
            cr.execute(
                SQL(
                    """
                    %s
                    SELECT partner_id, row_id, manager_id, old_tier, tier AS new_tier, computed_tier, revenue,
                           rank, share, cumulative_share, moved
                      FROM stage
                    """,
                    engine._stage_sql(company, run_date),
                )
            )
            rows = cr.dictfetchall()
        for row in rows:
            row["old_tier"] = row["old_tier"] or False
            row["new_tier"] = row["new_tier"] or False
        return rows

    @api.model
    def _try_run_lock(self, company):
        """Take the lock of ``company``'s runs and stored figures for this transaction, without
        waiting; return whether it was free (a run or a refresh of its figures holds it)."""
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", _RUN_LOCK_KEY, company.id))
        return self.env.cr.fetchone()[0]

    @api.model
    def _acquire_run_lock(self, company):
        """Serialise runs per company: a second run at the same time stops with a message."""
        if not self._try_run_lock(company):
            raise UserError(
                _(
                    "A reclassification of %(company)s is already running. Wait for it to "
                    "finish, then run it again if needed.",
                    company=company.name,
                )
            )

    @api.model
    def _reclassify_company(self, company, run_date=None):
        """Run the 80/20 classification for one company; return the run record.

        Atomic (it runs in the caller's transaction) and idempotent: a second run on the
        same data finds nothing to change and writes nothing but its run record. Set-based:
        the ranking, the decision, the cost figures and every write are one statement,
        whatever the number of customers.
        """
        run_date = run_date or fields.Date.context_today(self)
        self._acquire_run_lock(company)
        run = (
            self.env["kam.classification.run"]
            .sudo()
            .create({"company_id": company.id, "date": run_date, "user_id": self.env.uid})
        )
        summary = self._apply_stage(company, run, run_date)
        if summary["changed"]:
            # The new tiers' service levels, in the same transaction as the tier changes.
            self.env["kam.service.level"]._apply_run(company, run)
        run._after_apply(summary)
        return run

    @api.model
    def _apply_stage(self, company, run, run_date):
        """Write what changes, in one statement: the rows that differ (new rows with their
        figures, once), and for each tier change a history line and, for changes worth a
        note, a chatter note. Returns the run's figures, counted on the stage, with the new
        key accounts that have no manager."""
        self._flush_stage_sources(company)
        self.env["kam.classification.run"].flush_model()
        self.env["kam.service.level"].flush_model(["company_id", "tier", "kam_required"])
        History = self.env["kam.tier.history"]
        columns = self._stage_columns()
        # The company's initial classification: no run before this one.
        initial = SQL(
            "NOT EXISTS (SELECT FROM kam_classification_run r WHERE r.company_id = %s AND r.id <> %s)",
            company.id,
            run.id,
        )

        def ident(name, prefix=None):
            return SQL("%s.%s", SQL.identifier(prefix), SQL.identifier(name)) if prefix else SQL.identifier(name)

        cr = self.env.cr
        with large_statement(cr):
            cr.execute(
                SQL(
                    """
                    %(stage)s,
                    -- New rows get their id here, so that their history lines need no join with the
                    -- INSERT; in customer order, so that the foreign-key checks read res_partner,
                    -- and then these rows, in order.
                    staged AS (
                        SELECT s.*, COALESCE(s.row_id, nextval(%(sequence)s)) AS classification_id
                          FROM stage s
                         ORDER BY s.partner_id
                    ),
                    ins AS (
                        INSERT INTO kam_classification (id, company_id, partner_id, %(columns)s)
                        SELECT s.classification_id, %(company)s, s.partner_id, %(s_columns)s
                          FROM staged s
                         WHERE s.row_id IS NULL
                        RETURNING 1
                    ),
                    upd AS (
                        UPDATE kam_classification k
                           SET %(assignments)s
                          FROM staged s
                         WHERE k.id = s.row_id
                        RETURNING 1
                    ),
                    moved AS (SELECT * FROM staged WHERE moved),
                    history AS (%(history)s),
                    notes AS (%(notes)s),
                    -- The tiers before the run: the counts after it follow from the changes.
                    before AS (
                        SELECT count(*) FILTER (WHERE tier = 'a') AS tier_a,
                               count(*) FILTER (WHERE tier = 'b') AS tier_b,
                               count(*) FILTER (WHERE tier = 'c') AS tier_c
                          FROM kam_classification
                         WHERE company_id = %(company)s
                    )
                    SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM upd) AS written,
                           %(initial)s AS initial,
                           (SELECT count(*) FROM history) AS history_lines,
                           (SELECT count(*) FROM notes) AS notes,
                           %(tier_counts)s,
                           count(*) FILTER (WHERE s.moved) AS changed,
                           count(*) FILTER (WHERE s.moved AND %(new_rank)s > %(old_rank)s) AS promoted,
                           count(*) FILTER (WHERE s.moved AND %(new_rank)s < %(old_rank)s) AS demoted,
                           count(*) FILTER (WHERE s.moved AND s.old_tier IS NULL AND s.tier = 'a') AS first_a,
                           count(*) FILTER (WHERE s.moved AND s.old_tier IS NULL AND s.tier = 'b') AS first_b,
                           count(*) FILTER (WHERE s.moved AND s.old_tier IS NULL AND s.tier = 'c') AS first_c,
                           array_agg(s.partner_id ORDER BY s.rank, s.partner_id)
                               FILTER (WHERE s.moved AND s.manager_id IS NULL
                                         AND s.tier IN (SELECT r.tier FROM (%(tier_rules)s) r WHERE r.kam_required))
                               AS unassigned,
                           json_agg(json_build_object('partner_id', s.partner_id, 'manager_id', s.manager_id,
                                                      'new_tier', s.tier))
                               FILTER (WHERE s.moved AND s.old_tier = 'a' AND s.manager_id IS NOT NULL)
                               AS demoted_accounts
                      FROM stage s
                    """,
                    stage=self._stage_sql(company, run_date),
                    columns=SQL(", ").join(ident(name) for name in columns),
                    s_columns=SQL(", ").join(ident(name, "s") for name in columns),
                    assignments=SQL(", ").join(SQL("%s = %s", ident(name), ident(name, "s")) for name in columns),
                    company=company.id,
                    sequence=f"{self._table}_id_seq",
                    history=History._engine_history_sql(run, run_date, "moved"),
                    notes=History._engine_notes_sql(company, "moved", initial),
                    initial=initial,
                    tier_counts=SQL(", ").join(
                        SQL(
                            """(SELECT %(name)s FROM before) + count(*) FILTER (WHERE s.moved AND s.tier = %(tier)s)
                               - count(*) FILTER (WHERE s.moved AND s.old_tier = %(tier)s) AS %(name)s""",
                            tier=tier,
                            name=SQL.identifier(f"tier_{tier}"),
                        )
                        for tier in ("a", "b", "c")
                    ),
                    new_rank=tier_rank_sql(SQL("s.tier")),
                    old_rank=tier_rank_sql(SQL("s.old_tier")),
                    tier_rules=self.env["kam.service.level"]._tier_rules_sql([company.id]),
                )
            )
            summary = cr.dictfetchone()
        summary["unassigned"] = summary["unassigned"] or []
        summary["demoted_accounts"] = summary["demoted_accounts"] or []
        self.invalidate_model()
        History.invalidate_model()
        # The partner's tier and figures (read from these rows), its chatter and the run's list
        # changed underneath.
        self.env["res.partner"].invalidate_model()
        self.env["mail.message"].invalidate_model()
        run.invalidate_recordset()
        return summary

    # ------------------------------------------------------------------
    # Cost to serve
    # ------------------------------------------------------------------
    # Cost to serve of each classified customer over the classification window.
    #
    # The figures come from ``kam.account.fact._figures_sql`` and are refreshed, set-based,
    # at the end of every reclassification run and on demand.
    invoiced_revenue = fields.Monetary(
        readonly=True,
        currency_field="currency_id",
        aggregator="sum",
        help="Untaxed invoiced revenue in the window, the base of the margin and cost figures.",
        string="Invoiced revenue",
    )
    cost_of_goods = fields.Monetary(
        string="Cost of goods", readonly=True, currency_field="currency_id", aggregator="sum"
    )
    gross_margin = fields.Monetary(readonly=True, currency_field="currency_id", aggregator="sum", string="Gross margin")
    margin_source = fields.Selection(
        MARGIN_SOURCES,
        string="Cost of goods from",
        readonly=True,
        help="Where the cost of goods comes from: the cost on the sales order lines the invoices "
        "were made from (sale margin), or the product's cost for lines invoiced without an order.",
    )
    visit_cost = fields.Monetary(string="Cost of visits", readonly=True, currency_field="currency_id", aggregator="sum")
    other_cost = fields.Monetary(
        string="Other costs to serve", readonly=True, currency_field="currency_id", aggregator="sum"
    )
    cost_to_serve = fields.Monetary(
        readonly=True, currency_field="currency_id", aggregator="sum", string="Cost to serve"
    )
    net_contribution = fields.Monetary(
        readonly=True,
        currency_field="currency_id",
        aggregator="sum",
        help="Gross margin minus cost to serve.",
        string="Net contribution",
    )
    visit_count = fields.Integer(string="Visits done", readonly=True, aggregator="sum")
    visit_hours = fields.Float(string="Hours spent", readonly=True, aggregator="sum")
    cost_share = fields.Float(
        string="Cost to serve (% of revenue)",
        readonly=True,
        aggregator="avg",
        help="Cost to serve as a share of invoiced revenue; empty when there is no revenue.",
    )
    revenue_per_visit = fields.Monetary(
        readonly=True, currency_field="currency_id", aggregator="avg", string="Revenue per visit"
    )
    quadrant = fields.Selection(
        QUADRANTS,
        readonly=True,
        help="Value against effort. High value: the customers that together make the company's "
        "value line of the gross margin. High effort: cost to serve at or above the effort line "
        "(a share of revenue).",
    )
    contribution_rank = fields.Integer(
        readonly=True, aggregator="min", help="Rank by net contribution.", string="Contribution rank"
    )
    ranking_flag = fields.Selection(
        RANKING_FLAGS,
        string="Ranking warning",
        readonly=True,
        help="Where the ranking by net contribution disagrees sharply with the ranking by revenue.",
    )

    @api.model
    def action_refresh_cost_to_serve(self):
        """Refresh the cost figures of the selected companies now (directors)."""
        self.check_access("write")
        today = fields.Date.context_today(self)
        changed = 0
        for company in self.env.companies:
            # The stored figures are brought to today's window and read (computed, then stored,
            # for a company that has none yet): the analysis shows what was just written.
            engine = self._with_stored_figures(company, today)
            changed += engine._refresh_cost_to_serve(company, today)
            if engine is self:
                self.env["kam.account.fact"]._refresh(company, window=self._window(company, today))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Cost figures refreshed"),
                "message": _("%(count)s customers have new cost-to-serve figures.", count=changed),
                "next": self.env["ir.actions.actions"]._for_xml_id("kam_management.kam_classification_action_cost"),
            },
        }

    @api.model
    def _refresh_cost_to_serve(self, company, run_date):
        """Recompute the cost figures, quadrant, contribution rank and flag of ``company``.

        The figures are those of ``kam.account.fact._figures_sql`` over the classification
        window ending on ``run_date``; the tiers and revenue ranks stay those of the last run
        (a reclassification computes the figures itself). One statement whatever the number
        of customers: it adds a row for customers with effort but no classification yet, and
        writes only the rows whose values change. Returns the number of rows written.
        """
        self._acquire_run_lock(company)
        return self._write_cost_figures(company, run_date)

    @api.model
    def _write_cost_figures(self, company, run_date):
        self.env["kam.account.fact"]._flush_sources()
        self.flush_model()
        with large_statement(self.env.cr):
            self.env.cr.execute(self._cost_figures_sql(company, run_date))
            changed = self.env.cr.fetchone()[0]
        self.invalidate_model()
        self.env["res.partner"].invalidate_model()
        return changed

    @api.model
    def _cost_figure_values(self, company):
        """The stored figures as SQL expressions over a row ``f`` of ``_figures_sql``.

        ``{column: expression}`` in the order of ``COST_FIGURES``; a customer without figures
        gets 0, except for the figures that have no meaning then (share, per visit, source).
        """
        digits = company.currency_id.decimal_places

        def money(column):
            return SQL("ROUND(f.%s, %s)", SQL.identifier(column), digits)

        figures = {
            "invoiced_revenue": money("revenue"),
            "cost_of_goods": money("cost_of_goods"),
            "gross_margin": money("gross_margin"),
            "visit_cost": money("visit_cost"),
            "other_cost": money("other_cost"),
            "cost_to_serve": money("cost_to_serve"),
            "net_contribution": money("net_contribution"),
            "visit_count": SQL("f.visit_count"),
            "visit_hours": SQL("ROUND(f.visit_hours::numeric, 2)::float8"),
            "cost_share": SQL("CASE WHEN f.revenue > 0 THEN ROUND(f.cost_to_serve * 100 / f.revenue, 2)::float8 END"),
            "revenue_per_visit": SQL(
                "CASE WHEN f.visit_count > 0 THEN ROUND(f.revenue / f.visit_count, %s) END", digits
            ),
            "margin_source": SQL(
                """CASE WHEN COALESCE(f.cost_of_goods_from_orders, 0) = 0 AND COALESCE(f.cost_of_goods, 0) = 0 THEN NULL
                        WHEN f.cost_of_goods_from_orders = 0 THEN 'products'
                        WHEN f.cost_of_goods_from_orders = f.cost_of_goods THEN 'orders'
                        ELSE 'mixed' END"""
            ),
        }
        assert set(figures) == set(COST_FIGURES)
        return {
            name: figures[name] if name in NULLABLE_FIGURES else SQL("COALESCE(%s, 0)", figures[name])
            for name in COST_FIGURES
        }

    @api.model
    def _cost_effort_sql(self, values):
        """True for a customer with effort in the window (it gets a row even without revenue)."""
        return SQL("(%s <> 0 OR %s <> 0)", values["cost_to_serve"], values["visit_count"])

    @api.model
    def _cost_ranking_windows(self):
        """The contribution ranking, as window columns over rows with ``partner_id``,
        ``has_figures``, ``net_contribution`` and ``gross_margin``.

        Only customers with figures in the window (``has_figures``) are ranked
        (``cost_position`` among ``cost_population``); ``margin_above`` and ``margin_total``
        place them against the value line (``_cost_levels``).
        """
        return SQL(
            """ROW_NUMBER() OVER (PARTITION BY has_figures ORDER BY net_contribution DESC, partner_id)
                   AS cost_position,
               COUNT(*) OVER (PARTITION BY has_figures) AS cost_population,
               COALESCE(SUM(gross_margin) FILTER (WHERE gross_margin > 0) OVER (
                   PARTITION BY has_figures ORDER BY gross_margin DESC, partner_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS margin_above,
               SUM(gross_margin) FILTER (WHERE gross_margin > 0) OVER (PARTITION BY has_figures) AS margin_total"""
        )

    @api.model
    def _cost_levels(self, company):
        """``high_value``: the customers that together make the value line of the gross margin,
        decided like the tiers (``above * 100 < line * total``: the customer that crosses the
        line is still high value); ``high_effort``: a cost to serve at or above the effort line
        of revenue, multiplied out (reaching the line is high effort), or effort without
        revenue. Over rows with the figures and the columns of ``_cost_ranking_windows``."""
        return SQL(
            """(gross_margin > 0 AND margin_above * 100 < %(value_line)s * margin_total) AS high_value,
               (cost_to_serve > 0
                AND (invoiced_revenue <= 0 OR cost_to_serve * 100 >= %(effort_line)s * invoiced_revenue))
                   AS high_effort""",
            value_line=company.kam_value_line,
            effort_line=company.kam_effort_line,
        )

    @api.model
    def _cost_has_figures_sql(self, values):
        """True for a customer with any figure in the window (the only ones ranked and placed)."""
        return SQL(
            "(%s <> 0 OR %s <> 0 OR %s <> 0 OR %s <> 0)",
            values["invoiced_revenue"],
            values["cost_of_goods"],
            values["cost_to_serve"],
            values["visit_count"],
        )

    @api.model
    def _cost_windows_sql(self, company, values, in_scope):
        """The engine's rows of ``f`` (``_figures_sql``) with their figures (``values``) and
        their contribution ranking.

        ``in_scope`` says which customers take part (they have or get a classification row;
        ``c.partner_id`` is set for those that have one); ``has_figures`` is true for those
        of them with any figure in the window. The window functions sort narrow rows, then the
        figures join them: the engine's rows are wide.
        """
        return SQL(
            """
            SELECT x.*, %(levels)s
              FROM (
                SELECT f.partner_id, %(values)s, r.in_scope, r.has_figures, r.cost_position, r.cost_population,
                       r.margin_above, r.margin_total
                  FROM f
                  JOIN (
                    SELECT w.*, %(windows)s
                      FROM (
                        SELECT f.partner_id, %(in_scope)s AS in_scope,
                               (%(in_scope)s AND %(has_figures)s) AS has_figures,
                               %(net_contribution)s AS net_contribution, %(gross_margin)s AS gross_margin
                          FROM f
                          -- A full join is always hashed: f's row count is unknown to the planner.
                          -- Rows without f fall out when the figures join back.
                          FULL JOIN (SELECT partner_id FROM kam_classification WHERE company_id = %(company)s) c
                                 ON c.partner_id = f.partner_id
                      ) w
                  ) r ON r.partner_id = f.partner_id
              ) x
            """,
            levels=self._cost_levels(company),
            values=SQL(", ").join(SQL("%s AS %s", value, SQL.identifier(name)) for name, value in values.items()),
            windows=self._cost_ranking_windows(),
            in_scope=in_scope,
            has_figures=self._cost_has_figures_sql(values),
            net_contribution=values["net_contribution"],
            gross_margin=values["gross_margin"],
            company=company.id,
        )

    @api.model
    def _cost_columns_sql(self, values):
        """``fc``'s figures as columns of a classification row (0 when it has none)."""
        return (
            [
                SQL("fc.%s AS %s", SQL.identifier(name), SQL.identifier(name))
                if name in NULLABLE_FIGURES
                else SQL("COALESCE(fc.%s, 0) AS %s", SQL.identifier(name), SQL.identifier(name))
                for name in values
            ]
            + [
                SQL("COALESCE(fc.%s, false) AS %s", SQL.identifier(name), SQL.identifier(name))
                for name in ("has_figures", "high_value", "high_effort")
            ]
            + [SQL("fc.cost_position, fc.cost_population")]
        )

    @api.model
    def _cost_placement_sql(self, company):
        """``COST_RANKING`` as expressions over a row with the columns of ``_cost_columns_sql``
        and its 80/20 ``tier`` and ``rank``: the flags compare the contribution rank with the
        revenue rank, and a key account losing money is flagged as such."""
        return {
            "quadrant": SQL(
                """CASE WHEN NOT has_figures THEN NULL
                        WHEN high_value AND NOT high_effort THEN 'protect'
                        WHEN high_value THEN 'develop'
                        WHEN NOT high_effort THEN 'streamline'
                        ELSE 'restructure' END"""
            ),
            "contribution_rank": SQL("CASE WHEN has_figures THEN cost_position::int END"),
            "ranking_flag": SQL(
                """CASE WHEN NOT has_figures THEN NULL
                        WHEN net_contribution < 0 AND tier = 'a' THEN 'loses_money'
                        WHEN net_contribution < 0 THEN 'costs_more_than_earns'
                        WHEN (cost_position - rank) * 100 >= %(rank_gap)s * cost_population THEN 'ranks_lower'
                        WHEN (rank - cost_position) * 100 >= %(rank_gap)s * cost_population THEN 'ranks_higher'
                        END""",
                rank_gap=company.kam_rank_gap,
            ),
        }

    @api.model
    def _cost_figures_sql(self, company, run_date):
        """The refresh on demand: the figures of the window joined to the current rows, then
        their contribution ranking and their placement against the current tiers and ranks,
        then the writes, in one statement.

        Everything is computed before writing, so that each row is written at most once, and
        the window functions sort narrow rows only.
        """
        date_from, date_to = self._window(company, run_date)
        values = self._cost_figure_values(company)
        columns = (*COST_FIGURES, *COST_RANKING)

        def ident(name, prefix=None):
            return SQL("%s.%s", SQL.identifier(prefix), SQL.identifier(name)) if prefix else SQL.identifier(name)

        return SQL(
            """
            WITH f AS (%(figures)s),
            v AS (
                -- The current rows (a plain subquery, so that the planner knows their statistics)
                -- and the customers with effort but no row yet.
                SELECT COALESCE(k.partner_id, f.partner_id) AS partner_id, k.id, k.tier, k.rank, %(values)s
                  FROM (SELECT id, partner_id, tier, rank FROM kam_classification WHERE company_id = %(company)s) k
                  FULL OUTER JOIN f ON f.partner_id = k.partner_id
                 WHERE k.id IS NOT NULL OR %(effort)s
            ),
            new AS (
                SELECT placed.*, %(placement)s
                  FROM (
                    SELECT windowed.*, %(levels)s
                      FROM (
                        SELECT w.*, %(windows)s
                          FROM (SELECT v.*, %(has_figures)s AS has_figures FROM v) w
                      ) windowed
                  ) placed
            ),
            ins AS (
                INSERT INTO kam_classification (
                    company_id, partner_id, revenue, share, runs_below, locked, lock_differs,
                    is_key_account, %(columns)s)
                SELECT %(company)s, new.partner_id, 0, 0, 0, false, false, false, %(new_columns)s
                  FROM new
                 WHERE new.id IS NULL
                RETURNING id
            ),
            upd AS (
                UPDATE kam_classification k
                   SET %(assignments)s
                  FROM new
                 WHERE k.id = new.id AND (%(differ)s)
                RETURNING k.id
            )
            SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM upd)
            """,
            figures=self._window_figures_sql(company, date_from, date_to),
            values=SQL(", ").join(SQL("%s AS %s", value, ident(name)) for name, value in values.items()),
            company=company.id,
            effort=self._cost_effort_sql(values),
            placement=SQL(", ").join(
                SQL("%s AS %s", value, ident(name)) for name, value in self._cost_placement_sql(company).items()
            ),
            levels=self._cost_levels(company),
            windows=self._cost_ranking_windows(),
            has_figures=self._cost_has_figures_sql({name: ident(name, "v") for name in values}),
            columns=SQL(", ").join(ident(name) for name in columns),
            new_columns=SQL(", ").join(ident(name, "new") for name in columns),
            assignments=SQL(", ").join(SQL("%s = %s", ident(name), ident(name, "new")) for name in columns),
            differ=SQL(" OR ").join(
                SQL("%s IS DISTINCT FROM %s", ident(name, "k"), ident(name, "new")) for name in columns
            ),
        )

    # ------------------------------------------------------------------
    # KAM team
    # ------------------------------------------------------------------
    # Who manages the account: assignment, reassignment, its history and the suggestion.
    suggested_manager_id = fields.Many2one(
        "res.users",
        string="Suggested KAM",
        compute="_compute_suggested_manager_id",
        help="For a key account without a manager: the Key Account Manager with the most room, "
        "by the company's strategy, never past the maximum of key accounts per manager.",
    )
    manager_history_ids = fields.One2many("kam.manager.history", "classification_id", string="Manager history")

    @api.depends("tier", "manager_id", "company_id", "revenue")
    def _compute_suggested_manager_id(self):
        todo = self.filtered(lambda r: r.tier == "a" and not r.manager_id and r._origin.id)
        (self - todo).suggested_manager_id = False
        for company in todo.company_id:
            suggestions = self._suggest_managers(company)
            for rec in todo.filtered(lambda r, company=company: r.company_id == company):
                rec.suggested_manager_id = suggestions.get(rec._origin.id, False)

    @api.constrains("manager_id", "company_id")
    def _check_manager_is_kam(self):
        for company in self.company_id:
            rows = self.filtered(lambda r, company=company: r.company_id == company)
            self._check_kam_users(rows.manager_id, company)

    @api.onchange("manager_id")
    def _onchange_manager_id_maximum(self):
        """Warn, without blocking, when the new KAM goes past the maximum of key accounts."""
        if not self.manager_id or self.tier != "a" or self.manager_id == self._origin.manager_id:
            return None
        message = self._maximum_warning(self.manager_id, self.company_id, 1)
        if message:
            return {"warning": {"title": _("Over the maximum of key accounts"), "message": message}}
        return None

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_assign_suggested(self):
        """Give each selected key account its suggested manager; say which had none."""
        self.check_access("write")
        by_manager = defaultdict(lambda: self.browse())
        for row in self:
            if row.suggested_manager_id:
                by_manager[row.suggested_manager_id] |= row
        if not by_manager:
            raise UserError(
                _(
                    "There is nothing to suggest: the selected accounts already have a manager or are "
                    "not key accounts, or every Key Account Manager is at the maximum of key accounts. "
                    "Raise the maximum in the settings or assign a manager by hand."
                )
            )
        reason = _("Suggested: the Key Account Manager with the most room")
        for manager, rows in by_manager.items():
            rows._reassign_manager(manager, reason=reason)
        return True

    def action_open_reassign_wizard(self):
        return self.env["kam.reassign.wizard"].action_open(partners=self.partner_id)

    # ------------------------------------------------------------------
    # The team
    # ------------------------------------------------------------------
    @api.model
    def _kam_team(self, company):
        """The Key Account Managers of ``company`` who can take accounts: active internal
        members of the group who are not directors (directors lead the team; they can still
        be given accounts by hand)."""
        return (
            self.env["res.users"]
            .sudo()
            .search(
                [
                    ("groups_id", "in", group_id(self.env, KAM_GROUP)),
                    ("groups_id", "not in", group_id(self.env, DIRECTOR_GROUP)),
                    ("share", "=", False),
                    ("company_ids", "in", company.id),
                ],
                order="id",
            )
        )

    @api.model
    def _check_kam_users(self, users, company):
        """Raise unless every user of ``users`` may manage key accounts of ``company``."""
        if not users:
            return
        valid = (
            self.env["res.users"]
            .sudo()
            .search(
                [
                    ("id", "in", users.ids),
                    ("groups_id", "in", group_id(self.env, KAM_GROUP)),
                    ("share", "=", False),
                    ("company_ids", "in", company.id),
                ]
            )
        )
        invalid = users.sudo() - valid
        if invalid:
            raise ValidationError(
                _(
                    "%(users)s cannot manage the key accounts of %(company)s: a Key Account Manager "
                    "must be an active internal user of the Key Account Manager group with access to "
                    "the company. Choose another user, or add them to the group first.",
                    users=", ".join(invalid.mapped("name")),
                    company=company.name,
                )
            )

    @api.model
    def _manager_loads(self, company, users):
        """``{user_id: [key accounts, revenue under management]}`` in one query."""
        loads = {user.id: [0, 0.0] for user in users}
        groups = self.sudo()._read_group(
            [("company_id", "=", company.id), ("manager_id", "in", users.ids)],
            ["manager_id", "tier"],
            ["__count", "revenue:sum"],
        )
        for manager, tier, count, revenue in groups:
            load = loads[manager.id]
            if tier == "a":
                load[0] += count
            load[1] += revenue or 0.0
        return loads

    @api.model
    def _suggest_managers(self, company):
        """Suggest a manager for every key account of ``company`` that has none.

        Greedy, in rank order: each account goes to the manager with the most room by the
        company's strategy, and counts towards that manager's load before the next account,
        so a batch of new key accounts is spread over the team. Managers at the maximum get
        none; accounts left when everyone is full get no suggestion. Ties go to the lowest
        user id, so the suggestion is stable. Returns ``{classification_id: user}``.
        """
        kams = self._kam_team(company)
        if not kams:
            return {}
        unassigned = self.sudo().search_fetch(
            [("company_id", "=", company.id), ("tier", "=", "a"), ("manager_id", "=", False)],
            ["revenue"],
            order="rank, id",
        )
        if not unassigned:
            return {}
        loads = self._manager_loads(company, kams)
        maximum = company.kam_max_key_accounts
        if company.kam_assignment_strategy == "revenue":

            def room(uid):
                return (loads[uid][1], loads[uid][0], uid)
        else:

            def room(uid):
                return (loads[uid][0], loads[uid][1], uid)

        users = {user.id: user.with_env(self.env) for user in kams}
        suggestions = {}
        for row in unassigned:
            candidates = [uid for uid, load in loads.items() if load[0] < maximum]
            if not candidates:
                break
            uid = min(candidates, key=room)
            suggestions[row.id] = users[uid]
            loads[uid][0] += 1
            loads[uid][1] += row.revenue
        return suggestions

    @api.model
    def _maximum_warning(self, manager, company, added):
        """The warning to show when ``manager`` gets ``added`` more key accounts, or False."""
        current = self.sudo().search_count(
            [("company_id", "=", company.id), ("manager_id", "=", manager.id), ("tier", "=", "a")]
        )
        maximum = company.kam_max_key_accounts
        if current + added <= maximum:
            return False
        return _(
            "%(manager)s would manage %(count)s key accounts in %(company)s, more than the maximum "
            "of %(maximum)s. You may go ahead; the portfolio will show the manager as overloaded.",
            manager=manager.name,
            count=current + added,
            company=company.name,
            maximum=maximum,
        )

    # ------------------------------------------------------------------
    # Reassignment
    # ------------------------------------------------------------------
    def _reassign_manager(
        self,
        manager,
        date_from=None,
        reason=False,
        carry_activities=True,
        carry_plans=True,
        carry_followers=True,
    ):
        """Give these rows to ``manager`` and carry the previous managers' open work over.

        Writes only the rows whose manager changes; each of them gets a history row (and the
        chatter note of the base ``write``). Returns the rows that changed.
        """
        self.check_access("write")
        for company in self.company_id:
            self._check_kam_users(manager, company)
        rows = self.filtered(lambda r: r.manager_id != manager)
        if not rows:
            return rows
        old_by_row = {row.id: row.manager_id for row in rows}
        rows.with_context(kam_manager_date=date_from, kam_manager_reason=reason).write({"manager_id": manager.id})
        # Directors reassign work that belongs to other users: the carry-over runs as superuser
        # once the write above has proved the right to change the manager.
        as_root = rows.sudo()
        if carry_activities:
            as_root._carry_over_activities(old_by_row, manager)
        if carry_plans:
            as_root._carry_over_plans(old_by_row, manager)
        if carry_followers:
            as_root._carry_over_followers(old_by_row, manager)
        return rows

    def _record_manager_history(self, old_managers):
        """One history row per changed row; a planned row being applied is marked done instead."""
        context = self.env.context
        date = context.get("kam_manager_date") or fields.Date.context_today(self)
        reason = context.get("kam_manager_reason") or False
        planned = context.get("kam_manager_planned") or {}
        History = self.env["kam.manager.history"].sudo()
        no_manager = self.env["res.users"]
        vals_list = []
        for rec in self:
            old = old_managers.get(rec.id, no_manager)
            if rec.id in planned:
                History.browse(planned[rec.id]).write(
                    {"state": "done", "old_manager_id": old.id, "user_id": self.env.uid}
                )
                continue
            vals_list.append(
                {
                    "classification_id": rec.id,
                    "company_id": rec.company_id.id,
                    "partner_id": rec.partner_id.id,
                    "old_manager_id": old.id,
                    "new_manager_id": rec.manager_id.id,
                    "date": date,
                    "reason": reason,
                    "state": "done",
                }
            )
        History.create(vals_list)

    def _old_managers_by_partner(self, old_by_row):
        result = defaultdict(set)
        for row in self:
            old = old_by_row.get(row.id)
            if old:
                result[row.partner_id.id].add(old.id)
        return result

    def _open_plans(self):
        """Draft and active account plans of these accounts, in their companies."""
        return (
            self.env["kam.account.plan"]
            .sudo()
            .search(
                [
                    ("company_id", "in", self.company_id.ids),
                    ("partner_id", "in", self.partner_id.ids),
                    ("state", "in", ("draft", "active")),
                ]
            )
        )

    def _carry_over_activities(self, old_by_row, manager):
        """Hand the previous manager's open activities on the account (and its contacts and
        open plans) to the new manager."""
        olds = self._old_managers_by_partner(old_by_row)
        if not olds:
            return
        old_ids = set().union(*olds.values())
        contacts = (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search_fetch([("id", "child_of", list(olds))], ["commercial_partner_id"])
        )
        account_of = {("res.partner", c.id): c.commercial_partner_id.id for c in contacts}
        account_of.update({("kam.account.plan", plan.id): plan.partner_id.id for plan in self._open_plans()})
        activities = (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("res_model", "in", list({model for model, _id in account_of})),
                    ("res_id", "in", list({res_id for _model, res_id in account_of})),
                    ("user_id", "in", list(old_ids)),
                ]
            )
        )
        moving = activities.filtered(lambda a: a.user_id.id in olds.get(account_of.get((a.res_model, a.res_id)), ()))
        if moving:
            # The new KAM finds them in their activities: no mail per activity.
            moving.with_context(mail_activity_quick_update=True).write({"user_id": manager.id})

    def _carry_over_plans(self, old_by_row, manager):
        """Make the new manager the owner of the previous manager's open plans of the account."""
        olds = self._old_managers_by_partner(old_by_row)
        if not olds:
            return
        plans = self._open_plans().filtered(lambda p: p.kam_id.id in olds.get(p.partner_id.id, ()))
        if plans:
            plans.write({"kam_id": manager.id})

    def _carry_over_followers(self, old_by_row, manager):
        """Subscribe the new manager to the account and its open plans; unsubscribe the previous
        one, unless they still manage the customer in another company or still own the plan."""
        partners = self.partner_id
        partners.message_subscribe(partner_ids=manager.partner_id.ids)
        plans = self._open_plans()
        if plans:
            plans.message_subscribe(partner_ids=manager.partner_id.ids)
        olds = self._old_managers_by_partner(old_by_row)
        if not olds:
            return
        old_ids = set().union(*olds.values())
        still_managed = {
            (row.partner_id.id, row.manager_id.id)
            for row in self.search_fetch(
                [("partner_id", "in", list(olds)), ("manager_id", "in", list(old_ids))],
                ["partner_id", "manager_id"],
            )
        }
        leaving = defaultdict(list)
        for partner_id, managers in olds.items():
            for old_id in managers:
                if (partner_id, old_id) not in still_managed:
                    leaving[old_id].append(partner_id)
        Users = self.env["res.users"]
        for old_id, partner_ids in leaving.items():
            old_partner = Users.browse(old_id).partner_id
            self.env["res.partner"].browse(partner_ids).message_unsubscribe(partner_ids=old_partner.ids)
            plans.filtered(
                lambda p, ids=set(partner_ids), old_id=old_id: p.partner_id.id in ids and p.kam_id.id != old_id
            ).message_unsubscribe(partner_ids=old_partner.ids)

    # ------------------------------------------------------------------
    # KPI snapshots
    # ------------------------------------------------------------------
    # A new KAM takes over the account's dashboard card at once, not at the next snapshot.
    def _sync_latest_snapshot_manager(self):
        """Give the latest KPI snapshot of these accounts their current manager (one UPDATE)."""
        self.flush_recordset(["manager_id", "partner_id", "company_id"])
        Snapshot = self.env["kam.kpi.snapshot"]
        Snapshot.flush_model(["manager_id", "is_latest"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE kam_kpi_snapshot s
                   SET manager_id = k.manager_id
                  FROM kam_classification k
                 WHERE k.id = ANY(%s) AND s.partner_id = k.partner_id AND s.company_id = k.company_id
                   AND s.is_latest AND s.manager_id IS DISTINCT FROM k.manager_id
                """,
                self.ids,
            )
        )
        if self.env.cr.rowcount:
            Snapshot.invalidate_model(["manager_id"])

    # ------------------------------------------------------------------
    # Service levels
    # ------------------------------------------------------------------
    # What the service levels last applied to the customer in this company: a term that differs
    # from it is the customer's own and is kept (kam.service.level._terms_sql).
    keep_terms = fields.Boolean(
        string="Keep my terms",
        groups=KAM_GROUP,
        help="The service levels never change the terms of this customer (pricelist, payment terms) in this company.",
    )
    sl_pricelist_id = fields.Many2one(
        "product.pricelist", string="Pricelist applied", readonly=True, groups=KAM_GROUP, ondelete="set null"
    )
    sl_payment_term_id = fields.Many2one(
        "account.payment.term", string="Payment terms applied", readonly=True, groups=KAM_GROUP, ondelete="set null"
    )
    service_level_id = fields.Many2one(
        "kam.service.level", string="Service level", compute="_compute_service_level_id", groups=KAM_GROUP
    )

    @api.depends("tier", "company_id")
    def _compute_service_level_id(self):
        levels = self.env["kam.service.level"].sudo().search([("company_id", "in", self.company_id.ids)])
        by_key = {(level.company_id.id, level.tier): level.id for level in levels}
        for rec in self:
            rec.service_level_id = by_key.get((rec.company_id.id, rec.tier or "none"), False)
