from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.mail.tests.common import mail_new_test_user

from .survey_common import SurveyCommon


@tagged("post_install", "-at_install")
class TestSurveySecurity(SurveyCommon):
    """A KAM reads the answers of their own accounts, a director all, a salesperson none of the
    scores; another company's answers stay in that company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mine = cls._answer(cls.bea, 3)
        cls.theirs = cls._answer(cls.olaf, 10)

    def test_kam_sees_own_accounts_only(self):
        Answer = self.Answer.with_user(self.kam)
        self.assertEqual(Answer.search([("kam_company_id", "!=", False)]), self.mine)
        self.assertEqual(self.mine.with_user(self.kam).kam_recommendation_score, 3)
        with self.assertRaises(AccessError):
            self.theirs.with_user(self.kam).read(["kam_recommendation_score"])
        self.assertEqual(self.env["survey.user_input.line"].with_user(self.kam).search([]).user_input_id, self.mine)

    def test_kam_cannot_create_or_delete_answers(self):
        with self.assertRaises(AccessError):
            self.mine.with_user(self.kam).unlink()
        with self.assertRaises(AccessError):
            self.Answer.with_user(self.kam).create({"survey_id": self.survey.id, "kam_company_id": self.company.id})

    def test_director_sees_all(self):
        answers = self.Answer.with_user(self.director).search([("kam_company_id", "!=", False)])
        self.assertEqual(answers, self.mine | self.theirs)
        self.assertTrue(self.env["kam.survey.due"].with_user(self.director).search_count([]) >= 0)

    def test_salesperson_sees_no_score(self):
        with self.assertRaises(AccessError):
            self.Answer.with_user(self.salesman).search([("kam_company_id", "!=", False)])
        with self.assertRaises(AccessError):
            self.account.with_user(self.salesman).read(["kam_nps"])
        with self.assertRaises(AccessError):
            self.account.with_user(self.salesman).read(["kam_survey_response_rate"])
        with self.assertRaises(AccessError):
            self.env["kam.survey.due"].with_user(self.salesman).search([])

    def test_other_company_answers_stay_there(self):
        company_2 = self.setup_other_company(name="Survey second company")["company"]
        elsewhere = self._answer(self.bea, 0, company=company_2)
        director = mail_new_test_user(
            self.env,
            login="kam_director_one_company",
            name="Director One Company",
            groups="base.group_user,kam_management.group_kam_director",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        answers = self.Answer.with_user(director).search([("kam_company_id", "!=", False)])
        self.assertNotIn(elsewhere, answers)
        self.assertIn(self.mine, answers)
        self.assertEqual(self.account.with_company(self.company).kam_nps, -100.0, "3 in this company")
        self.assertEqual(self.account.with_company(company_2).kam_nps, -100.0)
        self.assertEqual(self.account.with_company(company_2).kam_survey_answer_count, 1)
