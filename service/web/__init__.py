"""What every router and page shares, written once: parameter and dependency aliases
(params.py, deps.py), input models' config (schemas.py), route declarations (routes.py),
page rendering (pages.py) and the error handler (errors.py)."""
