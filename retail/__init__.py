"""Smart-glasses retail distribution backend."""


def create_app(*args, **kwargs):
    """The Flask application factory (imported lazily so that pure modules stay light)."""
    from retail.app import create_app as _create_app

    return _create_app(*args, **kwargs)
