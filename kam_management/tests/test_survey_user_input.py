from datetime import timedelta

from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from ..models.survey_user_input import add_working_days
from .survey_common import SurveyCommon


@tagged("post_install", "-at_install")
class TestSurveyFigures(SurveyCommon):
    """The customer's answers become the account's figures: NPS, satisfaction, response rate."""

    def test_no_answers_no_score(self):
        """An account nobody answered for has no NPS and no answers, not an NPS of 0 that looks real."""
        partner = self._figures()
        self.assertEqual(partner.kam_survey_answer_count, 0)
        self.assertFalse(partner.kam_survey_last_answer_date)
        row = self.Answer._kam_survey_figures(self.company, self.day, self.account.ids)
        self.assertEqual(row, {}, "no invitation, no figures row")
        self.env["kam.kpi.snapshot"]._take_snapshots(self.company, self.day, alerts=False)
        snapshot = self.env["kam.kpi.snapshot"].search([("partner_id", "=", self.account.id)])
        self.assertFalse(snapshot.satisfaction_source, "nothing to say about satisfaction without answers or reviews")

    def test_one_answer(self):
        self._answer(self.bea, 10, days_ago=5)
        partner = self._figures()
        self.assertEqual(partner.kam_nps, 100.0)
        self.assertEqual(partner.kam_survey_answer_count, 1)
        self.assertEqual(partner.kam_survey_response_rate, 100.0)

    def test_all_promoters_and_all_detractors(self):
        self._answer(self.bea, 9, days_ago=10)
        self._answer(self.otto, 10, days_ago=20)
        self.assertEqual(self._figures().kam_nps, 100.0)
        self._answer(self.olaf, 0, days_ago=3)
        self._answer(self.olaf, 6, days_ago=4)
        self.assertEqual(self._figures(self.other).kam_nps, -100.0, "0 and 6 are both detractors")

    def test_mixed_answers_window_and_rate(self):
        """2 promoters, 1 passive, 1 detractor: (2 - 1) / 4 = 25 %; an answer older than 12 months
        and an invitation not answered change what they should and nothing else."""
        self._answer(self.bea, 9, days_ago=10, service=5)
        self._answer(self.otto, 10, days_ago=40, service=3)
        self._answer(self.bea, 7, days_ago=100)
        self._answer(self.otto, 2, days_ago=200)
        self._answer(self.bea, 0, days_ago=400)  # outside the 12 months
        self._answer(self.otto, 0, done=False)  # invited, not answered
        partner = self._figures()
        self.assertEqual(partner.kam_nps, 25.0)
        self.assertEqual(partner.kam_survey_answer_count, 4)
        self.assertEqual(partner.kam_survey_satisfaction, 7.5, "5/5 is 10 and 3/5 is 5 on 0–10")
        self.assertEqual(partner.kam_survey_response_rate, 80.0, "4 of the 5 invitations of the window answered")
        self.assertEqual(partner.kam_nps_latest, 100.0, "the last round (90 days up to the last answer): 9 and 10")
        self.assertEqual(partner.kam_survey_last_answer_date, self.env.cr.now().date() - timedelta(days=10))

    def test_figures_per_company(self):
        """An answer counts for the company that asked, not for another."""
        other_company = self.setup_other_company()["company"]
        self._answer(self.bea, 0, days_ago=2, company=other_company)
        self._answer(self.bea, 10, days_ago=2)
        self.assertEqual(self._figures().kam_nps, 100.0)
        self.assertEqual(self._figures(company=other_company).kam_nps, -100.0)


