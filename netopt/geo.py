"""Distances between sites (km) and the allowed arcs of the network.

Great-circle distance times a circuity factor by default; shortest paths on a road
graph (networkx) when the case supplies ``road_nodes``/``road_edges``; explicit leg
lengths from the case's ``distances`` table override both.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class RoadGraph:
    """Shortest road distances (km) between points snapped to their nearest road node.

    A point's distance to the network (great-circle to its nearest node, times
    ``circuity``) is added at both ends.
    """

    def __init__(self, nodes: pd.DataFrame, edges: pd.DataFrame, circuity: float = 1.0):
        self.nodes = nodes
        self.circuity = circuity
        self.graph = nx.Graph()
        self.graph.add_nodes_from(nodes.index)
        for a, b, km in edges[["from_node", "to_node", "km"]].itertuples(index=False):
            if self.graph.has_edge(a, b) and self.graph[a][b]["km"] <= km:
                continue
            self.graph.add_edge(a, b, km=float(km))
        self._lat = nodes["lat"].to_numpy(float)
        self._lon = nodes["lon"].to_numpy(float)
        self._ids = np.asarray(nodes.index)
        self._cache: dict[object, dict[object, float]] = {}

    def snap(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest road node of each point and the access distance in km."""
        d = haversine_km(
            np.asarray(lat)[:, None], np.asarray(lon)[:, None], self._lat[None], self._lon[None]
        )
        nearest = d.argmin(axis=1)
        return self._ids[nearest], d[np.arange(len(nearest)), nearest] * self.circuity

    def _from(self, node: object) -> dict[object, float]:
        if node not in self._cache:
            self._cache[node] = nx.single_source_dijkstra_path_length(
                self.graph, node, weight="km"
            )
        return self._cache[node]

    def matrix(self, origins: pd.DataFrame, destinations: pd.DataFrame) -> np.ndarray:
        """Road km from every origin to every destination (inf where not connected)."""
        onode, oaccess = self.snap(origins["lat"].to_numpy(), origins["lon"].to_numpy())
        dnode, daccess = self.snap(destinations["lat"].to_numpy(), destinations["lon"].to_numpy())
        out = np.full((len(origins), len(destinations)), np.inf)
        for i, node in enumerate(onode):
            lengths = self._from(node)
            row = np.array([lengths.get(n, np.inf) for n in dnode])
            out[i] = oaccess[i] + row + daccess
        return out


def distance_matrix(
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    *,
    circuity: float,
    road: RoadGraph | None = None,
    overrides: pd.DataFrame | None = None,
) -> np.ndarray:
    """Km from each origin to each destination (rows follow ``origins.index``).

    Frames need ``lat``/``lon`` columns and are indexed by id. ``overrides`` (columns
    origin_id, destination_id, km) replaces the computed length of the pairs it lists.
    """
    if len(origins) == 0 or len(destinations) == 0:
        return np.zeros((len(origins), len(destinations)))
    if road is not None:
        km = road.matrix(origins, destinations)
    else:
        km = circuity * haversine_km(
            origins["lat"].to_numpy(float)[:, None],
            origins["lon"].to_numpy(float)[:, None],
            destinations["lat"].to_numpy(float)[None, :],
            destinations["lon"].to_numpy(float)[None, :],
        )
    if overrides is not None and len(overrides):
        opos = pd.Series(np.arange(len(origins)), index=origins.index.astype(str))
        dpos = pd.Series(np.arange(len(destinations)), index=destinations.index.astype(str))
        sel = overrides[
            overrides["origin_id"].isin(opos.index) & overrides["destination_id"].isin(dpos.index)
        ]
        if len(sel):
            km[opos[sel["origin_id"]].to_numpy(), dpos[sel["destination_id"]].to_numpy()] = sel[
                "km"
            ].to_numpy(float)
    return km


def allowed_arcs(
    km: np.ndarray,
    origins: pd.Index,
    destinations: pd.Index,
    *,
    max_km: float = np.inf,
    nearest: int = 0,
) -> pd.DataFrame:
    """Arcs kept after pruning: within ``max_km`` and among the ``nearest`` per origin.

    Returns a frame with columns origin, destination, km (sorted by origin, then km).
    ``nearest`` = 0 keeps every arc within the limit.
    """
    if km.size == 0:
        return pd.DataFrame({"origin": [], "destination": [], "km": []})
    keep = np.isfinite(km) & (km <= max_km)
    if nearest and nearest < km.shape[1]:
        rank = np.argsort(np.argsort(km, axis=1, kind="stable"), axis=1, kind="stable")
        keep &= rank < nearest
    rows, cols = np.nonzero(keep)
    frame = pd.DataFrame(
        {
            "origin": np.asarray(origins)[rows],
            "destination": np.asarray(destinations)[cols],
            "km": km[rows, cols],
        }
    )
    return frame.sort_values(["origin", "km", "destination"], kind="stable").reset_index(
        drop=True
    )
