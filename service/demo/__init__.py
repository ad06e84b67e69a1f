"""The demo (`hailong demo`): agencies, keys and a quarter of activity, made through the
same services a real deployment uses. Its own package, above every domain it feeds, so
that service/admin stays below them."""
