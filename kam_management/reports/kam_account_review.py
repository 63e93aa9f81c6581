from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import _, api, fields, models

from .ir_actions_report import wkhtmltopdf_has_patched_qt
from .kam_report_chart import evolution_svg
from .kam_report_figures import FIGURES, change_ratio, chart_window, previous_period

# The value-versus-effort matrix as printed: rows high value then low value, columns low effort
# then high effort.
QUADRANT_GRID = (("protect", "develop"), ("streamline", "restructure"))
# Customer surveys: the comments of the latest answers printed with the account's NPS.
LAST_VERBATIMS = 3


class ReportKamAccountReview(models.AbstractModel):
    """The Key Account Review of accounts printed from customers (the current company's account).

    ``data`` may carry ``account_keys`` (``[[company id, partner id], ...]``, from the report
    dialog) and the period (``date_from``, ``date_to``); without a period, the company's
    classification window of its last run, the window of the tiers and figures on screen.
    """

    _name = "report.kam_management.report_kam_account_review"
    _description = "Key Account Review"

    @api.model
    def _get_report_values(self, docids, data=None):
        data = data or {}
        if data.get("account_keys"):
            keys = [(int(company_id), int(partner_id)) for company_id, partner_id in data["account_keys"]]
        else:
            partners = self.env["res.partner"].browse(docids or [])
            company_id = self.env.company.id
            keys = list(dict.fromkeys((company_id, partner.commercial_partner_id.id) for partner in partners))
        return self._review_values(keys, data)

    @api.model
    def _review_values(self, keys, data, plans=None):
        """The values of the template for the accounts ``keys``, checked; ``plans`` by key if chosen."""
        Scope = self.env["kam.report.scope"]
        Scope._check_account_access(keys)
        docs = self._review_docs(keys, data, plans or {})
        return {
            "doc_ids": [partner_id for _company_id, partner_id in keys],
            "doc_model": "res.partner",
            "docs": docs,
            "report_date": fields.Date.context_today(self),
            "kam_system_font": not wkhtmltopdf_has_patched_qt(),
        }

    @api.model
    def _review_docs(self, keys, data, plans):
        Scope = self.env["kam.report.scope"]
        Figures = self.env["kam.report.figures"]
        companies = self.env["res.company"].sudo().browse(list(dict.fromkeys(c for c, _p in keys)))
        # One period per company: each company's window unless the report says otherwise.
        periods = {company.id: Scope._parse_period(company, data) for company in companies}
        classifications = {(row.company_id.id, row.partner_id.id): row for row in Scope._classifications(keys)}
        figures = {}
        months_by_key = {}
        for company in companies:
            company_keys = [key for key in keys if key[0] == company.id]
            date_from, date_to = periods[company.id]
            figures.update(
                Figures._figures(
                    company_keys,
                    {"current": (date_from, date_to), "previous": previous_period(date_from, date_to)},
                )
            )
            # The chart draws the period's last twelve months, to the day, so that its months
            # add up to the headline figures of a twelve-month window.
            chart_from, chart_to, starts = chart_window(date_from, date_to)
            monthly = Figures._monthly_figures(company_keys, chart_from, chart_to)
            for key in company_keys:
                months_by_key[key] = (starts, monthly.get(key, {}), (chart_from, chart_to))
        snapshots = Figures._latest_snapshots(keys)
        plans = {**Figures._current_plans([key for key in keys if key not in plans]), **plans}
        plan_records = self.env["kam.account.plan"].sudo().browse([plan.id for plan in plans.values()])
        # Read the lines of every plan at once: objectives compute their actuals set-based.
        plan_records.objective_ids.mapped("status")
        plan_records.stakeholder_ids.mapped("last_contact_date")
        reviews = Figures._latest_reviews(keys)
        visits = Figures._recent_visits(keys, {company_id: date_to for company_id, (_d, date_to) in periods.items()})
        partners = self.env["res.partner"].sudo().browse([p for _c, p in keys])
        partners.mapped("name")
        docs = []
        for key in keys:
            company = companies.browse(key[0])
            date_from, date_to = periods[company.id]
            docs.append(
                self._review_doc(
                    company,
                    partners.browse(key[1]),
                    classifications.get(key),
                    (date_from, date_to),
                    figures,
                    months_by_key[key],
                    snapshots.get(key),
                    plans.get(key),
                    reviews.get(key),
                    visits.get(key),
                )
            )
        # Customer surveys: the customer's voice beside the KAM's assessment.
        voices = self._customer_voices(keys, companies, periods)
        for key, doc in zip(keys, docs, strict=True):
            doc["voice"] = voices.get(key, {})
        return docs

    @api.model
    def _customer_voices(self, keys, companies, periods):
        """NPS, trend against a year earlier, satisfaction and the last verbatims of each account:
        the survey figures as of the end of the report's period, read like every other screen."""
        Fmt = self.env["kam.report.format"]
        Answer = self.env["survey.user_input"].sudo()
        voices = {}
        for company in companies:
            partner_ids = [p for c, p in keys if c == company.id]
            date_to = periods[company.id][1]
            now = Answer._kam_survey_figures(company, date_to, partner_ids)
            before = Answer._kam_survey_figures(company, date_to - relativedelta(years=1), partner_ids)
            for partner_id in partner_ids:
                row, old = now.get(partner_id), before.get(partner_id) or {}
                if not row or not row["answer_count"]:
                    continue
                trend = row["nps"] - old["nps"] if old.get("nps") is not None else None
                voices[(company.id, partner_id)] = {
                    "nps": Fmt._fmt_number(row["nps"], 0),
                    "trend": Fmt._fmt_change(trend, _("pts"), digits=0) if trend is not None else "",
                    "satisfaction": Fmt._fmt_number(row["satisfaction"], 1) if row["satisfaction"] is not None else "",
                    "answers": row["answer_count"],
                    "response_rate": Fmt._fmt_percent(row["response_rate"] or 0.0),
                    "verbatims": [],
                }
        lines = (
            self.env["survey.user_input.line"]
            .sudo()
            .search(
                [
                    ("answer_type", "=", "text_box"),
                    ("user_input_id.kam_company_id", "in", companies.ids),
                    ("user_input_id.kam_account_id", "in", [p for _c, p in keys]),
                    ("user_input_id.state", "=", "done"),
                ],
                order="create_date desc, id desc",
            )
        )
        for line in lines:
            answer = line.user_input_id
            voice = voices.get((answer.kam_company_id.id, answer.kam_account_id.id))
            if voice is not None and len(voice["verbatims"]) < LAST_VERBATIMS and line.value_text_box:
                voice["verbatims"].append(
                    {
                        "text": line.value_text_box,
                        "who": answer.partner_id.name or "",
                        "date": Fmt._fmt_date(answer.end_datetime and answer.end_datetime.date()),
                        "score": answer.kam_recommendation_score,
                    }
                )
        return voices

    @api.model
    def _review_doc(self, company, partner, row, period, figures, months, snapshot, plan, review, visits):
        Fmt = self.env["kam.report.format"]
        currency = company.currency_id
        date_from, date_to = period
        tiers = Fmt._selection_labels("kam.classification", "tier")
        quadrants = Fmt._selection_labels("kam.classification", "quadrant")
        prev_from, prev_to = previous_period(date_from, date_to)
        key = (company.id, partner.id)
        empty = dict.fromkeys(FIGURES, 0.0)
        current = figures.get(("current", *key), empty)
        previous = figures.get(("previous", *key), empty)
        today = fields.Date.context_today(self)
        Plan = self.env["kam.account.plan"].sudo()
        plan = plan or Plan.browse()
        tier_label = tiers.get(row.tier, "") if row and row.tier else ""
        actions = plan.action_ids.filtered(lambda action: action.state == "todo").sorted(
            lambda action: (action.date_deadline, action.id)
        )
        return {
            "company": company,
            "partner": partner,
            "currency": currency,
            "classification": row,
            "manager": row.manager_id if row else self.env["res.users"],
            "tier": row.tier if row else False,
            "tier_label": tier_label,
            "tier_since": Fmt._fmt_date(row.tier_since) if row and row.tier else "",
            "rank": row.rank if row and row.tier else 0,
            "period": Fmt._fmt_period(date_from, date_to),
            "previous_period": Fmt._fmt_period(prev_from, prev_to),
            "kpis": self._headline_kpis(current, previous, currency, snapshot),
            "chart": self._chart(months, currency),
            "chart_period": Fmt._fmt_period(*months[2]),
            "month_figures": self._month_figures(months),
            "months": self._month_table(months),
            "quadrant": row.quadrant if row else False,
            "quadrant_label": quadrants.get(row.quadrant, "") if row and row.quadrant else "",
            "quadrant_grid": [
                [{"code": code, "label": quadrants[code], "hint": self._quadrant_hints()[code]} for code in line]
                for line in QUADRANT_GRID
            ],
            "value_effort": self._value_effort(row, currency),
            "plan": plan,
            "plan_period": plan._period_label() if plan else "",
            "plan_state": dict(plan._fields["state"]._description_selection(self.env)).get(plan.state, "")
            if plan
            else "",
            "objectives": self._objectives(plan, currency),
            "actions": [
                {
                    "name": action.name,
                    "owner": action.user_id.name or "",
                    "deadline": Fmt._fmt_date(action.date_deadline),
                    "overdue": bool(action.date_deadline and action.date_deadline < today),
                }
                for action in actions
            ],
            "stakeholders": self._stakeholders(plan),
            "visits": self._visits(visits),
            "review": self._review(review),
            "health": self._health(snapshot),
        }

    # ------------------------------------------------------------------
    # Blocks
    # ------------------------------------------------------------------
    @api.model
    def _headline_kpis(self, current, previous, currency, snapshot):
        Fmt = self.env["kam.report.format"]
        pts = _("pts")

        def rate(figures, name):
            return figures[name] * 100.0 / figures["revenue"] if figures["revenue"] else None

        def money(label, name, lower_is_better=False):
            return {
                "label": label,
                "current": Fmt._fmt_amount(current[name], currency),
                "previous": Fmt._fmt_amount(previous[name], currency),
                "change": Fmt._fmt_change(change_ratio(current[name], previous[name])),
                "lower_is_better": lower_is_better,
            }

        def points(label, name):
            now, before = rate(current, name), rate(previous, name)
            return {
                "label": label,
                "current": Fmt._fmt_percent(now, 1),
                "previous": Fmt._fmt_percent(before, 1),
                "change": Fmt._fmt_change(now - before if now is not None and before is not None else None, pts),
                "lower_is_better": name == "cost_to_serve",
            }

        kpis = [
            money(_("Revenue"), "revenue"),
            money(_("Gross margin"), "gross_margin"),
            points(_("Gross margin (%)"), "gross_margin"),
            money(_("Cost to serve"), "cost_to_serve", lower_is_better=True),
            points(_("Cost to serve (% of revenue)"), "cost_to_serve"),
            money(_("Net contribution"), "net_contribution"),
            {
                "label": _("Visits done"),
                "current": Fmt._fmt_number(current["visit_count"]),
                "previous": Fmt._fmt_number(previous["visit_count"]),
                "change": Fmt._fmt_change(change_ratio(current["visit_count"], previous["visit_count"])),
                "lower_is_better": False,
            },
        ]
        if snapshot and snapshot.health_band:
            kpis.append(
                {
                    "label": _("Health score (change over 30 days)"),
                    "current": Fmt._fmt_number(snapshot.health_score),
                    "previous": Fmt._fmt_number(snapshot.health_score - snapshot.health_change),
                    "change": Fmt._fmt_change(snapshot.health_change, pts, digits=0),
                    "lower_is_better": False,
                }
            )
        return kpis

    @api.model
    def _month_figures(self, months):
        """``[(month start, {figure: value})]`` of the chart, oldest first, every month of it."""
        starts, by_month, _window = months
        empty = dict.fromkeys(FIGURES, 0.0)
        return [(start, by_month.get(start, empty)) for start in starts]

    @api.model
    def _month_labels(self, starts):
        Fmt = self.env["kam.report.format"]
        return [Fmt._fmt_date(start, "MMM yy") for start in starts]

    @api.model
    def _chart(self, months, currency):
        Fmt = self.env["kam.report.format"]
        starts, by_month, _window = months
        labels = self._month_labels(starts)
        series = [
            (
                label,
                by_month.get(start, {}).get("revenue", 0.0),
                by_month.get(start, {}).get("gross_margin", 0.0),
                by_month.get(start, {}).get("cost_to_serve", 0.0),
            )
            for label, start in zip(labels, starts, strict=True)
        ]
        return evolution_svg(
            series,
            {
                "revenue": _("Revenue"),
                "gross_margin": _("Gross margin"),
                "cost_to_serve": _("Cost to serve"),
                "cost_axis": _("Cost to serve (right-hand scale)"),
                "empty": _("No revenue, margin or cost to serve in these months."),
            },
            Fmt._fmt_compact,
        )

    @api.model
    def _month_table(self, months):
        Fmt = self.env["kam.report.format"]
        starts, by_month, _window = months
        labels = self._month_labels(starts)
        rows = []
        for name, label in (
            ("revenue", _("Revenue")),
            ("gross_margin", _("Gross margin")),
            ("cost_to_serve", _("Cost to serve")),
        ):
            rows.append(
                {
                    "label": label,
                    "values": [Fmt._fmt_compact(by_month.get(start, {}).get(name, 0.0)) for start in starts],
                }
            )
        return {"labels": labels, "rows": rows}

    @api.model
    def _quadrant_hints(self):
        return {
            "protect": _("High value, low effort"),
            "develop": _("High value, high effort"),
            "streamline": _("Low value, low effort"),
            "restructure": _("Low value, high effort"),
        }

    @api.model
    def _value_effort(self, row, currency):
        Fmt = self.env["kam.report.format"]
        if not row:
            return []
        return [
            (_("Revenue (window)"), Fmt._fmt_amount(row.invoiced_revenue, currency)),
            (_("Gross margin"), Fmt._fmt_amount(row.gross_margin, currency)),
            (_("Cost to serve"), Fmt._fmt_amount(row.cost_to_serve, currency)),
            (_("Cost to serve (% of revenue)"), Fmt._fmt_percent(row.cost_share if row.invoiced_revenue else None, 1)),
            (_("Net contribution"), Fmt._fmt_amount(row.net_contribution, currency)),
            (_("Rank by net contribution"), Fmt._fmt_number(row.contribution_rank or None)),
        ]

    @api.model
    def _objectives(self, plan, currency):
        Fmt = self.env["kam.report.format"]
        if not plan:
            return []
        measures = dict(plan.objective_ids._fields["measure"]._description_selection(self.env))
        statuses = dict(plan.objective_ids._fields["status"]._description_selection(self.env))
        result = []
        for objective in plan.objective_ids:

            def value(amount, objective=objective):
                if objective.is_monetary:
                    return Fmt._fmt_amount(amount, currency)
                return Fmt._fmt_number(amount, 1 if objective.measure == "satisfaction" else 0)

            result.append(
                {
                    "name": objective.display_name,
                    "measure": measures.get(objective.measure, ""),
                    "target": value(objective.target),
                    "actual": value(objective.actual),
                    "expected": value(objective.expected),
                    "progress": Fmt._fmt_percent(objective.progress if objective.target else None),
                    "bar": max(0.0, min(objective.progress, 100.0)) if objective.target else 0.0,
                    "status": objective.status or "",
                    "status_label": statuses.get(objective.status, ""),
                }
            )
        return result

    @api.model
    def _stakeholders(self, plan):
        Fmt = self.env["kam.report.format"]
        if not plan:
            return []
        Stakeholder = plan.stakeholder_ids
        roles = dict(Stakeholder._fields["role"]._description_selection(self.env))
        attitudes = dict(Stakeholder._fields["attitude"]._description_selection(self.env))
        return [
            {
                "name": stakeholder.partner_id.name or "",
                "function": stakeholder.function or "",
                "role": roles.get(stakeholder.role, ""),
                "influence": stakeholder.influence,
                "influence_marks": "●" * stakeholder.influence + "○" * (5 - stakeholder.influence),
                "attitude": stakeholder.attitude,
                "attitude_label": attitudes.get(stakeholder.attitude, ""),
                "owner": stakeholder.owner_id.name or "",
                "last_contact": Fmt._fmt_date(stakeholder.last_contact_date),
            }
            for stakeholder in plan.stakeholder_ids
        ]

    @api.model
    def _visits(self, visits):
        Fmt = self.env["kam.report.format"]
        if not visits:
            return []
        kinds = dict(visits._fields["kind"]._description_selection(self.env))
        states = dict(visits._fields["state"]._description_selection(self.env))
        return [
            {
                "date": Fmt._fmt_date(visit.date),
                "kind": kinds.get(visit.kind, ""),
                "name": visit.name or "",
                "user": visit.user_id.name or "",
                "state": states.get(visit.state, ""),
                "hours": Fmt._fmt_number((visit.duration or 0.0) + (visit.travel_time or 0.0), 1),
            }
            for visit in visits
        ]

    @api.model
    def _review(self, review):
        Fmt = self.env["kam.report.format"]
        if not review:
            return {}
        return {
            "date": Fmt._fmt_date(review.date),
            "score": Fmt._fmt_number(review.satisfaction_score, 1),
            "participants": ", ".join(review.participant_ids.mapped("name")),
            "went_well": review.went_well or "",
            "risks": review.risks or "",
            "next_steps": review.next_steps or "",
        }

    @api.model
    def _health(self, snapshot):
        Fmt = self.env["kam.report.format"]
        if not snapshot or not snapshot.health_band:
            return {}
        bands = dict(snapshot._fields["health_band"]._description_selection(self.env))
        return {
            "score": snapshot.health_score,
            "band": snapshot.health_band,
            "band_label": bands.get(snapshot.health_band, ""),
            "change": Fmt._fmt_change(snapshot.health_change, _("pts"), digits=0),
            "date": Fmt._fmt_date(snapshot.date),
            "pulled_down_by": snapshot.health_pulled_down_by or "",
            "explanation": snapshot.health_explanation or Markup(""),
        }


class ReportKamAccountReviewPlan(models.AbstractModel):
    """The Key Account Review printed from account plans: each plan's account, with that plan."""

    _name = "report.kam_management.report_kam_account_review_plan"
    _description = "Key Account Review (from account plans)"

    @api.model
    def _get_report_values(self, docids, data=None):
        data = dict(data or {})
        plans = self.env["kam.account.plan"].browse(docids or [])
        # Reading the plans as the user applies their record rules before anything else.
        plans.check_access("read")
        plans = plans.sudo()
        by_key = {}
        for plan in plans:
            by_key.setdefault((plan.company_id.id, plan.partner_id.commercial_partner_id.id), plan)
        today = fields.Date.context_today(self)
        if len(plans) == 1 and not data.get("date_from") and plans.date_start <= today:
            # A plan's review covers the plan's period, up to today while it runs; a plan that
            # has not started yet is reviewed over the company's window, like its account.
            data["date_from"] = plans.date_start
            data["date_to"] = min(plans.date_end, today)
        Review = self.env["report.kam_management.report_kam_account_review"]
        return Review._review_values(list(by_key), data, plans=by_key)
