"""Vietnam's working days: local time, the days off and make-up working days (the override
table), and the arithmetic of deadlines and lateness. Read by every domain, scoring
included; the HTTP that changes the table lives with scoring (scoring/calendar_router.py),
since a changed day re-scores dossiers."""
