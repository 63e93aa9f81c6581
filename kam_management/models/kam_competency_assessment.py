from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, format_date

from ..const import KAM_GROUP
from .kam_classification import group_id
from .kam_competency import LEVEL_MAX, LEVEL_MIN


class KamCompetencyAssessment(models.Model):
    """The level a Key Account Manager showed in one competency on one date.

    Assessments are never overwritten by newer ones: the latest per KAM and competency is
    the current one (``is_current``) and the older ones remain as history.
    """

    _name = "kam.competency.assessment"
    _description = "Key Account Manager competency assessment"
    _order = "date desc, id desc"

    user_id = fields.Many2one(
        "res.users",
        string="Key Account Manager",
        required=True,
        index=True,
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    competency_id = fields.Many2one("kam.competency", required=True, index=True, ondelete="restrict")
    company_id = fields.Many2one(related="competency_id.company_id", store=True, index=True)
    category = fields.Selection(related="competency_id.category", store=True)
    level = fields.Integer(required=True, help="Assessed level, from 1 (beginner) to 5 (expert).")
    date = fields.Date(required=True, default=fields.Date.context_today, index=True)
    assessor_id = fields.Many2one("res.users", default=lambda self: self.env.user)
    evidence = fields.Text(help="What the level is based on: deals, plans, reviews, observed meetings.")
    notes = fields.Text()
    is_current = fields.Boolean(
        string="Current",
        readonly=True,
        index=True,
        help="The latest assessment of this KAM in this competency; the older ones are history.",
    )

    @api.depends("user_id", "competency_id", "level")
    def _compute_display_name(self):
        for assessment in self:
            assessment.display_name = _(
                "%(manager)s – %(competency)s: %(level)s",
                manager=assessment.user_id.name or "",
                competency=assessment.competency_id.name or "",
                level=assessment.level,
            )

    @api.constrains("level")
    def _check_level(self):
        for assessment in self:
            if not LEVEL_MIN <= assessment.level <= LEVEL_MAX:
                raise ValidationError(
                    _(
                        "An assessed level must lie between %(min)s and %(max)s; %(level)s was entered.",
                        min=LEVEL_MIN,
                        max=LEVEL_MAX,
                        level=assessment.level,
                    )
                )

    @api.constrains("date")
    def _check_date(self):
        today = fields.Date.context_today(self)
        for assessment in self:
            if assessment.date > today:
                raise ValidationError(
                    _(
                        "An assessment cannot be dated in the future (%(date)s): record it on the day it is made.",
                        date=format_date(self.env, assessment.date),
                    )
                )

    @api.constrains("user_id", "competency_id")
    def _check_user_is_kam(self):
        for company in self.company_id:
            assessments = self.filtered(lambda a, company=company: a.company_id == company)
            users = assessments.user_id.sudo()
            valid = users.search(
                [
                    ("id", "in", users.ids),
                    ("groups_id", "in", group_id(self.env, KAM_GROUP)),
                    ("share", "=", False),
                    ("company_ids", "in", company.id),
                ]
            )
            invalid = users - valid
            if invalid:
                raise ValidationError(
                    _(
                        "%(users)s cannot be assessed in the competencies of %(company)s: only active "
                        "Key Account Managers of the company are.",
                        users=", ".join(invalid.mapped("name")),
                        company=company.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        assessments = super().create(vals_list)
        assessments._refresh_current(assessments._pairs())
        return assessments

    def write(self, vals):
        moved = {"user_id", "competency_id", "date"} & set(vals)
        before = self._pairs() if moved else set()
        res = super().write(vals)
        if moved:
            self._refresh_current(before | self._pairs())
        return res

    def unlink(self):
        pairs = self._pairs()
        res = super().unlink()
        self._refresh_current(pairs)
        return res

    def _pairs(self):
        return {(a.user_id.id, a.competency_id.id) for a in self}

    @api.model
    def _refresh_current(self, pairs):
        """Mark the latest assessment of each (KAM, competency) pair current, in one statement."""
        if not pairs:
            return
        self.flush_model(["user_id", "competency_id", "date", "is_current"])
        users, competencies = zip(*pairs, strict=True)
        self.env.cr.execute(
            SQL(
                """
                WITH pairs AS (
                    SELECT * FROM unnest(%(users)s::int[], %(competencies)s::int[]) AS p(user_id, competency_id)
                ),
                latest AS (
                    SELECT DISTINCT ON (a.user_id, a.competency_id) a.id
                      FROM kam_competency_assessment a
                      JOIN pairs p ON p.user_id = a.user_id AND p.competency_id = a.competency_id
                     ORDER BY a.user_id, a.competency_id, a.date DESC, a.id DESC
                )
                UPDATE kam_competency_assessment a
                   SET is_current = (a.id IN (SELECT id FROM latest))
                  FROM pairs p
                 WHERE p.user_id = a.user_id AND p.competency_id = a.competency_id
                   AND a.is_current IS DISTINCT FROM (a.id IN (SELECT id FROM latest))
                """,
                users=list(users),
                competencies=list(competencies),
            )
        )
        self.invalidate_model(["is_current"])
