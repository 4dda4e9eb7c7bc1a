"""POS import: upload the till's export, preview it with row-numbered errors, confirm to apply.

The file travels from the preview to the confirmation inside the confirmation form (base64), so any
worker can confirm it; `pos_import.apply` validates it again in full before writing anything.
"""
from __future__ import annotations

import base64
import binascii

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail import errors
from retail.app import db_session
from retail.services import pos_import
from retail.web.access import me, store_page
from retail.web.messages import describe

bp = Blueprint("pos", __name__, url_prefix="/stores/<int:store_id>/pos")
PREVIEW_ROWS = 100


def _errors(row_errors) -> list[tuple[int, str | None, str]]:
    return [(e.row_number, e.column, describe(e)) for e in row_errors]


@bp.get("/")
@store_page
def upload(store):
    return render_template("pos_upload.html", store=store)


@bp.get("/template.csv")
@store_page
def template(store):
    return Response("\ufeff" + pos_import.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=pos-import-template.csv"})


@bp.post("/preview")
@store_page
def preview(store):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_template("pos_upload.html", store=store, error=_("Choose the file to import.")), 422
    content = upload.read()
    result = pos_import.preview(db_session(), store_id=store.id, filename=upload.filename, content=content)
    return render_template(
        "pos_preview.html", store=store, filename=upload.filename, result=result, shown=result.rows[:PREVIEW_ROWS],
        problems=_errors(result.errors), payload=base64.b64encode(content).decode("ascii"),
    ), 422 if result.errors else 200


@bp.post("/confirm")
@store_page
def confirm(store):
    filename = request.form.get("filename", "")
    try:
        content = base64.b64decode(request.form.get("content", ""), validate=True)
    except (binascii.Error, ValueError):
        abort(400)
    try:
        result = pos_import.apply(db_session(), store_id=store.id, filename=filename, content=content,
                                  actor_id=me().id)
    except pos_import.InvalidFile as invalid:
        db_session().rollback()
        return render_template("pos_upload.html", store=store, error=describe(invalid),
                               problems=_errors(invalid.errors)), 422
    except errors.DomainError as exc:
        db_session().rollback()
        return render_template("pos_upload.html", store=store, error=describe(exc)), 422
    if result.already_imported:
        flash(_("This file was imported before: nothing changed."), "warning")
    else:
        flash(_("%(rows)s rows imported from %(file)s.", rows=result.imported_rows, file=filename))
    return redirect(url_for(".upload", store_id=store.id))
