from . import health_rules, kpi_alerts, kpi_explanation, kpi_statement, large_statement, tier_rules
