"""YAML as lecturers write it: `version: 1.10` is the text `1.10`, never the float 1.1."""

from __future__ import annotations

from typing import Any

import yaml

_NUMBER_TAGS = ("tag:yaml.org,2002:float", "tag:yaml.org,2002:int")
#: libyaml's parser and emitter when PyYAML was built with them (10x faster), else Python's.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class VersionKeepingLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe YAML that reads every `version:` scalar as the string written."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        for key_node, value_node in node.value:
            if (isinstance(key_node, yaml.ScalarNode) and key_node.value == "version"
                    and isinstance(value_node, yaml.ScalarNode) and value_node.tag in _NUMBER_TAGS):
                value_node.tag = "tag:yaml.org,2002:str"
        return super().construct_mapping(node, deep=deep)


def load(text: str | bytes) -> Any:
    """Parse YAML safely, keeping versions as written; raises yaml.YAMLError."""
    return yaml.load(text, Loader=VersionKeepingLoader)  # a SafeLoader subclass


def dump(data: Any) -> bytes:
    """Block-style YAML in the order given (meta.yaml stays readable for lecturers)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False).encode("utf-8")
