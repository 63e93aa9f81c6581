import logging
from collections import defaultdict

from dateutil.relativedelta import relativedelta
from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.tier_rules import TIER_RANK, decide

_logger = logging.getLogger(__name__)

TIERS = [("a", "A – Key account"), ("b", "B"), ("c", "C")]

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

    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade")
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade"
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    tier = fields.Selection(TIERS, readonly=True, index=True)
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
        index=True,
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
                        "company_id": rec.company_id.id,
                        "partner_id": rec.partner_id.id,
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
            rec._sync_partner_tiers()
            rec.partner_id.message_post(
                body=_(
                    "Key account tier locked at %(tier)s for %(company)s: %(reason)s",
                    tier=tier_label.get(tier, _("not classified")),
                    company=rec.company_id.name,
                    reason=reason,
                ),
                subtype_xmlid="mail.mt_note",
            )

    def _sync_partner_tiers(self):
        """Mirror the tier of these rows onto ``res.partner.kam_tier`` (per company)."""
        if not self:
            return
        self.flush_recordset(["tier", "partner_id", "company_id"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE res_partner p
                   SET kam_tier = COALESCE(p.kam_tier, '{}'::jsonb)
                                  || jsonb_build_object(k.company_id::text, k.tier)
                  FROM kam_classification k
                 WHERE k.id = ANY(%(ids)s) AND p.id = k.partner_id
                """,
                ids=self.ids,
            )
        )
        self.env["res.partner"].invalidate_model(["kam_tier"])

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
        """The aggregate-and-rank statement: one row per customer with positive revenue.

        The Pareto cut multiplies instead of dividing (``above * 100 < threshold * total``)
        so that no rounding can move a customer across a line; the customer that crosses
        a line keeps the tier of that line, because what ranks above it is still below it.
        """
        date_from, date_to = self._window(company, run_date)
        return SQL(
            """
            WITH revenue AS (%(revenue)s),
            positive AS (SELECT partner_id, revenue FROM revenue WHERE revenue > 0),
            ranked AS (
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
              FROM ranked
            """,
            revenue=self._revenue_sql(company, date_from, date_to),
            threshold_a=company.kam_threshold_a,
            threshold_b=company.kam_threshold_b,
        )

    @api.model
    def _fetch_candidates(self, company, run_date):
        """Rows of the ranking joined to the current state, where anything may change.

        One statement; unchanged customers never leave the database.
        """
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["account.move"].flush_model(
            ["state", "move_type", "invoice_date", "company_id", "commercial_partner_id", "amount_untaxed_signed"]
        )
        if company.kam_revenue_source == "sale_order":
            self.env["sale.order"].flush_model(["state", "date_order", "company_id", "partner_id", "amount_untaxed", "currency_rate"])
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                WITH new AS (%(ranking)s),
                cur AS (SELECT * FROM kam_classification WHERE company_id = %(company)s)
                SELECT COALESCE(new.partner_id, cur.partner_id) AS partner_id,
                       cur.id AS row_id,
                       COALESCE(new.revenue, 0) AS revenue,
                       new.rank, COALESCE(new.share, 0) AS share, new.cumulative_share,
                       new.computed_tier,
                       cur.tier, cur.computed_tier AS old_computed_tier,
                       COALESCE(cur.runs_below, 0) AS runs_below, cur.runs_below_date,
                       COALESCE(cur.locked AND (cur.lock_until IS NULL OR cur.lock_until >= %(run_date)s), false) AS locked,
                       COALESCE(cur.locked AND cur.lock_until < %(run_date)s, false) AS lock_expired,
                       cur.manager_id,
                       (cur.id IS NULL
                        OR cur.computed_tier IS DISTINCT FROM new.computed_tier
                        OR cur.revenue IS DISTINCT FROM COALESCE(new.revenue, 0)
                        OR cur.rank IS DISTINCT FROM new.rank
                        OR cur.share IS DISTINCT FROM COALESCE(new.share, 0)
                        OR cur.cumulative_share IS DISTINCT FROM new.cumulative_share) AS figures_differ
                  FROM new
                  FULL OUTER JOIN cur ON cur.partner_id = new.partner_id
                 WHERE cur.id IS NULL
                    OR cur.tier IS DISTINCT FROM new.computed_tier
                    OR cur.computed_tier IS DISTINCT FROM new.computed_tier
                    OR cur.runs_below <> 0
                    OR (cur.locked AND cur.lock_until < %(run_date)s)
                    OR cur.revenue IS DISTINCT FROM COALESCE(new.revenue, 0)
                    OR cur.rank IS DISTINCT FROM new.rank
                    OR cur.share IS DISTINCT FROM COALESCE(new.share, 0)
                    OR cur.cumulative_share IS DISTINCT FROM new.cumulative_share
                """,
                ranking=self._ranking_sql(company, run_date),
                company=company.id,
                run_date=run_date,
            )
        )
        return self.env.cr.dictfetchall()


    @api.model
    def _compute_changes(self, company, run_date):
        """Apply the decision rule to the candidates; return the rows that really change."""
        grace = company.kam_demotion_grace
        changes = []
        for row in self._fetch_candidates(company, run_date):
            current = row["tier"] or False
            computed = row["computed_tier"] or False
            runs_below = row["runs_below"]
            if row["runs_below_date"] == run_date and runs_below:
                # A rerun on the same day is the same run: it must not count twice.
                runs_below -= 1
            new_tier, new_runs = decide(current, computed, runs_below, grace, locked=row["locked"])
            row.update(
                old_tier=current,
                new_tier=new_tier,
                new_runs_below=new_runs,
                new_runs_below_date=run_date if new_runs else None,
            )
            if row["figures_differ"] or row["lock_expired"] or new_tier != current or new_runs != row["runs_below"]:
                changes.append(row)
        return changes

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
        same data finds nothing to change and writes nothing but its run record.
        """
        run_date = run_date or fields.Date.context_today(self)
        self._acquire_run_lock(company)
        changes = self._compute_changes(company, run_date)
        run = self.env["kam.classification.run"].sudo().create(
            {"company_id": company.id, "date": run_date, "user_id": self.env.uid}
        )
        if changes:
            self._apply_changes(company, run, run_date, changes)
        run._after_apply(changes)
        return run

    @api.model
    def _apply_changes(self, company, run, run_date, changes):
        """Write the changed rows, then their history and chatter, set-based."""
        cr = self.env.cr
        now = fields.Datetime.now()
        uid = self.env.uid
        new_rows = [c for c in changes if c["row_id"] is None]
        old_rows = [c for c in changes if c["row_id"] is not None]

        def col(rows, key):
            return [r[key] for r in rows]

        def tier_col(rows, key):
            return [r[key] or None for r in rows]

        if new_rows:
            cr.execute(
                SQL(
                    """
                    INSERT INTO kam_classification (
                        company_id, partner_id, tier, computed_tier, tier_since, is_key_account,
                        revenue, rank, share, cumulative_share, runs_below, runs_below_date,
                        locked, lock_differs, create_uid, create_date, write_uid, write_date)
                    SELECT %(company)s, v.partner_id, v.tier, v.computed_tier,
                           CASE WHEN v.tier IS NULL THEN NULL ELSE %(run_date)s::date END,
                           COALESCE(v.tier = 'a', false), v.revenue, v.rank, v.share,
                           v.cumulative_share, 0, NULL, false, false,
                           %(uid)s, %(now)s, %(uid)s, %(now)s
                      FROM unnest(%(partner_ids)s::int[], %(tiers)s::varchar[], %(computed)s::varchar[],
                                  %(revenues)s::numeric[], %(ranks)s::int[], %(shares)s::float8[],
                                  %(cum_shares)s::float8[])
                           AS v(partner_id, tier, computed_tier, revenue, rank, share, cumulative_share)
                    RETURNING partner_id, id
                    """,
                    company=company.id,
                    run_date=run_date,
                    uid=uid,
                    now=now,
                    partner_ids=col(new_rows, "partner_id"),
                    tiers=tier_col(new_rows, "new_tier"),
                    computed=tier_col(new_rows, "computed_tier"),
                    revenues=col(new_rows, "revenue"),
                    ranks=col(new_rows, "rank"),
                    shares=col(new_rows, "share"),
                    cum_shares=col(new_rows, "cumulative_share"),
                )
            )
            ids = dict(cr.fetchall())
            for row in new_rows:
                row["row_id"] = ids[row["partner_id"]]
        if old_rows:
            cr.execute(
                SQL(
                    """
                    UPDATE kam_classification k
                       SET tier = v.tier,
                           computed_tier = v.computed_tier,
                           tier_since = CASE WHEN k.tier IS NOT DISTINCT FROM v.tier THEN k.tier_since
                                             WHEN v.tier IS NULL THEN NULL
                                             ELSE %(run_date)s::date END,
                           is_key_account = COALESCE(v.tier = 'a', false),
                           revenue = v.revenue, rank = v.rank, share = v.share,
                           cumulative_share = v.cumulative_share,
                           runs_below = v.runs_below, runs_below_date = v.runs_below_date,
                           locked = k.locked AND NOT v.lock_expired,
                           lock_reason = CASE WHEN v.lock_expired THEN NULL ELSE k.lock_reason END,
                           lock_until = CASE WHEN v.lock_expired THEN NULL ELSE k.lock_until END,
                           lock_differs = COALESCE(k.locked AND NOT v.lock_expired
                                                   AND v.tier IS DISTINCT FROM v.computed_tier, false),
                           write_uid = %(uid)s, write_date = %(now)s
                      FROM unnest(%(row_ids)s::int[], %(tiers)s::varchar[], %(computed)s::varchar[],
                                  %(revenues)s::numeric[], %(ranks)s::int[], %(shares)s::float8[],
                                  %(cum_shares)s::float8[], %(runs)s::int[], %(runs_dates)s::date[],
                                  %(expired)s::bool[])
                           AS v(id, tier, computed_tier, revenue, rank, share, cumulative_share,
                                runs_below, runs_below_date, lock_expired)
                     WHERE k.id = v.id
                    """,
                    run_date=run_date,
                    uid=uid,
                    now=now,
                    row_ids=col(old_rows, "row_id"),
                    tiers=tier_col(old_rows, "new_tier"),
                    computed=tier_col(old_rows, "computed_tier"),
                    revenues=col(old_rows, "revenue"),
                    ranks=col(old_rows, "rank"),
                    shares=col(old_rows, "share"),
                    cum_shares=col(old_rows, "cumulative_share"),
                    runs=col(old_rows, "new_runs_below"),
                    runs_dates=col(old_rows, "new_runs_below_date"),
                    expired=col(old_rows, "lock_expired"),
                )
            )
        self.invalidate_model()
        # The partner's figures are read from these rows: drop what the cache holds of them.
        self.env["res.partner"].invalidate_model()
        moved = [c for c in changes if c["new_tier"] != c["old_tier"]]
        if moved:
            self.browse(col(moved, "row_id"))._sync_partner_tiers()
            self.env["kam.tier.history"]._record_engine_changes(company, run, run_date, moved)
