"""Onboarding: from credentials to a complete, checked account registry.

- `discover`: list the Pages, Instagram accounts and YouTube channels the credentials can read and
  merge them into the registry file without losing hand edits (`socialpulse accounts discover`);
- `doctor`: check settings, registry, tokens, account reachability, warehouse, BI paths and
  Airflow, with one line per problem and the fix (`socialpulse doctor`);
- `tokens`: Meta token inspection (`debug_token`), the long-lived exchange and Page tokens
  (`socialpulse token exchange`);
- `youtube_oauth`: the installed-app OAuth flow for YouTube (`socialpulse youtube authorize`);
- `scopes`: which permissions each platform endpoint needs (one table).

Nothing in this package prints or stores a token unless explicitly asked to (`--show`, a secrets
file with mode 0600); every message goes through `ingestion.core.redact`.
"""
