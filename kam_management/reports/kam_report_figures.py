from collections import defaultdict
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

# Months drawn at most in the month-by-month chart of the Key Account Review, ending with the
# period's last month.
EVOLUTION_MONTHS = 12
# Visits listed in the Key Account Review, the most recent first.
RECENT_VISITS = 8
# The figures of ``kam.account.fact`` that the reports read, for a period and per month.
FIGURES = ("revenue", "gross_margin", "cost_to_serve", "net_contribution", "visit_count", "visit_hours")


def previous_period(date_from, date_to):
    """The period just before ``[date_from, date_to]`` and as long.

    A period of whole months (a year, a quarter) is compared with as many whole months, so that
    March is compared with February, not with 28 days of it.
    """
    if date_from.day == 1 and (date_to + timedelta(days=1)).day == 1:
        months = relativedelta(date_to + timedelta(days=1), date_from)
        length = months.years * 12 + months.months
        return date_from - relativedelta(months=length), date_from - timedelta(days=1)
    return date_from - (date_to - date_from) - timedelta(days=1), date_from - timedelta(days=1)


def change_ratio(current, previous):
    """``current`` against ``previous`` in %, or ``None`` when there is nothing to compare with."""
    if not previous:
        return None
    return (current - previous) * 100.0 / abs(previous)


def chart_window(date_from, date_to, months=EVOLUTION_MONTHS):
    """The part of ``[date_from, date_to]`` a month-by-month chart draws: its last ``months`` months.

    Returns ``(first day, last day, month starts)``: the edges are those of the period (exact to
    the day, so that the chart adds up to the period's figures), the months are every calendar
    month the drawn part touches; the first and the last may be partial.
    """
    first = max(date_from, date_to - relativedelta(months=months) + timedelta(days=1))
    starts = []
    start = first.replace(day=1)
    while start <= date_to:
        starts.append(start)
        start += relativedelta(months=1)
    return first, date_to, starts


