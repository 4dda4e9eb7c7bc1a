"""The partner JSON API under /api/v1 (bearer API keys, OpenAPI 3.1). Not built yet: see the issues."""
