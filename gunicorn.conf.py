"""gunicorn settings, shared by the container image, `make run` and the test that serves the app.

Everything comes from the environment: HOST, PORT, WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_WORKER_CLASS
(default gthread with more than one thread, else sync), GUNICORN_TIMEOUT, GUNICORN_KEEPALIVE.
"""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread" if threads > 1 else "sync")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "2"))  # seconds an idle client connection is kept
graceful_timeout = 20
accesslog = None  # the app logs each request as JSON with its request id
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The control socket wants a writable $HOME; containers run with a read-only one.
control_socket_disable = True


def post_worker_init(worker):
    """The app's modules and objects (about 316,000 once loaded) live as long as the worker: put them out of
    the cyclic collector's way, so that a full collection walks the objects of requests only (measured on the
    API: 160 ms -> under 1 ms; a full collection holds the interpreter lock, stalling every thread of the
    worker, so it showed in the p99 of every operation; scripts/load_api.py)."""
    import gc

    gc.collect()
    gc.freeze()
