"""scripts/abuse.py against the app served by gunicorn (issue 10): every attack refused or made harmless
in under a second, the store's stock unchanged, as store A's staff. The script's own output is the
evidence; its exit status is the verdict."""
from __future__ import annotations

import subprocess
import sys

from tests.browser.conftest import ROOT
from tests.web.factories import PASSWORD


def test_every_attack_of_the_abuse_script_is_refused(server, served_db):
    result = subprocess.run([sys.executable, "scripts/abuse.py", server, "--email", "staff@a.example.com",
                             "--password", PASSWORD], cwd=ROOT, capture_output=True, text=True, timeout=600)
    print(result.stdout)
    lines = result.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("abuse: "), result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in lines[-1]
    assert sum(line.rstrip().endswith("ok") or " ok  (" in line for line in lines[:-1]) == len(lines) - 1
