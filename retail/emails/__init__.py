"""The weekly emails: an adapter like the web pages and the CLI (it renders with Flask's templates and
Flask-Babel), called by the CLI (`emails send-weekly`) and the admin preview page.

- `compose`: one email as a MIME message (HTML with inlined CSS, plain text, the chart inline);
- `chart`: the chart, matplotlib's Agg canvas reused across a batch;
- `smtp`: SMTP_URL, TLS and authentication, retries with backoff;
- `batch`: the weekly batch through the outbox (`retail.services.outbox`): once per recipient, kind, week;
- `tokens`: the signed unsubscribe link.
The figures come from `retail.services.weekly_digest`; no rule lives here.
"""
