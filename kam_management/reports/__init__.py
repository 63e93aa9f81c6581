from . import ir_actions_report
from . import kam_report_scope
from . import kam_report_figures
from . import kam_report_format
from . import kam_account_review
from . import kam_portfolio_report
from . import kam_pareto_xlsx
from . import kam_portfolio_xlsx
