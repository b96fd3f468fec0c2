"""VI Processes: uploads kept on the local disk of one process instead of a backing store.

Django ``MEDIA_ROOT`` with no remote storage and ``FileSystemStorage``, Flask upload folders and
``file.save``, multer ``dest``/``diskStorage``, and Node handlers that write a request's files to disk.
Development and test settings modules, and folders read from the environment, are fine.
"""

from __future__ import annotations

import ast
import os
import re

from twelve.audit.jsindex import object_keys, string_value, text
from twelve.audit.pyindex import PyIndex, env_read, str_value
from twelve.audit.scan import Scan, per_file

UPLOADS = "storage.local-uploads"

_REMOTE_STORAGE = re.compile(
    r"s3|gcloud|google|azure|dropbox|sftp|cloudinary|minio|b2", re.IGNORECASE
)
_DEV_STEMS = frozenset({"dev", "development", "local", "test", "tests", "testing", "debug", "ci"})
_UPLOAD_DIRS = re.compile(
    r"^(UPLOAD_FOLDER|UPLOAD_DIR|UPLOADS_DIR|MEDIA_FOLDER|UPLOADED_[A-Z]+_DEST)$"
)
# Werkzeug's FileStorage as handlers name it; not PIL images or Django field files (which use storage).
_UPLOAD_RECEIVERS = frozenset(
    {"file", "f", "upload", "uploaded", "uploaded_file", "photo", "avatar"}
)
_JS_WRITES = frozenset(
    {
        "fs.writeFile",
        "fs.writeFileSync",
        "fs.createWriteStream",
        "fs.promises.writeFile",
        "fsPromises.writeFile",
        "fs.rename",
        "fs.renameSync",
    }
)
_REQUEST_FILES = re.compile(r"\breq\.files?\b")


def _dev_module(path: str) -> bool:
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    return stem in _DEV_STEMS or stem.endswith(("_dev", "_local", "_test", "_ci"))


def _from_env(index: PyIndex, value: ast.expr) -> bool:
    return env_read(value) is not None or id(value) in index.fallback_ids


@per_file
def python_uploads(scan: Scan) -> None:
    media = scan.gather("uploads.media")
    remote = scan.gather("uploads.remote")
    for file, index in scan.python_files():
        dev = _dev_module(file.path)
        for binding in index.bindings:
            if binding.name in {"DEFAULT_FILE_STORAGE", "BACKEND", "STORAGE_BACKEND"}:
                if _REMOTE_STORAGE.search(str_value(binding.value) or ""):
                    remote.append(file.path)
            elif dev or _from_env(index, binding.value):
                continue
            elif (
                binding.name == "MEDIA_ROOT"
                and binding.kind == "assign"
                and str_value(binding.value) != ""
            ):
                media.append((file.path, binding.line))
            elif _UPLOAD_DIRS.match(binding.name) and str_value(binding.value) != "":
                scan.report(
                    UPLOADS,
                    file.path,
                    binding.line,
                    f"{binding.name} keeps uploads in a local folder",
                )
        for call in [] if dev else index.calls:
            name = call.callee.split(".")[-1]
            if name == "FileSystemStorage":
                scan.report(
                    UPLOADS,
                    file.path,
                    call.node.lineno,
                    "FileSystemStorage keeps files on local disk",
                )
            elif (
                name == "save"
                and call.node.args
                and call.callee.count(".") == 1
                and call.callee.split(".")[0] in _UPLOAD_RECEIVERS
            ):
                scan.report(
                    UPLOADS,
                    file.path,
                    call.node.lineno,
                    f"{call.callee}() writes an upload to local disk",
                )


def media_root(scan: Scan) -> None:
    """``MEDIA_ROOT`` on local disk, unless some module sets a remote storage backend."""
    if not scan.gather("uploads.remote"):
        for path, line in scan.gather("uploads.media"):
            scan.report(
                UPLOADS,
                path,
                line,
                "MEDIA_ROOT stores uploads on local disk and no remote storage is set",
            )


@per_file
def js_uploads(scan: Scan) -> None:
    for file, js in scan.js_files():
        handles_files = bool(_REQUEST_FILES.search(file.text or ""))
        for call in js.calls:
            if call.callee == "multer.diskStorage":
                scan.report(UPLOADS, file.path, call.line, "multer writes uploads to local disk")
            elif call.callee == "multer" and call.args and call.args[0].type == "object":
                keys = object_keys(call.args[0])
                dest = string_value(keys.get("dest")) if "dest" in keys else None
                if dest:
                    scan.report(
                        UPLOADS,
                        file.path,
                        call.line,
                        f"multer saves uploads to {dest!r} on local disk",
                    )
            elif call.callee in _JS_WRITES and call.args:
                target = text(call.args[0])
                if handles_files or "upload" in target.lower():
                    scan.report(
                        UPLOADS,
                        file.path,
                        call.line,
                        f"{call.callee}() writes an upload to local disk",
                    )


CHECKS = (python_uploads, js_uploads, media_root)
