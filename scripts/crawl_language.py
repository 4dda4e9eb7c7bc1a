"""Crawl every page a demo store's staff member and manager reach, in Simplified and Traditional Chinese,
and list English sentences outside the data's own names (products, brands, stores, cities, people).

    DATABASE_URL=sqlite:///instance/retail.db .venv/bin/python scripts/crawl_language.py [--store S0001]

The same crawl as tests/web/test_crawl_language.py (which runs it on the test shop world), on the demo
world. Exits 1 when a page has English. Reads only (GET)."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from retail import create_app  # noqa: E402
from retail.config import load_settings  # noqa: E402
from retail.db import new_session  # noqa: E402
from retail.demo.load import DEMO_PASSWORD  # noqa: E402
from retail.models import Brand, Location, Movement, Product, Role, User  # noqa: E402
from tests.web.test_crawl_language import crawl  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="store code (default: the store with the most sales)")
    args = parser.parse_args()
    app = create_app(load_settings(log_level="WARNING"))
    session = new_session(app.extensions["engine"])
    if args.store:
        store = session.execute(select(Location).where(Location.code == args.store)).scalar_one()
    else:
        store = session.get(Location, session.execute(
            select(Movement.location_id).join(Location, Location.id == Movement.location_id)
            .where(Movement.kind == "sale", Location.kind == "store")
            .group_by(Movement.location_id).order_by(func.count().desc()).limit(1)).scalar_one())
    people = {role: session.execute(select(User).where(User.store_id == store.id, User.role == role)).scalars().first()
              for role in (Role.store_staff, Role.store_manager)}
    allowed = {"English", "SN", "POS"}
    for row in session.execute(select(Product.model, Product.variant, Product.sku)):
        allowed |= {row.model, row.variant, row.sku, f"{row.model} {row.variant}"}
    for row in session.execute(select(Brand.name, Brand.name_zh)):
        allowed |= {row.name, f"{row.name} {row.name_zh}"}
    for row in session.execute(select(Location.name, Location.city)):
        allowed |= {row.name, row.city}
    allowed |= {name for name in session.execute(select(User.name)).scalars()}
    allowed = {a for a in allowed if a}
    session.close()
    english_pages = 0
    for role, user in people.items():
        if user is None:
            print(f"{store.code} has no {role}", file=sys.stderr)
            continue
        for language in ("zh_Hans", "zh_Hant"):
            client = app.test_client()
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
            client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD, "csrf_token": token.group(1)})
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/password").get_data(as_text=True))
            client.post("/language", data={"language": language, "csrf_token": token.group(1)})
            found, pages = crawl(client, f"/stores/{store.id}", allowed)
            print(f"{store.code} {role} {language}: {pages} pages, {len(found)} with English")
            for path, words in sorted(found.items()):
                print(f"  {path}: {words[:8]}")
            english_pages += len(found)
    return 1 if english_pages else 0


if __name__ == "__main__":
    sys.exit(main())
