"""Raw evaluations and petitions for audits: a JSON page at a time, or every row as a
streamed CSV or XLSX, with the dossier's facts and never the citizen's words or contact
unless an admin asks for them (and the asking is audited)."""
