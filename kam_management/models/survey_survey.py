from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class SurveySurvey(models.Model):
    """A survey the key-account programme can send: it names its recommendation question."""

    _inherit = "survey.survey"

    kam_recommendation_question_id = fields.Many2one(
        "survey.question",
        string="Recommendation question",
        domain="[('survey_id', '=', id), ('question_type', '=', 'scale')]",
        ondelete="set null",
        copy=False,
        help="The 0–10 question “How likely are you to recommend us?” whose answers make the "
        "Net Promoter Score of the key accounts. A survey without one cannot be sent to them.",
    )

    @api.constrains("kam_recommendation_question_id")
    def _check_kam_recommendation_question(self):
        for survey in self:
            question = survey.kam_recommendation_question_id
            if not question:
                continue
            if question.survey_id != survey:
                raise ValidationError(
                    _(
                        "The recommendation question of “%(survey)s” must be one of its own questions.",
                        survey=survey.title,
                    )
                )
            if question.question_type != "scale" or (question.scale_min, question.scale_max) != (0, 10):
                raise ValidationError(
                    _(
                        "The recommendation question of “%(survey)s” must be a scale from 0 to 10: "
                        "change “%(question)s” to such a scale or choose another question.",
                        survey=survey.title,
                        question=question.title,
                    )
                )

    def copy(self, default=None):
        """A copy keeps knowing its recommendation question: the copied question of the same place."""
        copies = super().copy(default=default)
        for survey, new in zip(self, copies, strict=True):
            question = survey.kam_recommendation_question_id
            if not question:
                continue
            position = survey.question_ids.ids.index(question.id)
            if position < len(new.question_ids):
                new.kam_recommendation_question_id = new.question_ids[position]
        return copies

    def _kam_check_usable(self):
        """Refuse a survey that cannot make a Net Promoter Score."""
        for survey in self:
            if not survey.kam_recommendation_question_id:
                raise ValidationError(
                    _(
                        "The survey “%(survey)s” has no recommendation question: open it, set its "
                        "“Recommendation question” (a 0–10 scale), then choose it again.",
                        survey=survey.title,
                    )
                )
