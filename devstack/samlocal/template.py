"""The x86_64 copy of template.yaml that ``sam local invoke`` runs: generated, git-ignored, never edited.

The deployed template is arm64; the local image is x86_64 (this machine's Python 3.12 build), so the copy
changes every function's and the layer's architecture, points code paths back at the repository, and
declares every variable the local stack sets, because SAM passes a function only the variables its template
declares (``--env-vars`` can override them, not add them). Everything else is template.yaml's, unchanged.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devstack import REPO
from devstack.aws.template import Template, load_template

LOCAL_ARCHITECTURE = "x86_64"
LOCAL_DIR = REPO / ".aws-sam" / "local-x86_64"
LOCAL_TEMPLATE = LOCAL_DIR / "template.json"
FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
_CODE_PROPERTIES = ("CodeUri", "ContentUri")


def _rebased(uri: Any, source_dir: Path, target_dir: Path) -> Any:
    """A relative code path of the source template, relative to where the copy is written."""
    if not isinstance(uri, str) or "://" in uri or Path(uri).is_absolute():
        return uri
    rebased = os.path.relpath(source_dir / uri, target_dir)
    return rebased + "/" if uri.endswith("/") else rebased


def local_template(
    template: Template, *, variables: Iterable[str], source_dir: Path = REPO, target_dir: Path = LOCAL_DIR
) -> Template:
    """``template`` for x86_64, its code paths valid from ``target_dir``, declaring ``variables`` (empty)."""
    local = copy.deepcopy(template)
    local["Description"] = f"Generated from template.yaml for sam local invoke ({LOCAL_ARCHITECTURE}); do not edit."
    function_globals = local.setdefault("Globals", {}).setdefault("Function", {})
    function_globals["Architectures"] = [LOCAL_ARCHITECTURE]
    declared = function_globals.setdefault("Environment", {}).setdefault("Variables", {})
    for name in sorted(set(variables)):
        declared.setdefault(name, "")
    for resource in local.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == FUNCTION_TYPE and "Architectures" in properties:
            properties["Architectures"] = [LOCAL_ARCHITECTURE]
        if resource.get("Type") == LAYER_TYPE:
            properties["CompatibleArchitectures"] = [LOCAL_ARCHITECTURE]
            if "BuildArchitecture" in resource.get("Metadata", {}):
                resource["Metadata"]["BuildArchitecture"] = LOCAL_ARCHITECTURE
        for name in _CODE_PROPERTIES:
            if name in properties:
                properties[name] = _rebased(properties[name], source_dir, target_dir)
    return local


def write_local_template(variables: Iterable[str], path: Path = LOCAL_TEMPLATE, source: Path | None = None) -> Path:
    """Writes the copy (JSON, CloudFormation's long form) only when it changed, so SAM's build cache holds."""
    source_path = source or REPO / "template.yaml"
    generated = local_template(
        load_template(source_path), variables=variables, source_dir=source_path.parent, target_dir=path.parent
    )
    text = json.dumps(generated, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
