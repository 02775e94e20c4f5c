"""Places as Mesa agents: what a researcher inspects or draws (SolaraViz, notebooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.kernels import AT_PLACE, HELD_HERE

if TYPE_CHECKING:
    from sim.model import CaravanModel


class Location(mesa.Agent):  # type: ignore[misc]
    """A town, junction or crossing of the road network, with the migrants there now."""

    def __init__(self, model: CaravanModel, index: int) -> None:
        super().__init__(model)
        graph_node = model.network.graph.nodes[model.network.place_ids[index]]
        self.index = index
        self.place_id: str = model.network.place_ids[index]
        self.country: str = graph_node["country"]
        self.kinds: tuple[str, ...] = graph_node["kind"]
        self.lat: float = graph_node["lat"]
        self.lon: float = graph_node["lon"]

    @property
    def present(self) -> int:
        """Travelling migrants at this place at the end of the last step (held included)."""
        return int(self.model.place_counts[self.index, AT_PLACE])

    @property
    def held(self) -> int:
        """Migrants held here by a border force or blockade at the end of the last step."""
        return int(self.model.place_counts[self.index, HELD_HERE])
