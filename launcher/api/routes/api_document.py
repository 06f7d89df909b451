"""``GET /openapi.json``: the API's OpenAPI document, for token holders.

The contract leaves only ``GET /health`` open, so the document needs a token like everything
else; the pages' login cookie counts too, so a browser that logged in at /login can read it.
There is no /docs page: Swagger UI loads its script from a CDN, which these machines cannot
reach.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from launcher import auth
from launcher.api.context import db

router = APIRouter(tags=["meta"])


@router.get("/openapi.json", include_in_schema=False)
def openapi_document(request: Request, s: Session = Depends(db)):
    secret = auth.bearer_secret(request.headers.get("authorization")) or request.cookies.get(auth.PAGE_COOKIE)
    auth.authenticate(s, secret)
    s.commit()
    return JSONResponse(request.app.openapi())
