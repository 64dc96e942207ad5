"""routeplan: campaign coach routes for Great Britain that minimise local election expenses.

Modules by pipeline stage (data flows down the list)::

    osm -> graph -> boundaries -> overlay -> network (cache, compile) -> kernels
        -> routing -> ledger -> locate -> render -> cli

Import the modules, e.g. ``routeplan.routing.plan_route(...)``; importing the package does no work.
"""

__version__ = "0.1.0"
