"""moto's walk over an update expression's tree with its node kinds looked up once, for ``faster_moto``.

Each ``UpdateItem`` runs ten validators over the expression's tree (``DepthFirstTraverser`` subclasses), and at
every node each asks ``nodes_to_be_processed()``, which builds its processing map, a dict, to make a tuple of it;
a processed node builds the map again. With the service's expressions that is a few hundred dicts per update,
about a third of moto's time for the call. ``traverse_once`` is moto's ``traverse`` with the kinds and the map
taken once per walk: the same order (children first, left to right), the same hook before each child, the same
first matching processor, the same replacement of a processed node in its parent.
"""

from __future__ import annotations

from typing import Any


def traverse_once(self: Any, root: Any) -> Any:
    """A replacement for ``DepthFirstTraverser.traverse`` (moto.dynamodb.parsing.ast_nodes)."""
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]  # "type: ignore" module

    kinds = self.nodes_to_be_processed()
    processors = list(self._processing_map().items())

    def visit(node: Any, child_id: int = -1) -> Any:
        if isinstance(node, Node):
            parent = node.parent
            if node.children is not None:
                for index, child in enumerate(node.children):
                    self.pre_processing_of_child(node, index)
                    visit(child, index)
            if isinstance(node, kinds):
                node = next(process(node) for kind, process in processors if isinstance(node, kind))
                node.parent = parent
                if parent:
                    parent.children[child_id] = node
        return node

    return visit(root)
