"""Two actions at the same moment, each in its own session and thread (a barrier starts them together)."""
from __future__ import annotations

import threading
from functools import partial

from retail import errors
from retail.db import new_session
from retail.models import User


def race(engine, first, second) -> list[str]:
    """Run two decisions at once, each in its own session; the outcome of each: 'ok' or the refusal's code.
    An action is `partial(verb, actor_id=..., **kwargs)` (the actor loaded in its session) or `f(session)`."""
    barrier, results = threading.Barrier(2), [None, None]

    def run(i, act):
        with new_session(engine) as s:
            barrier.wait()
            try:
                if isinstance(act, partial):
                    kwargs = dict(act.keywords)
                    act.func(s, s.get(User, kwargs.pop("actor_id")), **kwargs)
                else:
                    act(s)
                results[i] = "ok"
            except errors.DomainError as refused:
                s.rollback()
                results[i] = refused.code

    threads = [threading.Thread(target=run, args=(i, act)) for i, act in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
