"""Native types' plans that make calls of their own during the attempt: Dify's image uploads and
the user it and Coze name, Replicate's image upload and downloads, Codex's token refresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from newapi.adaptors.codex import channel as codex
from newapi.adaptors.codex import credentials as codex_credentials
from newapi.adaptors.dify import files as dify_files
from newapi.adaptors.dify import request as dify_request
from newapi.adaptors.replicate import channel as replicate
from newapi.adaptors.replicate import request as replicate_request
from newapi.adaptors.replicate import response as replicate_response
from newapi.convert import model as m
from newapi.core.errors import BadRequest, UpstreamError
from newapi.core.structs import ChannelInfo
from newapi.core.usage import Usage
from newapi.relay.multipart import form_parts
from newapi.relay.native_spec import Attempt, Auth, Plan, Tools, WholeReply
from newapi.security.fetched import FetchError

if TYPE_CHECKING:
    from newapi.relay.call import Call


def default_user(req: m.Request, attempt: Attempt) -> str:
    # New API's helper.GetResponseID: the user a Dify or Coze request names when the client does not
    return req.user or "chatcmpl-" + attempt.request_id


async def dify_complete(req: m.Request, plan: Plan, channel: ChannelInfo, key: str, attempt: Attempt) -> None:
    user = plan.body["user"] = default_user(req, attempt)
    ids: list[str] = []
    for media in dify_request.inline_images(req):
        image = dify_files.image_bytes(media.data)
        content_type, form = dify_files.upload_form(image, media.media_type, user)
        headers = [
            (b"authorization", b"Bearer " + key.encode()),
            (b"content-type", content_type),
            (b"accept", b"application/json"),
        ]
        status, answer = await attempt.post(dify_files.upload_url(channel), headers, form)
        ids.append(dify_files.uploaded_id(status, answer))
    dify_request.fill_uploads(plan.body, ids)


async def coze_complete(req: m.Request, plan: Plan, channel: ChannelInfo, key: str, attempt: Attempt) -> None:
    plan.body["user_id"] = default_user(req, attempt)


def _replicate_plan(
    channel: ChannelInfo, key: str, model: str, request: dict[str, Any], inline: bool, tools: Tools
) -> Plan:
    convert: WholeReply = replicate_response.image_reply
    if inline:
        fetcher = tools.fetcher()

        async def downloaded(payload: bytes) -> tuple[bytes, Usage | None]:
            # As New API: the files are fetched and inlined (under the SSRF guard and size cap).
            images = []
            for url in replicate_response.output_urls(payload):
                try:
                    images.append((await fetcher.fetch(url)).data)
                except FetchError as exc:
                    raise UpstreamError(f"cannot download the image Replicate made: {exc}") from None
            return replicate_response.b64_reply(images)

        convert = downloaded
    url = replicate.predictions_url(channel, model)
    return Plan(url, replicate.headers(key), request, convert=convert, target="openai")


async def replicate_images(call: Call, channel: ChannelInfo, key: str, tools: Tools) -> Plan:
    try:
        body = orjson.loads(call.body)
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        request = replicate_request.image_request(body)
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise BadRequest(f"cannot convert the request: {exc}") from None
    inline = body.get("response_format") == "b64_json"
    return _replicate_plan(channel, key, call.upstream_model, request, inline, tools)


async def replicate_edits(call: Call, channel: ChannelInfo, key: str, tools: Tools) -> Plan:
    """New API's edit: the form's image is uploaded to Replicate's files and given as
    ``image_prompt``; the other fields make the prediction as for a generation."""
    parts = form_parts(call.body, call.content_type)
    if not parts:
        raise BadRequest("image edits must be multipart/form-data with an image file")
    fields = {p.name: bytes(p.data).decode("utf-8", "replace") for p in parts if p.filename is None}
    files = [p for p in parts if p.filename is not None and len(p.data)]
    named = (p for field_name in replicate_request.IMAGE_FIELDS for p in files if p.name == field_name)
    image = next(named, files[0] if files else None)
    if image is None:
        raise BadRequest("an image file is required for edits")
    if not fields.get("prompt", "").strip():
        raise BadRequest("prompt is required")
    filename = image.filename or "image"
    headers, form = replicate.upload(key, filename, image.content_type, bytes(image.data))
    status, answer = await tools.post(replicate.files_url(channel), headers, form)
    request = replicate_request.edit_request(fields, replicate.uploaded_url(status, answer))
    inline = fields.get("response_format") == "b64_json"
    return _replicate_plan(channel, key, call.upstream_model, request, inline, tools)


async def codex_auth(channel: ChannelInfo, key: str, auth: Auth) -> list[tuple[bytes, bytes]]:
    credentials = codex_credentials.parse_key(key)
    cache = auth.state.get("codex")
    if not isinstance(cache, codex_credentials.TokenCache):
        cache = auth.state["codex"] = codex_credentials.TokenCache(
            auth.post, auth.codex_token_url, auth.codex_store
        )
    token = await cache.access_token(credentials, key, channel.id)
    return codex.headers(token, credentials.account_id)
