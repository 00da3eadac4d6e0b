"""Portfolio optimizer for critical-mineral refining projects.

Pipeline, one module per stage: ``reader`` (open the workbook safely) -> ``validate`` (typed
``instance`` objects or every problem at once) -> ``model`` (the PuLP MILP) -> ``solve`` (HiGHS or
CBC, honest status) -> ``evaluate``/``verify`` (independent recomputation) -> ``results`` ->
reports (``report_xlsx``, ``memo``).
"""

__version__ = "1.0.0"
