"""A small metadata-format deploy package (a zip with package.xml at its root)."""

from __future__ import annotations

import io
import zipfile

PACKAGE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types><members>InvoiceService</members><name>ApexClass</name></types>
    <version>62.0</version>
</Package>
"""


def make_package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("package.xml", PACKAGE_XML)
        package.writestr("classes/InvoiceService.cls", "public class InvoiceService {}\n")
        package.writestr(
            "classes/InvoiceService.cls-meta.xml",
            '<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata">'
            "<apiVersion>62.0</apiVersion><status>Active</status></ApexClass>",
        )
    return buffer.getvalue()
