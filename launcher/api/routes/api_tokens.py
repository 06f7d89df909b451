"""API access tokens: the caller makes tokens for themself; the secret is shown once."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from launcher import auth
from launcher.api import present
from launcher.api.context import current_user, db
from launcher.api.errors import NotFound
from launcher.api.schemas import TokenCreate
from launcher.store import repo_users
from launcher.store.models import User

router = APIRouter(tags=["apiAccessTokens"])


def create(body: TokenCreate, s: Session = Depends(db), user: User = Depends(current_user)):
    issued = auth.create_token(s, user, lifetime_seconds=body.lifetimeSeconds, description=body.description)
    s.commit()
    return JSONResponse({"tokenValue": issued.secret, "tokenInfo": present.token_info(issued.token)},
                        status_code=201)


def list_own(s: Session = Depends(db), user: User = Depends(current_user)):
    tokens = repo_users.list_tokens(s, user.id)
    return {"data": [present.token_info(t) for t in tokens], "count": len(tokens)}


def _own(s: Session, user: User, token_id: int):
    token = repo_users.get_token(s, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"API access token {token_id} not found")
    return token


def get_one(token_id: int, s: Session = Depends(db), user: User = Depends(current_user)):
    return present.token_info(_own(s, user, token_id))


def delete(token_id: int, s: Session = Depends(db), user: User = Depends(current_user)):
    repo_users.delete_token(s, _own(s, user, token_id))
    s.commit()
    return Response(status_code=204)


for version in ("v3", "v4"):
    base = f"/{version}/apiAccessTokens"
    router.add_api_route(base, create, methods=["POST"], status_code=201,
                         summary="A new token for the caller (the secret is in this answer only)")
    router.add_api_route(base, list_own, methods=["GET"], summary="The caller's tokens (no secrets)")
    router.add_api_route(f"{base}/{{token_id}}", get_one, methods=["GET"], summary="One of the caller's tokens")
    router.add_api_route(f"{base}/{{token_id}}", delete, methods=["DELETE"], status_code=204,
                         summary="Revoke one of the caller's tokens")
