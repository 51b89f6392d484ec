"""cf_aig: the core client for Cloudflare AI Gateway's unified REST API (placeholder, filled in next)."""