class KamReportFigures(models.AbstractModel):
    """The numbers the key-account reports print (PDF and Excel), gathered set-based.

    Every block is one statement for all the accounts of the report, never one per account;
    the figures themselves are those of ``kam.account.fact``, their one definition. The
    accounts are ``(company id, commercial partner id)`` keys, checked by ``kam.report.scope``
    before they get here; records are read with ``sudo()``.
    """

    _name = "kam.report.figures"
    _description = "Key account report figures"

    # ------------------------------------------------------------------
    # Figures over periods and months
    # ------------------------------------------------------------------
    @api.model
    def _figures(self, keys, periods):
        """Figures of each account over each period, in one statement.

        ``periods`` maps a name to ``(date_from, date_to)``; returns
        ``{(name, company id, partner id): {figure: value}}``, accounts without any figure left out.
        The figures are those of ``kam.account.fact._figures_sql``, the one definition of them.
        """
        if not keys:
            return {}
        Fact = self.env["kam.account.fact"]
        Fact._flush_sources()
        by_company = defaultdict(set)
        for company_id, partner_id in keys:
            by_company[company_id].add(partner_id)
        selects = []
        for company in self.env["res.company"].browse(sorted(by_company)):
            for name, (date_from, date_to) in periods.items():
                selects.append(
                    SQL(
                        "SELECT %(name)s AS period, %(company)s AS company_id, f.partner_id, %(columns)s"
                        " FROM (%(figures)s) f WHERE f.partner_id = ANY(%(partners)s)",
                        name=name,
                        company=company.id,
                        columns=SQL(", ").join(SQL("f.%s", SQL.identifier(figure)) for figure in FIGURES),
                        figures=Fact._figures_sql(company, date_from, date_to),
                        partners=sorted(by_company[company.id]),
                    )
                )
        self.env.cr.execute(SQL(" UNION ALL ").join(selects))
        return {
            (period, company_id, partner_id): dict(zip(FIGURES, (float(v or 0.0) for v in values), strict=True))
            for period, company_id, partner_id, *values in self.env.cr.fetchall()
        }

    @api.model
    def _monthly_figures(self, keys, date_from, date_to):
        """The figures of each month of ``[date_from, date_to]``, per account, in one statement.

        The edges are exact to the day: the first and the last month count only their days in
        the range. Returns ``{(company id, partner id): {month start: {figure: value}}}``; the
        monthly rows are those of the cost-to-serve analysis (``kam.account.fact``).
        """
        if not keys:
            return {}
        Fact = self.env["kam.account.fact"]
        Fact._flush_sources()
        totals = self.env["kam.figures"]._totals_sql(
            Fact._sources_sql(None, date_from, date_to, detail=True),
            group_by=("company_id", "partner_id", "date"),
        )
        self.env.cr.execute(
            SQL(
                "SELECT t.company_id, t.partner_id, t.date, %(columns)s FROM (%(totals)s) t"
                " WHERE t.company_id = ANY(%(companies)s) AND t.partner_id = ANY(%(partners)s)",
                columns=SQL(", ").join(SQL("t.%s", SQL.identifier(figure)) for figure in FIGURES),
                totals=totals,
                companies=sorted({c for c, _p in keys}),
                partners=sorted({p for _c, p in keys}),
            )
        )
        wanted = set(keys)
        result = defaultdict(dict)
        for company_id, partner_id, month, *values in self.env.cr.fetchall():
            if (company_id, partner_id) in wanted:
                result[company_id, partner_id][month] = dict(
                    zip(FIGURES, (float(value or 0.0) for value in values), strict=True)
                )
        return result

    # ------------------------------------------------------------------
    # Records around the accounts
    # ------------------------------------------------------------------
    @api.model
    def _latest_snapshots(self, keys):
        """The latest KPI snapshot of each account (its dashboard card), in one search."""
        Snapshot = self.env.get("kam.kpi.snapshot")
        if Snapshot is None or not keys:
            return {}
        rows = Snapshot.sudo().search(
            [
                ("is_latest", "=", True),
                ("company_id", "in", list({c for c, _p in keys})),
                ("partner_id", "in", list({p for _c, p in keys})),
            ]
        )
        return {(row.company_id.id, row.partner_id.id): row for row in rows}

    @api.model
    def _current_plans(self, keys):
        """The plan each account is run by: the active one covering today, else the latest.

        One search for all accounts; cancelled plans are left out.
        """
        if not keys:
            return {}
        today = fields.Date.context_today(self)
        plans = (
            self.env["kam.account.plan"]
            .sudo()
            .search(
                [
                    ("company_id", "in", list({c for c, _p in keys})),
                    ("partner_id", "in", list({p for _c, p in keys})),
                    ("state", "!=", "cancelled"),
                ],
                order="date_start desc, id desc",
            )
        )

        def preference(plan):
            covers_today = plan.date_start <= today <= plan.date_end
            return (plan.state == "active" and covers_today, plan.state == "active", plan.date_start, plan.id)

        best = {}
        for plan in plans:
            key = (plan.company_id.id, plan.partner_id.id)
            if key not in best or preference(plan) > preference(best[key]):
                best[key] = plan
        return best

    @api.model
    def _latest_reviews(self, keys):
        """The latest account review of each account, whatever its plan, in one query."""
        if not keys:
            return {}
        Review = self.env["kam.account.review"]
        Review.flush_model(["company_id", "account_id", "date"])
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT ON (r.company_id, r.account_id) r.id
                  FROM kam_account_review r
                 WHERE r.company_id = ANY(%(companies)s) AND r.account_id = ANY(%(partners)s)
                 ORDER BY r.company_id, r.account_id, r.date DESC, r.id DESC
                """,
                companies=sorted({c for c, _p in keys}),
                partners=sorted({p for _c, p in keys}),
            )
        )
        reviews = Review.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        return {(review.company_id.id, review.account_id.id): review for review in reviews}

    @api.model
    def _recent_visits(self, keys, until, limit=RECENT_VISITS):
        """The ``limit`` latest visits done of each account up to ``until``, in one query.

        ``until`` maps a company id to the last day of its period: a visit planned after it, or
        not done (planned, cancelled), is not part of what the period did.
        """
        if not keys:
            return {}
        Visit = self.env["kam.visit"]
        Visit.flush_model(["company_id", "commercial_partner_id", "state", "start", "date"])
        companies = sorted({c for c, _p in keys})
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM (
                    SELECT v.id, v.start,
                           ROW_NUMBER() OVER (PARTITION BY v.company_id, v.commercial_partner_id
                                              ORDER BY v.start DESC, v.id DESC) AS position
                      FROM kam_visit v
                      JOIN unnest(%(companies)s::int[], %(ends)s::date[]) AS period(company_id, date_to)
                        ON period.company_id = v.company_id
                     WHERE v.commercial_partner_id = ANY(%(partners)s)
                       AND v.state = 'done' AND v.date <= period.date_to
                ) ranked
                 WHERE position <= %(limit)s
                 ORDER BY start DESC, id DESC
                """,
                companies=companies,
                ends=[until[company_id] for company_id in companies],
                partners=sorted({p for _c, p in keys}),
                limit=limit,
            )
        )
        visits = Visit.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        result = defaultdict(lambda: Visit.sudo().browse())
        wanted = set(keys)
        for visit in visits:
            key = (visit.company_id.id, visit.commercial_partner_id.id)
            if key in wanted:
                result[key] |= visit
        return result

    # ------------------------------------------------------------------
    # Portfolio lines, for the PDF and the workbook
    # ------------------------------------------------------------------
    @api.model
    def _portfolio_lines(self, classifications, date_from, date_to):
        """One line per account of ``classifications`` (checked already), grouped per company and KAM.

        Returns a list of groups ``{company, manager, currency, lines, totals}``; amounts are
        raw numbers, the PDF and the workbook format them.
        """
        keys = [(row.company_id.id, row.partner_id.id) for row in classifications]
        prev_from, prev_to = previous_period(date_from, date_to)
        figures = self._figures(keys, {"current": (date_from, date_to), "previous": (prev_from, prev_to)})
        snapshots = self._latest_snapshots(keys)
        tiers = dict(self.env["kam.classification"]._fields["tier"]._description_selection(self.env))
        today = fields.Date.context_today(self)
        bands = dict(self.env["kam.kpi.snapshot"]._fields["health_band"]._description_selection(self.env))
        groups = {}
        empty = dict.fromkeys(FIGURES, 0.0)
        for row in classifications:
            key = (row.company_id.id, row.partner_id.id)
            current = figures.get(("current", *key), empty)
            previous = figures.get(("previous", *key), empty)
            snapshot = snapshots.get(key)
            last_contact = snapshot.last_contact_date if snapshot else False
            line = {
                "company": row.company_id,
                "partner": row.partner_id,
                "name": row.partner_id.name or "",
                "manager": row.manager_id,
                "tier": row.tier or False,
                "tier_label": tiers.get(row.tier, "") if row.tier else "",
                "revenue": current["revenue"],
                "revenue_prev": previous["revenue"],
                "trend": change_ratio(current["revenue"], previous["revenue"]),
                "gross_margin": current["gross_margin"],
                "cost_to_serve": current["cost_to_serve"],
                "net_contribution": current["net_contribution"],
                "health": snapshot.health_score if snapshot and snapshot.health_band else None,
                "health_band": snapshot.health_band if snapshot else False,
                "health_band_label": bands.get(snapshot.health_band, "") if snapshot else "",
                "plan_progress": snapshot.plan_progress if snapshot and snapshot.plan_id else None,
                "last_contact": last_contact or False,
                "days_since_contact": (today - last_contact).days if last_contact else None,
                "snapshot_date": snapshot.date if snapshot else False,
            }
            group = groups.setdefault(
                (row.company_id.id, row.manager_id.id),
                {
                    "company": row.company_id,
                    "manager": row.manager_id,
                    "manager_name": row.manager_id.name or _("Without KAM"),
                    "currency": row.company_id.currency_id,
                    "lines": [],
                },
            )
            group["lines"].append(line)
        result = list(groups.values())
        for group in result:
            group["totals"] = self._portfolio_totals(group["lines"])
        return result

    @api.model
    def _portfolio_totals(self, lines):
        def mean(values):
            values = [value for value in values if value is not None]
            return sum(values) / len(values) if values else None

        revenue = sum(line["revenue"] for line in lines)
        revenue_prev = sum(line["revenue_prev"] for line in lines)
        return {
            "count": len(lines),
            "key_accounts": sum(1 for line in lines if line["tier"] == "a"),
            "revenue": revenue,
            "revenue_prev": revenue_prev,
            "trend": change_ratio(revenue, revenue_prev),
            "cost_to_serve": sum(line["cost_to_serve"] for line in lines),
            "net_contribution": sum(line["net_contribution"] for line in lines),
            "health": mean([line["health"] for line in lines]),
            "plan_progress": mean([line["plan_progress"] for line in lines]),
            "days_since_contact": mean([line["days_since_contact"] for line in lines]),
        }