@tagged("post_install", "-at_install")
class TestSurveyHealth(SurveyCommon):
    """Snapshot, health and plan read the same figures as the partner form."""

    def test_snapshot_health_and_objective_agree_with_the_partner(self):
        self.env["kam.account.review"].create({"plan_id": self.plan.id, "date": self.day, "satisfaction_score": 9.0})
        Snapshot = self.env["kam.kpi.snapshot"]
        Snapshot._take_snapshots(self.company, self.day, alerts=False)
        before = Snapshot.search([("partner_id", "=", self.account.id), ("date", "=", self.day)])
        self.assertEqual(before.satisfaction_source, "kam")
        self.assertEqual(before.satisfaction, 9.0)
        # The rerun of the day replaces the row: keep what it said.
        before_loss, before_score = before.health_loss_satisfaction, before.health_score

        self._answer(self.bea, 3, days_ago=3, service=2)
        self._answer(self.otto, 9, days_ago=3, service=3)
        Snapshot._take_snapshots(self.company, self.day, alerts=False)
        after = Snapshot.search([("partner_id", "=", self.account.id), ("date", "=", self.day)])
        partner = self._figures()
        self.assertEqual(after.customer_nps, partner.kam_nps)
        self.assertEqual(after.customer_nps, 0.0)
        self.assertAlmostEqual(after.customer_satisfaction, partner.kam_survey_satisfaction)
        self.assertAlmostEqual(after.customer_satisfaction, 3.75)
        self.assertEqual(after.survey_answer_count, 2)
        self.assertEqual(after.satisfaction_source, "customer", "the customer's score replaces the KAM's own")
        self.assertAlmostEqual(after.satisfaction, 3.75)
        self.assertEqual(after.review_score, 9.0, "the KAM's assessment stays beside it")
        self.assertGreater(after.health_loss_satisfaction, before_loss)
        self.assertLess(after.health_score, before_score, "the health score moves with the customer's voice")
        self.assertIn("survey answers", after.health_explanation)

        objective = self.env["kam.account.plan.objective"].create(
            {"plan_id": self.plan.id, "measure": "satisfaction", "target": 8.0}
        )
        self.assertAlmostEqual(objective.actual, 3.75, places=2)


@tagged("post_install", "-at_install")
class TestSurveyLoop(SurveyCommon):
    """A detractor's answer gets a call back from the KAM; the loop closes with what was done."""

    def _followups(self, partner):
        return self.env["mail.activity"].search([("res_model", "=", "res.partner"), ("res_id", "=", partner.id)])

    def test_detractor_creates_a_call_back(self):
        answer = self._answer(self.bea, 4)
        activity = self._followups(self.account)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.kam)
        self.assertEqual(activity.summary, "Call back Bea Buyer about their answer")
        self.assertEqual(
            activity.activity_type_id, self.env.ref("kam_management.mail_activity_type_kam_survey_callback")
        )
        self.assertEqual(activity.date_deadline, add_working_days(self.env.cr.now().date(), 2))
        self.assertIn(str(answer.id), activity.note, "the answer is linked from the to-do")
        self.assertEqual(answer.kam_loop_state, "open")
        self.assertEqual(answer.kam_activity_id, activity)
        self.assertEqual(self._figures().kam_survey_open_detractor_count, 1)
        Snapshot = self.env["kam.kpi.snapshot"]
        Snapshot._take_snapshots(self.company, self.day, alerts=False)
        card = Snapshot.search([("partner_id", "=", self.account.id), ("is_latest", "=", True)])
        self.assertEqual(card.survey_open_detractor_count, 1, "the dashboard card shows it")

    def test_passive_light_follow_up_promoter_none(self):
        self._answer(self.bea, 10)
        self.assertFalse(self._followups(self.account), "a promoter needs no follow-up")
        answer = self._answer(self.otto, 8)
        activity = self._followups(self.account)
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_todo"))
        self.assertEqual(activity.summary, "Follow up with Otto Owner on their answer")
        self.assertEqual(answer.kam_loop_state, "open")

    def test_close_the_loop(self):
        answer = self._answer(self.bea, 2)
        with self.assertRaisesRegex(UserError, "What was done"):
            answer.with_user(self.kam).action_kam_close_loop()
        self.assertEqual(answer.kam_loop_state, "open")
        with Form(answer.with_user(self.kam), view="kam_management.survey_user_input_view_form_kam") as form:
            form.kam_loop_note = "Called Bea; a delivery review with logistics next week."
        answer.with_user(self.kam).action_kam_close_loop()
        self.assertEqual(answer.kam_loop_state, "closed")
        self.assertTrue(answer.kam_loop_closed_on)
        self.assertFalse(self._followups(self.account), "the to-do is done")
        with self.assertRaises(UserError):
            answer.with_user(self.kam).action_kam_close_loop()

    def test_done_activity_closes_the_loop_and_rates_the_kam(self):
        first = self._answer(self.bea, 1)
        second = self._answer(self.otto, 5)
        first.kam_activity_id.with_user(self.kam).action_feedback(feedback="Called her back, issue solved")
        self.assertEqual(first.kam_loop_state, "closed")
        self.assertEqual(first.kam_loop_note, "Called her back, issue solved")
        self.assertEqual(second.kam_loop_state, "open")
        row = self.env["kam.portfolio"].search([("company_id", "=", self.company.id), ("user_id", "=", self.kam.id)])
        self.assertEqual(row.survey_loop_count, 2)
        self.assertEqual(row.survey_closed_loop_rate, 50.0)
        self.assertGreaterEqual(row.survey_time_to_close, 0.0)
