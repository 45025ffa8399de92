"""Request bodies as services read them: JSON, URL-encoded forms and multipart/form-data (for stand-ins)."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import cast
from urllib.parse import parse_qs

from liveslice.standins.base import Received


class BadForm(ValueError):
    """The body is not the form its content type says."""


@dataclass(frozen=True)
class FilePart:
    """An uploaded file part."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Form:
    """The fields and files of a form body."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, FilePart] = field(default_factory=dict)


def media_type(request: Received) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def read_form(request: Received) -> Form:
    """The URL-encoded or multipart form in ``request``; :class:`BadForm` if it is neither or malformed."""
    kind = media_type(request)
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(request.body))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadForm(f"bad urlencoded body: {exc}") from None
        return Form(fields={k: v[-1] for k, v in pairs.items()})
    if kind != "multipart/form-data":
        raise BadForm(f"expected a form, got {kind or 'no content type'}")
    header = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(header + request.body)
    if not message.is_multipart() or message.defects:
        raise BadForm("malformed multipart body")
    form = Form()
    for part in cast(EmailMessage, message).iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise BadForm("a multipart part has no name")
        data = part.get_payload(decode=True)
        payload = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            form.files[name] = FilePart(filename, part.get_content_type(), payload)
        else:
            try:
                form.fields[name] = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise BadForm(f"field {name!r} is not UTF-8") from None
    return form
