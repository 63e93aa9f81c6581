from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import Command
from odoo.tools import SQL

from odoo.addons.mail.tests.common import mail_new_test_user

from .common import KamCommon


class SurveyCommon(KamCommon):
    """Key accounts with contacts, ready to be surveyed in the test company.

    - Survey Account (A, KAM Mario): buyer Bea (email, decision maker), Otto (email) and Nemo
      (no email, influencer) on its plan's stakeholder map;
    - Other Account (A, KAM Olga): its contact Olaf (email);
    - Small Account (B, no KAM): its contact Sid (email).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"kam_threshold_a": 90.0, "kam_threshold_b": 99.0})
        cls.day = cls.env.cr.now().date()
        cls.survey = cls.env.ref("kam_management.survey_key_account_relationship")
        cls.recommend = cls.survey.kam_recommendation_question_id
        cls.service = cls.env.ref("kam_management.survey_key_account_relationship_q_service")
        cls.Answer = cls.env["survey.user_input"]
        cls.other_kam = mail_new_test_user(
            cls.env,
            login="kam_manager_olga",
            name="Manager Olga",
            groups="base.group_user,kam_management.group_kam_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.account = cls._customer("Survey Account")
        cls.other = cls._customer("Other Account")
        cls.small = cls._customer("Small Account")
        Partner = cls.env["res.partner"]
        cls.bea = Partner.create({"name": "Bea Buyer", "parent_id": cls.account.id, "email": "bea@survey.example"})
        cls.otto = Partner.create({"name": "Otto Owner", "parent_id": cls.account.id, "email": "otto@survey.example"})
        cls.nemo = Partner.create({"name": "Nemo Nomail", "parent_id": cls.account.id})
        cls.olaf = Partner.create({"name": "Olaf Other", "parent_id": cls.other.id, "email": "olaf@other.example"})
        cls.sid = Partner.create({"name": "Sid Small", "parent_id": cls.small.id, "email": "sid@small.example"})
        cls._post_invoices(
            [
                (cls.account, 6000, cls.day - relativedelta(months=1)),
                (cls.other, 3000, cls.day - relativedelta(months=1)),
                (cls.small, 100, cls.day - relativedelta(months=1)),
            ]
        )
        cls.Classification._reclassify_company(cls.company, cls.day)
        cls.account.with_company(cls.company).kam_manager_id = cls.kam
        cls.other.with_company(cls.company).kam_manager_id = cls.other_kam
        cls.plan = cls._plan(cls.account, cls.kam)
        cls.env["kam.account.plan.stakeholder"].create(
            [
                {"plan_id": cls.plan.id, "partner_id": cls.otto.id, "role": "user"},
                {"plan_id": cls.plan.id, "partner_id": cls.bea.id, "role": "decision_maker"},
                {"plan_id": cls.plan.id, "partner_id": cls.nemo.id, "role": "influencer"},
            ]
        )

    @classmethod
    def _answer(cls, contact, score, days_ago=0, service=None, done=True, company=None):
        """An invitation of ``contact`` answered ``days_ago`` days ago with ``score`` to the
        recommendation question (and ``service`` on 1–5), submitted the way the survey page does."""
        # As the survey page does it: the customer's answers are written as superuser.
        answer = cls.Answer.sudo().create(
            {
                "survey_id": cls.survey.id,
                "partner_id": contact.id,
                "email": contact.email,
                "kam_company_id": (company or cls.company).id,
            }
        )
        if not done:
            return answer.sudo(False)
        lines = [
            {"user_input_id": answer.id, "question_id": cls.recommend.id, "answer_type": "scale", "value_scale": score}
        ]
        if service is not None:
            lines.append(
                {
                    "user_input_id": answer.id,
                    "question_id": cls.service.id,
                    "answer_type": "scale",
                    "value_scale": service,
                }
            )
        cls.env["survey.user_input.line"].sudo().create(lines)
        answer._mark_done()
        if days_ago:
            cls._backdate(answer, days_ago)
        return answer.sudo(False)

    @classmethod
    def _backdate(cls, answers, days_ago, invited_days_before=1):
        answered = cls.env.cr.now() - timedelta(days=days_ago)
        answers.filtered(lambda a: a.state == "done").end_datetime = answered
        answers.flush_recordset()
        cls.env.cr.execute(
            SQL(
                "UPDATE survey_user_input SET create_date = %s WHERE id = ANY(%s)",
                answered - timedelta(days=invited_days_before),
                answers.ids,
            )
        )
        answers.invalidate_recordset(["create_date"])

    def _figures(self, partner=None, company=None):
        partner = (partner or self.account).with_company(company or self.company)
        partner.invalidate_recordset()
        return partner
