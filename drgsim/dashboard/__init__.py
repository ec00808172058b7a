"""Planner's dashboard in the browser: levers, instant settlement answers, scenarios, reports.

``create_app(Dashboard(scenario))`` is a FastAPI app of its own (not the preview service);
``drgsim dashboard`` serves it with uvicorn.
"""

from .app import create_app
from .state import Dashboard, Settings, scenario_from_args

__all__ = ["Dashboard", "Settings", "create_app", "scenario_from_args"]
