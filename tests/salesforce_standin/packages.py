"""Small metadata-format deploy packages (a zip with package.xml at its root)."""

from __future__ import annotations

import io
import zipfile

from releasemgr.metadata_api import API_VERSION

NS = "http://soap.sforce.com/2006/04/metadata"


def manifest(members: dict[str, list[str]]) -> str:
    types = "".join(
        "<types>"
        + "".join(f"<members>{m}</members>" for m in names)
        + f"<name>{kind}</name></types>"
        for kind, names in members.items()
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="{NS}">{types}'
        f"<version>{API_VERSION}</version></Package>\n"
    )


def make_package(
    classes: dict[str, str] | None = None, *, destructive: dict[str, list[str]] | None = None
) -> bytes:
    """Apex classes (name -> source; by default InvoiceService) and, optionally, a
    destructiveChanges.xml."""
    if classes is None:
        classes = {"InvoiceService": "public class InvoiceService {}\n"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("package.xml", manifest({"ApexClass": list(classes)} if classes else {}))
        for name, source in classes.items():
            package.writestr(f"classes/{name}.cls", source)
            package.writestr(
                f"classes/{name}.cls-meta.xml",
                f'<ApexClass xmlns="{NS}"><apiVersion>62.0</apiVersion><status>Active</status>'
                "</ApexClass>",
            )
        if destructive:
            package.writestr("destructiveChanges.xml", manifest(destructive))
    return buffer.getvalue()
