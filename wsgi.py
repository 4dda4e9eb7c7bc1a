"""gunicorn entry point: `gunicorn wsgi:app`; also `flask --app wsgi ...`."""
from retail import create_app

app = create_app()
