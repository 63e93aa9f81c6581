from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import format_date

SCORE_MIN, SCORE_MAX = 0.0, 10.0


class KamAccountReview(models.Model):
    """A periodic business review held with the customer, recorded on its account plan.

    The score of the latest review is the actual of the plan's satisfaction objectives.
    """

    _name = "kam.account.review"
    _description = "Account review"
    _order = "date desc, id desc"

    plan_id = fields.Many2one("kam.account.plan", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="plan_id.company_id", store=True, index=True)
    account_id = fields.Many2one(related="plan_id.partner_id", string="Account", store=True, index=True)
    date = fields.Date(required=True, default=fields.Date.context_today)
    participant_ids = fields.Many2many(
        "res.partner",
        string="Participants",
        help="The customer's contacts and the company's people who took part.",
    )
    satisfaction_score = fields.Float(
        string="Satisfaction (0–10)", digits=(3, 1), required=True, help="The customer's satisfaction, from 0 to 10."
    )
    went_well = fields.Text(string="What went well")
    risks = fields.Text()
    next_steps = fields.Text(string="Agreed next steps")

    @api.depends("date", "account_id")
    def _compute_display_name(self):
        for review in self:
            review.display_name = _(
                "Review of %(date)s", date=format_date(self.env, review.date) if review.date else ""
            )

    @api.constrains("satisfaction_score")
    def _check_satisfaction_score(self):
        for review in self:
            if not SCORE_MIN <= review.satisfaction_score <= SCORE_MAX:
                raise ValidationError(
                    _(
                        "A satisfaction score goes from 0 to 10; %(score)s is out of range.",
                        score=review.satisfaction_score,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        reviews = super().create(vals_list)
        for review in reviews:
            review.plan_id.message_post(
                body=_(
                    "Account review of %(date)s recorded: satisfaction %(score)s/10.",
                    date=format_date(self.env, review.date),
                    score=review.satisfaction_score,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return reviews
