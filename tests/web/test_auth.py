"""Sign-in, sign-out, password change, the sign-in rate limit and CSRF."""
from __future__ import annotations

from sqlalchemy import func, select

from retail.models import Movement, User
from retail.services import accounts
from tests.web.factories import PASSWORD, csrf_token, post, sign_in


def test_pages_need_sign_in(client, world):
    response = client.get(f"/stores/{world['a'].id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_staff_sign_in_lands_on_their_store(client, world):
    response = sign_in(client, "Staff@A.example.com ")
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == f"/stores/{world['a'].id}"
    assert world["a"].name in client.get(f"/stores/{world['a'].id}").get_data(as_text=True)


def test_wrong_password_is_refused_and_keeps_the_email(client, world):
    response = client.post("/login", data={"email": "staff@a.example.com", "password": "nope",
                                           "csrf_token": csrf_token(client)})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'value="staff@a.example.com"' in page and "邮箱或密码不正确" in page  # browser language unknown: zh_Hans


def test_sign_in_is_rate_limited(client, world):
    token = csrf_token(client)
    codes = [client.post("/login", data={"email": "staff@a.example.com", "password": f"guess{i}",
                                         "csrf_token": token}).status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    # another account from the same address is not locked out by the guesser
    sign_in(client, "manager@a.example.com")


def test_post_without_csrf_token_is_rejected(client, world):
    sign_in(client, "staff@a.example.com")
    before = client.application.extensions["engine"]
    response = client.post(f"/stores/{world['a'].id}/sale", data={"serials": "SN-A1"})
    assert response.status_code == 400
    with before.connect() as connection:
        sales = connection.execute(select(func.count()).select_from(Movement).where(Movement.kind == "sale")).scalar()
    assert sales == 0
    assert client.post("/login", data={"email": "staff@a.example.com", "password": PASSWORD}).status_code == 400


def test_sign_out(client, world):
    sign_in(client, "staff@a.example.com")
    assert post(client, "/logout", {}).status_code == 302
    assert client.get(f"/stores/{world['a'].id}").status_code == 302


def test_password_change_needs_the_current_password(client, world, session):
    sign_in(client, "staff@a.example.com")
    refused = post(client, "/password", {"current": "wrong-password", "new": "a-new-long-password"})
    assert refused.status_code == 422 and "当前密码不正确" in refused.get_data(as_text=True)
    short = post(client, "/password", {"current": PASSWORD, "new": "short"})
    assert short.status_code == 422 and "10" in short.get_data(as_text=True)
    assert post(client, "/password", {"current": PASSWORD, "new": "a-new-long-password"}).status_code == 302
    user = session.execute(select(User).where(User.email == "staff@a.example.com")).scalar_one()
    session.refresh(user)
    assert accounts.authenticate(session, email=user.email, password="a-new-long-password") is not None
    assert client.get(f"/stores/{world['a'].id}").status_code == 200  # this session follows the new password


def test_password_change_signs_out_other_sessions(app, world):
    first, second = app.test_client(), app.test_client()
    sign_in(first, "staff@a.example.com")
    sign_in(second, "staff@a.example.com")
    assert post(first, "/password", {"current": PASSWORD, "new": "a-new-long-password"}).status_code == 302
    assert second.get(f"/stores/{world['a'].id}").status_code == 302


def test_deactivated_user_cannot_sign_in(client, world, session):
    user = session.get(User, world["staff"].id)
    user.active = False
    session.commit()
    response = client.post("/login", data={"email": "staff@a.example.com", "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401
