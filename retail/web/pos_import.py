"""POS import: upload the till's export, preview it with row-numbered errors, confirm to apply.

The previewed file is staged server-side (`pos_import.preview(stage=True)`: by store and hash, for
`pos_import.STAGED_FOR`), so the confirmation form carries only the file's hash, whatever the file's size,
and any worker can confirm it; `pos_import.confirm` validates it again in full before writing anything.
"""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from retail import errors
from retail.messages import column_name, describe
from retail.request_db import db_session
from retail.services import pos_import
from retail.web.access import me, store_page
from retail.web.errors import form_page
from retail.web.idempotency import repeatable

bp = Blueprint("pos_import", __name__, url_prefix="/stores/<int:store_id>/pos")
PREVIEW_ROWS = 100


def _errors(row_errors) -> list[tuple[int, str | None, str]]:
    """(row, the column in words, the message): a refusal names the field as the reader says it."""
    return [(e.row_number, column_name(e.column), describe(e)) for e in row_errors]


def _upload_page(store, error=None, form=None, refusal=None):
    problems = _errors(refusal.errors) if isinstance(refusal, pos_import.InvalidFile) else None
    return render_template("pos_upload.html", store=store, error=error, problems=problems)


@bp.get("/")
@store_page
def upload(store):
    return _upload_page(store)


@bp.get("/template.csv")
@store_page
def template(store):
    return Response("\ufeff" + pos_import.template_csv(db_session(), store_id=store.id), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=pos-import-template.csv"})


@bp.post("/preview")
@repeatable
@store_page
@form_page(_upload_page)
def preview(store):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise errors.MissingValue(field="file")
    result = pos_import.preview(db_session(), me(), store_id=store.id, filename=upload.filename,
                                content=upload.read(), stage=True)
    return render_template(
        "pos_preview.html", store=store, filename=upload.filename, result=result, shown=result.rows[:PREVIEW_ROWS],
        problems=_errors(result.errors), before=set(result.imported_before),
    ), 422 if result.errors else 200


@bp.post("/confirm")
@store_page
@form_page(_upload_page)
def confirm(store):
    result = pos_import.confirm(db_session(), me(), store_id=store.id,
                                file_sha256=request.form.get("file_sha256", "")[:64])
    if result.already_imported:
        flash(_("This file was imported before: nothing changed."), "warning")
    else:
        flash(_("%(rows)s rows imported from %(file)s.", rows=result.imported_rows, file=result.filename))
        if result.skipped_rows:
            flash(_("%(rows)s rows had been imported before by another file: they were skipped.",
                    rows=result.skipped_rows), "warning")
    return redirect(url_for(".upload", store_id=store.id))
