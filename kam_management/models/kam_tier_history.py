from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.tools import SQL

from .kam_classification import TIERS


class KamTierHistory(models.Model):
    """One row per change of a customer's tier in a company, by the engine or by hand."""

    _name = "kam.tier.history"
    _description = "Key account tier history"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    classification_id = fields.Many2one("kam.classification", index=True, ondelete="cascade")
    run_id = fields.Many2one("kam.classification.run", index=True, ondelete="set null")
    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade")
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade"
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(required=True, default=fields.Date.context_today)
    old_tier = fields.Selection(TIERS, string="Previous tier")
    new_tier = fields.Selection(TIERS, string="New tier")
    revenue = fields.Monetary(currency_field="currency_id")
    share = fields.Float(string="Share (%)")
    cumulative_share = fields.Float(string="Cumulative share (%)")
    rank = fields.Integer()
    cause = fields.Selection(
        [("engine", "Reclassification"), ("manual", "Manual")], required=True, default="manual"
    )
    user_id = fields.Many2one("res.users", string="By", default=lambda self: self.env.user)

    @api.model
    def _record_engine_changes(self, company, run, run_date, moved):
        """Insert the history rows and the partner chatter messages of one run, in two statements."""
        cr = self.env.cr
        now = fields.Datetime.now()
        uid = self.env.uid
        labels = dict(self._fields["new_tier"]._description_selection(self.env))
        none_label = _("not classified")

        def label(tier):
            return labels.get(tier, none_label) if tier else none_label

        cr.execute(
            SQL(
                """
                INSERT INTO kam_tier_history (
                    classification_id, run_id, company_id, partner_id, date, old_tier, new_tier,
                    revenue, share, cumulative_share, rank, cause, user_id,
                    create_uid, create_date, write_uid, write_date)
                SELECT v.row_id, %(run)s, %(company)s, v.partner_id, %(run_date)s, v.old_tier, v.new_tier,
                       v.revenue, v.share, v.cumulative_share, v.rank, 'engine', %(uid)s,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(row_ids)s::int[], %(partner_ids)s::int[], %(old)s::varchar[],
                              %(new)s::varchar[], %(revenues)s::numeric[], %(shares)s::float8[],
                              %(cum_shares)s::float8[], %(ranks)s::int[])
                       AS v(row_id, partner_id, old_tier, new_tier, revenue, share, cumulative_share, rank)
                """,
                run=run.id,
                company=company.id,
                run_date=run_date,
                uid=uid,
                now=now,
                row_ids=[m["row_id"] for m in moved],
                partner_ids=[m["partner_id"] for m in moved],
                old=[m["old_tier"] or None for m in moved],
                new=[m["new_tier"] or None for m in moved],
                revenues=[m["revenue"] for m in moved],
                shares=[m["share"] for m in moved],
                cum_shares=[m["cumulative_share"] for m in moved],
                ranks=[m["rank"] for m in moved],
            )
        )
        bodies = [
            Markup("<p>%s</p>")
            % self.env._(
                "Key account tier in %(company)s: %(old)s → %(new)s (revenue %(revenue)s %(currency)s, share %(share).1f %%).",
                company=escape(company.name),
                old=label(m["old_tier"]),
                new=label(m["new_tier"]),
                revenue=f"{m['revenue']:,.2f}",
                currency=company.currency_id.name,
                share=m["share"] or 0.0,
            )
            for m in moved
        ]
        self.env["mail.message"].flush_model()
        cr.execute(
            SQL(
                """
                INSERT INTO mail_message (
                    model, res_id, record_company_id, message_type, subtype_id, body, author_id,
                    date, create_uid, create_date, write_uid, write_date)
                SELECT 'res.partner', v.partner_id, %(company)s, 'notification', %(subtype)s, v.body,
                       %(author)s, %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(partner_ids)s::int[], %(bodies)s::text[]) AS v(partner_id, body)
                """,
                company=company.id,
                subtype=self.env.ref("mail.mt_note").id,
                author=self.env.user.partner_id.id,
                now=now,
                uid=uid,
                partner_ids=[m["partner_id"] for m in moved],
                bodies=[str(b) for b in bodies],
            )
        )
        self.invalidate_model()
        self.env["mail.message"].invalidate_model()
