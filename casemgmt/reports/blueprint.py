"""The reports blueprint; its routes live in dashboard_views, donor_views and export_views."""

from flask import Blueprint

from casemgmt.reports.charts import data_url

bp = Blueprint("reports", __name__, url_prefix="/reports")

# Templates draw a chart with chart_src(spec); the SVG is rendered only when a page actually shows it.
bp.add_app_template_global(data_url, "chart_src")
