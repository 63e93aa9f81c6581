import logging

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.large_statement import large_statement
from ..tools.tier_rules import decide_sql, tier_rank_sql

_logger = logging.getLogger(__name__)

TIERS = [("a", "A – Key account"), ("b", "B"), ("c", "C")]

# The columns of kam_classification a run computes (the cost figures add theirs).
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

# Key of the transaction-scoped advisory lock that serialises runs per company.
_RUN_LOCK_KEY = 0x4B414D  # "KAM"


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
    )
    tier_since = fields.Date(readonly=True)
    is_key_account = fields.Boolean(compute="_compute_is_key_account", store=True)
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
        readonly=True, default=0, help="Consecutive runs that placed the customer below its current tier."
    )
    runs_below_date = fields.Date(readonly=True)
    locked = fields.Boolean(string="Tier locked", readonly=True, default=False)
    lock_reason = fields.Char(readonly=True)
    lock_until = fields.Date(string="Locked until", readonly=True)
    lock_differs = fields.Boolean(
        string="Engine disagrees",
        compute="_compute_lock_differs",
        store=True,
        help="The tier is locked and the engine computed another one.",
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

    def write(self, vals):
        res = super().write(vals)
        if "manager_id" in vals:
            self._post_manager_change()
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
            self._reclassify_company(company)
            self.env["ir.cron"]._notify_progress(done=done + 1, remaining=len(companies) - done - 1)

    @api.model
    def _window(self, company, run_date):
        date_from = run_date - relativedelta(months=company.kam_window_months) + relativedelta(days=1)
        return date_from, run_date

    @api.model
    def _revenue_sql(self, company, date_from, date_to):
        """Revenue per commercial entity in the window, in company currency, untaxed."""
        if company.kam_revenue_source == "sale_order":
            return SQL(
                """
                SELECT p.commercial_partner_id AS partner_id,
                       SUM(so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1)) AS revenue
                  FROM sale_order so
                  JOIN res_partner p ON p.id = so.partner_id
                 WHERE so.company_id = %(company)s
                   AND so.state = 'sale'
                   AND so.date_order >= %(date_from)s
                   AND so.date_order < %(date_to_excl)s
                 GROUP BY p.commercial_partner_id
                """,
                company=company.id,
                date_from=date_from,
                date_to_excl=date_to + relativedelta(days=1),
            )
        return SQL(
            """
            SELECT m.commercial_partner_id AS partner_id,
                   SUM(m.amount_untaxed_signed) AS revenue
              FROM account_move m
             WHERE m.company_id = %(company)s
               AND m.state = 'posted'
               AND m.move_type IN ('out_invoice', 'out_refund')
               AND m.invoice_date BETWEEN %(date_from)s AND %(date_to)s
             GROUP BY m.commercial_partner_id
            """,
            company=company.id,
            date_from=date_from,
            date_to=date_to,
        )

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

    # The set-based run: one statement computes every customer's new row (the stage), then
    # writes the rows that change, their history, and their notes.
    @api.model
    def _stage_sources(self, company, date_from, date_to):
        """What the stage reads, beyond the ranking and the current rows; extended by the cost
        figures (kam_classification_cost.py), which are computed in the same statement.

        - ``ctes``: CTEs placed first (``name AS (...)``), ``after``: CTEs placed after the
          ranking (``ranked``);
        - ``revenue``: the SELECT of ``partner_id, revenue`` that is ranked;
        - ``joins``: FULL JOINs onto the current rows ``k`` and the ranking ``n``;
        - ``keys``: their ``partner_id`` expressions; ``keep``: conditions for a joined customer
          with neither a row nor a rank to take part; ``columns``: ``expression AS name`` items.
        """
        return {
            "ctes": [],
            "after": [],
            "revenue": self._revenue_sql(company, date_from, date_to),
            "joins": [],
            "keys": [],
            "keep": [],
            "columns": [],
        }

    @api.model
    def _stage_finish(self, company, source):
        """Last step of the stage: ``source`` is a SELECT of the decided rows (every column of
        ``_stage_columns`` with its new value, and ``old_<column>`` with the current one)."""
        return source

    @api.model
    def _stage_columns(self):
        """The columns of ``kam_classification`` that a run computes and writes."""
        return ENGINE_COLUMNS

    @api.model
    def _flush_stage_sources(self, company):
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

        Every customer that is ranked, already has a row, or is brought in by
        ``_stage_sources`` is decided; ``stage`` keeps those whose row must be written (new,
        or any value of ``_stage_columns`` differs): ``partner_id``, ``row_id`` (NULL for a
        new row), ``manager_id``, ``old_tier``, ``moved`` (the tier changes) and each column
        of ``_stage_columns`` with its new value. The decision rule is
        ``tier_rules.decide_sql``; a rerun on the same day is the same run, so it does not
        count a run below the tier twice.
        """
        date_from, date_to = self._window(company, run_date)
        sources = self._stage_sources(company, date_from, date_to)
        columns = self._stage_columns()

        def ident(name, prefix=""):
            return SQL.identifier(prefix + name)

        new_tier, new_runs = decide_sql(
            SQL("u.old_tier"), SQL("u.computed_tier"), SQL("u.runs"), company.kam_demotion_grace, SQL("u.lock_kept")
        )
        keep = SQL("")
        if sources["keep"]:
            keep = SQL("WHERE k.id IS NOT NULL OR n.partner_id IS NOT NULL OR %s", SQL(" OR ").join(sources["keep"]))
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
            ctes=SQL("").join(SQL("%s, ", cte) for cte in sources["ctes"]),
            after=SQL("").join(SQL("%s, ", cte) for cte in sources["after"]),
            ranking=self._rank_sql(company, sources["revenue"]),
            columns=SQL(", ").join(ident(name) for name in columns),
            company=company.id,
            keys=SQL(", ").join([SQL("k.partner_id"), SQL("n.partner_id"), *sources["keys"]]),
            old_columns=SQL(", ").join(SQL("k.%s AS %s", ident(name), ident(name, "old_")) for name in columns),
            run_date=run_date,
            extra_columns=SQL("").join(SQL(", %s", column) for column in sources["columns"]),
            joins=SQL(" ").join(sources["joins"]),
            keep=keep,
            new_tier=new_tier,
            new_runs=new_runs,
            x_old=SQL(", ").join(SQL("x.%s", ident(name, "old_")) for name in columns),
            x_new=SQL(", ").join(SQL("x.%s", ident(name)) for name in columns),
            finish=self._stage_finish(company, SQL("SELECT * FROM classified")),
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
    def _acquire_run_lock(self, company):
        """Serialise runs per company: a second run at the same time stops with a message."""
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", _RUN_LOCK_KEY, company.id))
        if not self.env.cr.fetchone()[0]:
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
                               FILTER (WHERE s.moved AND s.tier = 'a' AND s.manager_id IS NULL) AS unassigned,
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
